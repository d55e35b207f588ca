# generate / forward / calibrate: exit codes and one-line errors (sourced by run_cli_tests.sh)
M=tests/models/llada-tiny-f32.gguf
D=tests/models/dream-tiny
G="--gen-len 8 --block-len 8 --steps 8"
expect_ok '"cache":"none"' generate -m $M --ids "3 4 5" $G --json
expect_ok '"kv_prompt_kept":' generate -m $M -p "Hello there" $G --cache maskkv --budget 2 --json
expect_ok '"cache":"dllm"' generate -m $D -p "Hello" --gen-len 8 --steps 4 --cache dllm --json
expect_ok '"cache":"prefix"' generate -m $M --chat -p "Hi" --gen-len 16 --block-len 8 --steps 8 --cache prefix --json
# --answer-prefix: the prompt is the chat prompt followed by the prefix's tokens
n_chat=$("$MASKKV" generate -m $M --chat -p "Hi" $G --json 2>/dev/null | grep -o '"n_prompt":[0-9]*' | cut -d: -f2)
n_pref=$("$MASKKV" generate -m $M --chat -p "Hi" --answer-prefix "The code is " $G --json 2>/dev/null | grep -o '"n_prompt":[0-9]*' | cut -d: -f2)
n_tok=$("$MASKKV" tokenize -m $M -p "The code is " 2>/dev/null | wc -w)
if [ -n "$n_chat" ] && [ "$n_tok" -gt 0 ] && [ "${n_pref:-0}" -eq $((n_chat + n_tok)) ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: --answer-prefix: n_prompt $n_pref, want $n_chat + $n_tok"; fi
expect_fail 2 "--answer-prefix needs a text prompt" generate -m $M --ids "3 4" --answer-prefix "x" $G
expect_fail 2 "not a multiple of --block-len" generate -m $M -p "Hi" --gen-len 10 --block-len 4 --steps 10
expect_fail 2 "not divisible by the number of blocks" generate -m $M -p "Hi" --gen-len 16 --block-len 8 --steps 3
expect_fail 2 "--steps must be at least 1" generate -m $M -p "Hi" $G --steps 0
expect_fail 2 "--gen-len must be at least 1" generate -m $M -p "Hi" --gen-len 0
expect_fail 6 "exceeds the model's context" generate -m $M -p "Hi" --gen-len 100000 --block-len 100000 --steps 1
expect_fail 6 "prompt is empty" generate -m $M -p "" $G
expect_fail 2 "--threads: 0 is out of range" generate -m $M -p "Hi" $G --threads 0
expect_fail 2 "--threads: 10000 is out of range" generate -m $M -p "Hi" $G --threads 10000
expect_fail 2 "--budget: 0 is out of range" generate -m $M -p "Hi" $G --cache maskkv --budget 0
expect_fail 2 "--budget: -5 is out of range" generate -m $M -p "Hi" $G --cache maskkv --budget -5
expect_fail 2 "unknown mode 'bogus'" generate -m $M -p "Hi" $G --cache bogus
expect_fail 2 "unknown value 'x'" generate -m $M -p "Hi" $G --remasking x
expect_fail 2 "exactly one of -p" generate -m $M $G
expect_fail 3 "cannot open" generate -m tests/models/no-such-model.gguf -p "Hi" $G
expect_fail 6 "out of the vocabulary" generate -m $M --ids "3 99999" $G
expect_fail 7 "memory limit" generate -m $M -p "Hi" $G --max-memory 1K
expect_fail 3 "cannot open" generate -m $M -p "Hi" $G --cache maskkv --profile /nonexistent/profile.json
expect_fail 2 "--cfg works with --cache none or prefix" generate -m $M -p "Hi" $G --cfg 1 --cache dllm
# forward
tmp_logits=$(mktemp)
expect_ok "argmax of last row" forward -m $M --ids "3 4 5" --logits-out "$tmp_logits"
expect_fail 6 "out of the vocabulary" forward -m $M --ids "3 4 100000" --logits-out "$tmp_logits"
expect_fail 2 "not a token id" forward -m $M --ids "3 x" --logits-out "$tmp_logits"
expect_fail 6 "no token ids" forward -m $M --ids " " --logits-out "$tmp_logits"
expect_fail 2 "past the last position" forward -m $M --ids "3 4" --positions 5 --logits-out "$tmp_logits"
expect_fail 3 "cannot open for writing" forward -m $M --ids "3 4" --logits-out /nonexistent/dir/x.f32
rm -f "$tmp_logits"
# calibrate
tmp_profile=$(mktemp)
printf 'The first calibration paragraph.\n\nA second one, a little longer than the first.\n' > "$tmp_profile.txt"
expect_ok "2 samples" calibrate -m $M -f "$tmp_profile.txt" -o "$tmp_profile"
expect_ok '"cache":"maskkv"' generate -m $M -p "Hello there" $G --cache maskkv --budget 2 --profile "$tmp_profile" --json
expect_fail 6 "another model" generate -m tests/models/llada-odd -p "Hello" $G --cache maskkv --profile "$tmp_profile"
expect_fail 3 "cannot open" calibrate -m $M -f /nonexistent.txt -o "$tmp_profile"
rm -f "$tmp_profile" "$tmp_profile.txt"
# eval harness (the tiny random model answers nothing right: this checks the harness runs and reports)
expect_ok "maskkv " eval -m $M --data tests/data/eval --task niah --lengths 64 --budgets 2 --samples 2 --methods full,maskkv --threads 1
expect_ok '"method":"snapkv"' eval -m $M --data tests/data/eval --task recall --lengths 64 --budgets 2 --samples 1 --methods full,snapkv --json --threads 1
expect_fail 3 "cannot open" eval -m $M --data /nonexistent --task niah --lengths 64 --samples 1
expect_fail 2 "not a prompt-cache method" eval -m $M --data tests/data/eval --methods none
expect_fail 2 "--lengths: 'x' is not an integer" eval -m $M --data tests/data/eval --lengths x
# "match": exact (default) or codes (the bare-prompt sets); anything else is a malformed sample
ev_dir="${TMPDIR:-/tmp}/mkv_eval_match.$$"
mkdir -p "$ev_dir"
printf '{"prompt": "What is the code?", "answer": "The code is 545", "match": "codes"}\n' > "$ev_dir/niah_8.jsonl"
expect_ok '"total":1' eval -m $M --data "$ev_dir" --task niah --lengths 8 --samples 1 --methods full --budgets 2 --depths 0 --json --threads 1
printf '{"prompt": "What is the code?", "answer": "545", "match": "fuzzy"}\n' > "$ev_dir/niah_8.jsonl"
expect_fail 4 'niah_8.jsonl:1: "match" must be "exact" or "codes"' eval -m $M --data "$ev_dir" --task niah --lengths 8 --samples 1
printf '{"prompt": "What is the code?", "answer": "none", "match": "codes"}\n' > "$ev_dir/niah_8.jsonl"
expect_fail 4 'needs a number in the answer' eval -m $M --data "$ev_dir" --task niah --lengths 8 --samples 1
rm -rf "$ev_dir"
printf '3 4 5 6 7 8\n9 10 11 12\n' > "${TMPDIR:-/tmp}/mkv_calib_ids.txt"
expect_ok "2 samples" calibrate -m $M --ids-file "${TMPDIR:-/tmp}/mkv_calib_ids.txt" -o "${TMPDIR:-/tmp}/mkv_calib_ids.profile.json"
printf '3 4 99999\n' > "${TMPDIR:-/tmp}/mkv_calib_ids.txt"
expect_fail 6 "out of the vocabulary" calibrate -m $M --ids-file "${TMPDIR:-/tmp}/mkv_calib_ids.txt" -o "${TMPDIR:-/tmp}/mkv_calib_ids.profile.json"
rm -f "${TMPDIR:-/tmp}/mkv_calib_ids.txt" "${TMPDIR:-/tmp}/mkv_calib_ids.profile.json"
