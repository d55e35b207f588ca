# Cold store and re-vote (issue 20; sourced by run_cli_tests.sh): the flags,
# their one-line errors, --revote off giving plain MaskKV's tokens, --json's
# re-vote report, and the cold file gone on SIGINT and SIGKILL.
rv_M=tests/models/llada-tiny-f32.gguf
rv_G="--gen-len 16 --block-len 4 --steps 8"
rv_dir=$(mktemp -d "${TMPDIR:-/tmp}/mkv-cli-revote.XXXXXX")
rv_ids=$(for i in $(seq 0 199); do printf '%d ' $((3 + (i * 7) % 90)); done)
expect_ok '"revote_promoted_per_layer":[' generate -m $rv_M --ids "$rv_ids" $rv_G --cache maskkv-revote --budget 4 --json
expect_ok '"cold":"ram"' generate -m $rv_M --ids "$rv_ids" $rv_G --cache maskkv --budget 4 --cold ram --json
expect_ok '"revotes":3' generate -m $rv_M --ids "$rv_ids" $rv_G --cache maskkv --budget 4 --revote 2 --json
# --revote off (with or without a cold store) and B >= prompt: the tokens of plain maskkv
same_output "--revote off" '"tokens":\[[0-9,]*\]' generate -m $rv_M --ids "$rv_ids" $rv_G --cache maskkv --budget 4 --json -- \
    generate -m $rv_M --ids "$rv_ids" $rv_G --cache maskkv-revote --revote off --budget 4 --json
same_output "--cold off" '"tokens":\[[0-9,]*\]' generate -m $rv_M --ids "$rv_ids" $rv_G --cache maskkv --budget 4 --json -- \
    generate -m $rv_M --ids "$rv_ids" $rv_G --cache maskkv-revote --cold off --budget 4 --json
same_output "B >= prompt" '"tokens":\[[0-9,]*\]' generate -m $rv_M --ids "$rv_ids" $rv_G --cache maskkv --budget 256 --json -- \
    generate -m $rv_M --ids "$rv_ids" $rv_G --cache maskkv-revote --revote 1 --budget 256 --json
expect_fail 2 "--cold: unknown value 'disk'" generate -m $rv_M -p "Hi" $rv_G --cache maskkv --cold disk
expect_fail 2 "--revote: '0' is not off, block or a number" generate -m $rv_M -p "Hi" $rv_G --cache maskkv --revote 0
expect_fail 2 "use them with --cache maskkv" generate -m $rv_M --ids "$rv_ids" $rv_G --cache snapkv --revote block
expect_fail 2 "--revote needs a cold store" generate -m $rv_M --ids "$rv_ids" $rv_G --cache maskkv --cold off --revote 2
TMPDIR=$rv_dir/none expect_fail 3 "cold store: cannot create a temporary file in $rv_dir/none" \
    generate -m $rv_M --ids "$rv_ids" $rv_G --cache maskkv-revote --budget 4
expect_ok '"method":"maskkv-revote"' eval -m models/llada-tiny-retrieval.gguf --task two --lengths 256 --budgets 16 \
    --methods maskkv-revote --samples 2 --json
expect_fail 2 "maskkv-revote needs" eval -m models/llada-tiny-retrieval.gguf --methods maskkv-revote --revote off

# the cold file has no name while the process runs, and nothing is left after SIGINT or SIGKILL
rv_long=$(for i in $(seq 0 2999); do printf '%d ' $((3 + (i * 7) % 90)); done)
for rv_sig in INT KILL; do
    mkdir -p "$rv_dir/tmp"
    TMPDIR=$rv_dir/tmp "$MASKKV" generate -m $rv_M --ids "$rv_long" -c 4000 --gen-len 512 --block-len 8 --steps 512 \
        --cache maskkv-revote --budget 8 -t 1 >/dev/null 2>&1 &
    rv_pid=$!
    rv_seen=0
    for _ in $(seq 1 200); do
        if grep -q 'maskkv-cold-.*(deleted)' /proc/$rv_pid/maps 2>/dev/null; then rv_seen=1; break; fi
        sleep 0.05
    done
    rv_left=$(ls -A "$rv_dir/tmp" | wc -l)
    kill -s $rv_sig $rv_pid 2>/dev/null
    wait $rv_pid 2>/dev/null
    rv_rc=$?
    rv_after=$(ls -A "$rv_dir/tmp" | wc -l)
    if [ $rv_seen -eq 1 ] && [ "$rv_left" -eq 0 ] && [ "$rv_after" -eq 0 ] && [ $rv_rc -gt 128 ]; then passed=$((passed + 1)); else
        failed=$((failed + 1)); echo "FAIL: cold file on SIG$rv_sig: mapped $rv_seen, files while running $rv_left, after $rv_after, rc $rv_rc"; fi
done
rm -rf "$rv_dir"
# eval's re-vote settings are checked before any model is read
expect_fail 2 "--cold: unknown value 'disk'" eval -m $rv_M --methods maskkv-revote --cold disk
expect_fail 2 "--revote: '0' is not off, block or a number" eval -m $rv_M --methods maskkv-revote --revote 0
expect_fail 2 "--methods maskkv-revote needs --cold file|ram and --revote block|N" eval -m $rv_M --methods maskkv-revote --cold off
