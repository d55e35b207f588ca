# Progress of long work (issue 18; sourced by run_cli_tests.sh): with --progress
# on a stderr that is not a terminal, every long command prints whole progress
# lines on stderr (one progress module, cli/progress.c) and stdout keeps only
# its result; without it a pipe gets no progress.
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/mkv-cli-progress.XXXXXX")
pg_M=models/llada-tiny-retrieval.gguf

# expect_progress "what" "stderr pattern (grep -E)" "stdout pattern (grep -E)" args...
expect_progress() {
    local what=$1 err_pat=$2 out_pat=$3
    shift 3
    "$MASKKV" "$@" >"$pg_dir/out" 2>"$pg_dir/err"
    local rc=$?
    if [ "$rc" -eq 0 ] && grep -Eq "$err_pat" "$pg_dir/err" && grep -Eq "$out_pat" "$pg_dir/out" &&
        ! grep -q $'\r' "$pg_dir/err" && ! grep -Eq "$err_pat" "$pg_dir/out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: progress of $what: rc=$rc, stderr: $(head -c 300 "$pg_dir/err"), stdout: $(head -c 200 "$pg_dir/out")"
    fi
}

expect_progress "generate (prefill by layer)" '^prefill .*layer 4/4.* tok/s' '^The secret code' \
    generate -m $pg_M --chat -f models/example-niah.txt --gen-len 16 --steps 16 --block-len 16 --cache maskkv --budget 64 --progress
expect_progress "generate (denoising steps)" '^denoise .*step 16/16' '^The secret code' \
    generate -m $pg_M --chat -f models/example-niah.txt --gen-len 16 --steps 16 --block-len 16 --cache maskkv --budget 64 --progress
expect_progress "generate --json" '^denoise .*step 16/16' '^\{"text":' \
    generate -m $pg_M --chat -f models/example-niah.txt --gen-len 16 --steps 16 --block-len 16 --cache maskkv --budget 64 --progress --json
expect_progress "calibrate" '^calibrate .*sample 2/2' '' \
    calibrate -m $pg_M -f models/example-niah.txt --samples 2 --max-len 64 --gen-len 8 -o "$pg_dir/p.json" --progress
expect_progress "convert" '^convert .*tensor 21/21' '^wrote ' \
    convert -i tests/models/llada-tiny -o "$pg_dir/t.gguf" --type q8_0 --progress
# without --progress a pipe gets nothing but the one-line result
"$MASKKV" convert -i tests/models/llada-tiny -o "$pg_dir/t2.gguf" --type q8_0 >"$pg_dir/out" 2>"$pg_dir/err"
if [ $? -eq 0 ] && [ ! -s "$pg_dir/err" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: convert without --progress wrote to stderr: $(head -c 200 "$pg_dir/err")"; fi
rm -rf "$pg_dir"
