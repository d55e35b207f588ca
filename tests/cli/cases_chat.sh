# maskkv chat with piped stdin: one answer line per turn, commands, exit codes
# and one-line errors (sourced by run_cli_tests.sh; the terminal session is
# tests/python/check_chat_pty.py). Every case has its stdin from a pipe or
# /dev/null, never the terminal the tests run in.
CM=models/llada-tiny-retrieval.gguf
CG="--gen-len 8 --block-len 8 --steps 8"
CP="The secret code of Edith is "
CQ="What is the secret code of Edith?"

# chat_piped "what" "stdin text" "expected stdout" CODE args...: exit CODE, stdout exactly as given
chat_piped() {
    local what=$1 input=$2 want=$3 code=$4
    shift 4
    local out rc
    out=$(printf '%s' "$input" | "$MASKKV" chat "$@" 2>/dev/null)
    rc=$?
    if [ "$rc" -eq "$code" ] && [ "$out" = "$want" ]; then passed=$((passed + 1)); else
        failed=$((failed + 1)); echo "FAIL: chat ($what): rc=$rc (want $code), stdout '${out:0:300}' (want '${want:0:300}')"; fi
}

# the answer generate gives for the same single turn (document before the question)
ch_doc_msg=$(mktemp "${TMPDIR:-/tmp}/mkv-chat-msg.XXXXXX")
python3 -c 'import json,sys; print(json.dumps([{"role": "user", "content": open(sys.argv[1]).read() + "\n\n" + sys.argv[2]}]))' \
    models/example-niah.txt "$CQ" > "$ch_doc_msg"
ch_one=$("$MASKKV" generate -m $CM --messages "$ch_doc_msg" --answer-prefix "$CP" $CG 2>/dev/null </dev/null)
rm -f "$ch_doc_msg"
if [ "$ch_one" = "545" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: generate --messages on the shipped model: '$ch_one' (want 545)"; fi
chat_piped "one turn, as generate --messages" "$CQ"$'\n' "$CP$ch_one" 0 -m $CM -f models/example-niah.txt --answer-prefix "$CP" $CG
# /reset brings the document back: the third turn is the first one again; blank lines are skipped
ch_out=$(printf '%s\n\n%s\n/reset\n%s\n' "$CQ" "$CQ" "$CQ" | "$MASKKV" chat -m $CM -f models/example-niah.txt --answer-prefix "$CP" $CG 2>/dev/null)
ch_rc=$?
ch_first=$(printf '%s\n' "$ch_out" | sed -n 1p)
ch_third=$(printf '%s\n' "$ch_out" | sed -n 3p)
if [ "$ch_rc" -eq 0 ] && [ "$(printf '%s\n' "$ch_out" | grep -c '')" -eq 3 ] && [ "$ch_first" = "$CP$ch_one" ] && [ "$ch_third" = "$ch_first" ]; then
    passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: chat /reset: rc=$ch_rc, stdout '$ch_out'"; fi
# /file PATH puts the document before the next message, as -f does for the first
chat_piped "/file" "/file models/example-niah.txt"$'\n'"$CQ"$'\n' "$CP$ch_one" 0 -m $CM --answer-prefix "$CP" $CG
# /exit stops there; nothing after it is read
chat_piped "/exit" "$CQ"$'\n/exit\n'"$CQ"$'\n' "$CP$ch_one" 0 -m $CM -f models/example-niah.txt --answer-prefix "$CP" $CG
chat_piped "/quit and empty input" "/quit"$'\n' "" 0 -m $CM $CG
chat_piped "no input" "" "" 0 -m $CM $CG
# a script learns of a failed turn by the exit status and one line on stderr
ch_err=$(printf '/bogus\n%s\n' "$CQ" | "$MASKKV" chat -m $CM $CG 2>&1 >/dev/null)
ch_rc=$?
if [ "$ch_rc" -eq 2 ] && [[ "$ch_err" == *"unknown command '/bogus'"* ]] && [ "$(printf '%s\n' "$ch_err" | grep -c '')" -eq 1 ]; then
    passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: chat /bogus: rc=$ch_rc, stderr '$ch_err'"; fi
ch_err=$(printf '/file tests/models/no-such-doc.txt\n' | "$MASKKV" chat -m $CM $CG 2>&1 >/dev/null)
ch_rc=$?
if [ "$ch_rc" -eq 3 ] && [[ "$ch_err" == *"no-such-doc.txt"* ]]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: chat /file of a missing file: rc=$ch_rc, stderr '$ch_err'"; fi
ch_err=$(printf 'Hi\n' | "$MASKKV" chat -m $CM --ctx-size 16 -f models/example-niah.txt $CG 2>&1 >/dev/null)
ch_rc=$?
if [ "$ch_rc" -eq 6 ] && [ "$(printf '%s\n' "$ch_err" | grep -c '')" -eq 1 ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: chat with a prompt past --ctx-size: rc=$ch_rc, stderr '$ch_err'"; fi
ch_err=$(printf 'Hi \xff\n' | "$MASKKV" chat -m $CM $CG 2>&1 >/dev/null)
ch_rc=$?
if [ "$ch_rc" -eq 6 ] && [[ "$ch_err" == *"UTF-8"* ]]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: chat with invalid UTF-8: rc=$ch_rc, stderr '$ch_err'"; fi

# bad options: one line, the documented code, before any input is read
expect_fail 2 "-m MODEL is required" chat $CG </dev/null
expect_fail 2 "unknown option '--bogus'" chat -m $CM --bogus </dev/null
expect_fail 2 "--gen-len" chat -m $CM --gen-len x </dev/null
expect_fail 2 "unknown mode 'bogus'" chat -m $CM --cache bogus </dev/null
expect_fail 2 "--system needs a value" chat -m $CM --system </dev/null
expect_fail 2 "not a multiple of --block-len" chat -m $CM --gen-len 10 --block-len 4 --steps 10 </dev/null
expect_fail 3 "cannot open" chat -m tests/models/no-such-model.gguf </dev/null
expect_fail 3 "no-such-doc.txt" chat -m $CM -f tests/models/no-such-doc.txt </dev/null
expect_fail 3 "no-such-template" chat -m $CM --chat-template-file tests/models/no-such-template.jinja </dev/null
ch_tmpl=$(mktemp "${TMPDIR:-/tmp}/mkv-chat-tmpl.XXXXXX")
printf '{%% for m in messages %%}{{ m.content }' > "$ch_tmpl"
ch_err=$(printf 'Hi\n' | "$MASKKV" chat -m $CM --chat-template-file "$ch_tmpl" $CG 2>&1 >/dev/null)
ch_rc=$?
if [ "$ch_rc" -eq 4 ] && [[ "$ch_err" == *"template"* ]] && [ "$(printf '%s\n' "$ch_err" | grep -c '')" -eq 1 ]; then
    passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: chat with a broken template: rc=$ch_rc, stderr '$ch_err'"; fi
# a template of one's own renders the turns (here: the user text, then a marker the answer follows)
printf '{%% for m in messages %%}{{ m.role }}: {{ m.content }}\n{%% endfor %%}assistant:' > "$ch_tmpl"
ch_out=$(printf 'Hi\n' | "$MASKKV" chat -m $CM --chat-template-file "$ch_tmpl" --verbose-prompt $CG 2>&1 >/dev/null)
if [[ "$ch_out" == *$'user: Hi\nassistant:'* ]]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: chat --chat-template-file: prompt '${ch_out:0:300}'"; fi
rm -f "$ch_tmpl"
