# Every command's --help ends with one example (issue 18); each example is run
# here as a user would paste it, from a scratch directory that sees the repo's
# models/ and tests/models/, and must exit 0 and print something (or write its
# output file). The top-level --help example is run too; chat's reads one
# question from a pipe.
hp_dir=$(mktemp -d "${TMPDIR:-/tmp}/mkv-cli-help.XXXXXX")
hp_bin=$(cd "$(dirname "$MASKKV")" && pwd)/$(basename "$MASKKV")
ln -s "$PWD/models" "$hp_dir/models"
mkdir -p "$hp_dir/tests" && ln -s "$PWD/tests/models" "$hp_dir/tests/models"
for hp_cmd in "" info generate chat forward tokenize detokenize convert calibrate eval; do
    # shellcheck disable=SC2086
    hp_help=$("$hp_bin" $hp_cmd --help 2>&1)
    hp_rc=$?
    hp_example=$(printf '%s\n' "$hp_help" | sed -n 's/^example: maskkv //p')
    if [ "$hp_rc" -ne 0 ] || [ "$(printf '%s\n' "$hp_example" | grep -c .)" -ne 1 ] ||
        { [ -n "$hp_cmd" ] && [ "${hp_example%% *}" != "$hp_cmd" ]; }; then
        failed=$((failed + 1))
        echo "FAIL: maskkv $hp_cmd --help: rc=$hp_rc, want exit 0 and one 'example: maskkv $hp_cmd ...' line"
        continue
    fi
    # stdin: a question (chat's turn; the other commands do not read it)
    hp_out=$(cd "$hp_dir" && printf 'What is the secret code of Edith?\n' | eval "\"$hp_bin\" $hp_example" 2>"$hp_dir/stderr")
    hp_rc=$?
    if [ "$hp_rc" -eq 0 ] && [ -n "$hp_out" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: the example of maskkv $hp_cmd --help (maskkv $hp_example): rc=$hp_rc, stderr: $(head -c 300 "$hp_dir/stderr")"
    fi
done
# the examples that write files wrote them in the scratch directory
for hp_file in logits.f32 llada-tiny.gguf profile.json; do
    if [ -s "$hp_dir/$hp_file" ]; then passed=$((passed + 1)); else
        failed=$((failed + 1)); echo "FAIL: an --help example did not write $hp_file"; fi
done
rm -rf "$hp_dir"
