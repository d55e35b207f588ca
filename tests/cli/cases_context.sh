# --ctx-size (sourced by run_cli_tests.sh): past the trained context with one
# warning line; without the flag the refusal names it; the memory check sizes N.
ctx_dir=$(mktemp -d)
cp -r tests/models/llada-tiny "$ctx_dir/short"
sed -i 's/"max_sequence_length": 4096/"max_sequence_length": 16/' "$ctx_dir/short/config.json"
S="$ctx_dir/short"
G16="--gen-len 16 --block-len 16 --steps 4"
expect_ok "context:        16" info -m "$S"
# expect_warn "stderr text" args...: exit 0, stdout non-empty, stderr exactly one line with the text
expect_warn() {
    local text=$1
    shift
    local out err rc
    out=$("$MASKKV" "$@" 2>"$ctx_dir/stderr")
    rc=$?
    err=$(cat "$ctx_dir/stderr")
    if [ "$rc" -eq 0 ] && [ -n "$out" ] && [[ "$err" == *"$text"* ]] && [ "$(printf '%s' "$err" | grep -c '')" -eq 1 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: maskkv $* -> rc=$rc, stderr: $err (want one line with '$text')"
    fi
}
expect_fail 6 "exceeds the model's context of 16 tokens (--ctx-size N runs past it)" generate -m "$S" -p "Hello there" $G16
n_hello=$("$MASKKV" tokenize -m "$S" -p "Hello there" 2>/dev/null | wc -w)
expect_warn "maskkv generate: warning: $((n_hello + 16)) tokens run past the model's trained context of 16 (--ctx-size 64)" \
    generate -m "$S" -p "Hello there" $G16 --ctx-size 64 --json
expect_fail 6 "exceeds --ctx-size $((n_hello + 15))" generate -m "$S" -p "Hello there" $G16 --ctx-size $((n_hello + 15))
expect_fail 2 "--ctx-size: 0 is out of range" generate -m "$S" -p "Hi" $G16 --ctx-size 0
# within the trained context: no warning at all
err=$("$MASKKV" generate -m tests/models/llada-tiny -p "Hi" --gen-len 8 --block-len 8 --steps 8 --ctx-size 64 2>&1 >/dev/null)
if [ -z "$err" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: --ctx-size within the context warned: $err"; fi
# the same tokens with --ctx-size as without it when both fit
a=$("$MASKKV" generate -m tests/models/llada-tiny -p "Hello there" $G16 --json 2>/dev/null | grep -o '"tokens":\[[0-9,]*\]')
b=$("$MASKKV" generate -m "$S" -p "Hello there" $G16 --ctx-size 64 --json 2>/dev/null | grep -o '"tokens":\[[0-9,]*\]')
if [ -n "$a" ] && [ "$a" = "$b" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: --ctx-size changed the tokens: $a vs $b"; fi
# the up-front memory check sizes the whole --ctx-size context
expect_ok '"cache":"none"' generate -m "$S" -p "Hi" $G16 --ctx-size 64 --max-memory 64M --json
expect_fail 7 "a context of 1000000 tokens (--ctx-size) needs about" generate -m "$S" -p "Hi" $G16 --ctx-size 1000000 --max-memory 64M
# forward, eval, calibrate
expect_fail 6 "20 tokens exceed the model's context of 16 (--ctx-size N runs past it)" forward -m "$S" --ids "$(seq -s ' ' 3 22)" --logits-out "$ctx_dir/l.f32"
expect_warn "maskkv forward: warning: 20 tokens run past the model's trained context of 16 (--ctx-size 20)" \
    forward -m "$S" --ids "$(seq -s ' ' 3 22)" --logits-out "$ctx_dir/l.f32" --ctx-size 20
expect_fail 6 "20 tokens exceed --ctx-size 19" forward -m "$S" --ids "$(seq -s ' ' 3 22)" --logits-out "$ctx_dir/l.f32" --ctx-size 19
printf '%s\n' "$(seq -s ' ' 3 22)" > "$ctx_dir/ids.txt"
expect_fail 2 "--gen-len 32 leaves no room in the context of 16 (see --ctx-size)" calibrate -m "$S" --ids-file "$ctx_dir/ids.txt" -o "$ctx_dir/p.json"
out=$("$MASKKV" calibrate -m "$S" --ids-file "$ctx_dir/ids.txt" -o "$ctx_dir/p.json" --gen-len 4 --ctx-size 64 2>&1 >/dev/null)
if [[ "$out" == *"maskkv calibrate: warning: 24 tokens run past the model's trained context of 16 (--ctx-size 64)"* ]]; then
    passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: calibrate --ctx-size: $out"; fi
rm -rf "$ctx_dir"
