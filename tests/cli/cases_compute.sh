# --compute f32|bf16|auto (issue 19; sourced by run_cli_tests.sh): what ran is
# reported (info, forward, generate --json), bf16 holds half the K/V bytes of
# f32 on the same request (plus the same int32 position index), the shipped
# model answers the same in both, and bad values are one-line usage errors.
CM=models/llada-tiny-retrieval.gguf
cp_dir=$(mktemp -d "${TMPDIR:-/tmp}/mkv-cli-compute.XXXXXX")
CB=tests/models/llada-tiny-bf16.gguf
CG="--chat -f models/example-niah.txt --answer-prefix The_secret --gen-len 8 --steps 8 --block-len 8 --cache dllm --json"
expect_ok '"compute":"f32"' info -m $CM --json               # f32 weights: auto stays f32
expect_ok '"cpu_bf16_dot_products"' info -m $CB --json
expect_ok "compute:        " info -m $CB
expect_ok '"compute":"bf16","kv_dtype":"bf16"' generate -m $CM $CG --compute bf16
expect_ok '"compute":"f32","kv_dtype":"f32"' generate -m $CB $CG --compute f32
expect_ok "; bf16 compute" forward -m $CB --ids "1 2 3 4" --logits-out "$cp_dir/compute.f32" --compute bf16
kv32=$("$MASKKV" generate -m $CM $CG --compute f32 2>/dev/null | grep -o '"kv_bytes":[0-9]*' | cut -d: -f2)
kv16=$("$MASKKV" generate -m $CM $CG --compute bf16 2>/dev/null | grep -o '"kv_bytes":[0-9]*' | cut -d: -f2)
if [ -n "$kv32" ] && [ -n "$kv16" ] && [ $((100 * kv16)) -lt $((55 * kv32)) ] && [ $((100 * kv16)) -gt $((45 * kv32)) ]; then
    passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: --compute bf16 K/V bytes $kv16 vs f32 $kv32"; fi
same_output "the shipped model's answer in f32 and bf16 compute" '"tokens":\[[0-9,]*\]' \
    generate -m $CM $CG --compute f32 -- generate -m $CM $CG --compute bf16
expect_fail 2 "--compute: unknown value 'f16'" generate -m $CM -p hi --compute f16
expect_fail 2 "--compute: unknown value 'x' (auto, f32 or bf16)" forward -m $CM --ids 1 --logits-out "$cp_dir/c.f32" --compute x
expect_fail 2 "--compute needs a value" calibrate -m $CM -f models/example-niah.txt -o "$cp_dir/p.json" --compute
expect_fail 5 "--compute bf16 does not run with a cold store" generate -m $CM -p hi --gen-len 4 --steps 4 --block-len 4 --cache maskkv-revote --compute bf16
expect_ok '"compute":"f32"' generate -m $CB -p hi --gen-len 4 --steps 4 --block-len 4 --cache maskkv-revote --budget 4 --json
rm -rf "$cp_dir"
