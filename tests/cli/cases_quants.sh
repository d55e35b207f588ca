# Quantized GGUFs written by llama.cpp's llama-quantize (tests/models/README.md;
# sourced by run_cli_tests.sh): info, the weight scan, and deterministic
# generation at temperature 0 (the same tokens on 1 and 2 threads).
Q4=tests/models/llada-q256-q4_k_m.gguf
Q6=tests/models/llada-q256-q6_k.gguf
expect_ok '"dtypes":{"f32":7,"q4_K":20,"q6_K":3}' info -m $Q4 --json
expect_ok "dtypes:         f32:7 q6_K:23" info -m $Q6
expect_ok "dtypes:         f32:7 q2_K:13 q3_K:9 q6_K:1" info -m tests/models/llada-q256-q2_k.gguf --check-weights
expect_ok "dtypes:         f32:5 q5_0:13 q8_0:3" info -m tests/models/llada-q160-q4_k_m.gguf --check-weights
expect_ok "dtypes:         f32:5 q8_0:1 iq4_nl:15" info -m tests/models/llada-q160-iq4_xs.gguf
QG="--chat -p What_is_the_code? --gen-len 16 --block-len 8 --steps 16 --temp 0 --json"
for qf in $Q4 $Q6; do
    t1=$("$MASKKV" generate -m $qf $QG --threads 1 2>/dev/null | grep -o '"tokens":\[[0-9,]*\]')
    t2=$("$MASKKV" generate -m $qf $QG --threads 2 2>/dev/null | grep -o '"tokens":\[[0-9,]*\]')
    n=$(printf '%s' "$t1" | tr -cd ',' | wc -c)
    if [ -n "$t1" ] && [ "$t1" = "$t2" ] && [ "$n" -eq 15 ]; then passed=$((passed + 1)); else
        failed=$((failed + 1)); echo "FAIL: generate --temp 0 on $qf: '$t1' (1 thread) vs '$t2' (2 threads)"; fi
done
expect_ok '"cache":"maskkv"' generate -m $Q4 $QG --cache maskkv --budget 4
