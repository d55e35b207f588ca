# Never destroy a user's file (sourced by run_cli_tests.sh; issue 16): outputs
# that are inputs, outputs that are devices or FIFOs, failed writes over a good
# file, non-regular inputs (a FIFO would block open() forever: every case here
# runs under `timeout`), bounded profiles, and the one-line errors of the
# argument parser. The kill/ulimit crash-consistency runs are in
# tests/python/check_crash_consistency.py.
sf_dir=$(mktemp -d "${TMPDIR:-/tmp}/mkv-cli-safety.XXXXXX")
sf_M=tests/models/llada-tiny-f32.gguf
sf_G="--gen-len 8 --block-len 8 --steps 4"
sf_real=$MASKKV
printf '#!/bin/sh\nexec timeout %s "%s" "$@"\n' "${SF_TIMEOUT:-120}" "$(cd "$(dirname "$sf_real")" && pwd)/$(basename "$sf_real")" > "$sf_dir/maskkv"
chmod +x "$sf_dir/maskkv"
MASKKV="$sf_dir/maskkv"

# expect_same FILE CHECKSUM: the file still has the checksum it had
sf_sum() { md5sum < "$1" | cut -d' ' -f1; }
expect_same() {
    if [ -f "$1" ] && [ "$(sf_sum "$1")" = "$2" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $1 was changed or removed"
    fi
}
# expect_fail_ulimit KB "stderr substring" args...: exit 3 with that message under `ulimit -f KB`
expect_fail_ulimit() {
    local limit=$1 text=$2
    shift 2
    local err rc
    err=$( (ulimit -f "$limit"; "$sf_real" "$@") 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -eq 3 ] && [[ "$err" == *"$text"* ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: maskkv $* under ulimit -f $limit: rc=$rc, stderr: $err"
    fi
}
# expect_no_temp DIR: no temporary output file was left behind
expect_no_temp() {
    if ls -a "$1" | grep -q '\.tmp-'; then
        failed=$((failed + 1))
        echo "FAIL: a temporary file remains in $1: $(ls -a "$1" | grep '\.tmp-')"
    else
        passed=$((passed + 1))
    fi
}

# --- 1. convert onto a file of the input checkpoint (it is memory-mapped while we write)
cp -r tests/models/llada-tiny "$sf_dir/hf"
sf_st=$(sf_sum "$sf_dir/hf/model.safetensors")
sf_tok=$(sf_sum "$sf_dir/hf/tokenizer.json")
expect_fail 2 "output $sf_dir/hf/model.safetensors is the input file $sf_dir/hf/model.safetensors" convert -i "$sf_dir/hf" -o "$sf_dir/hf/model.safetensors" --type f32
expect_same "$sf_dir/hf/model.safetensors" "$sf_st"
expect_fail 2 "is the input file $sf_dir/hf/tokenizer.json" convert -i "$sf_dir/hf" -o "$sf_dir/hf/tokenizer.json" --type f32
expect_same "$sf_dir/hf/tokenizer.json" "$sf_tok"
ln "$sf_dir/hf/config.json" "$sf_dir/hardlink.gguf"
expect_fail 2 "output $sf_dir/hardlink.gguf is the input file $sf_dir/hf/config.json" convert -i "$sf_dir/hf" -o "$sf_dir/hardlink.gguf"
ln -s hf/model.safetensors "$sf_dir/symlink.gguf"
expect_fail 2 "is the input file" convert -i "$sf_dir/hf" -o "$sf_dir/symlink.gguf"
expect_same "$sf_dir/hf/model.safetensors" "$sf_st"
expect_no_temp "$sf_dir/hf"

# --- 2. outputs that are not regular files are never replaced or removed
expect_fail 2 "output /dev/full exists and is not a regular file" convert -i "$sf_dir/hf" -o /dev/full
if [ -c /dev/full ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: /dev/full is gone"; fi
mkfifo "$sf_dir/out.fifo"
expect_fail 2 "exists and is not a regular file" convert -i "$sf_dir/hf" -o "$sf_dir/out.fifo"
expect_fail 2 "exists and is not a regular file" forward -m $sf_M --ids "1 2" --logits-out "$sf_dir/out.fifo"
expect_fail 2 "exists and is not a regular file" calibrate -m $sf_M -f tests/data/eval/niah_64.jsonl -o "$sf_dir/out.fifo"
if [ -p "$sf_dir/out.fifo" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: the FIFO output was replaced"; fi
expect_fail 2 "is a directory" convert -i "$sf_dir/hf" -o "$sf_dir"
# --- a failed convert over a good output leaves it as it was (SIGXFSZ is ignored: EFBIG is reported)
"$sf_real" convert -i "$sf_dir/hf" -o "$sf_dir/good.gguf" --type f32 >/dev/null
sf_good=$(sf_sum "$sf_dir/good.gguf")
expect_fail_ulimit 100 "good.gguf: write failed: File too large (the file is unchanged)" convert -i "$sf_dir/hf" -o "$sf_dir/good.gguf" --type f16
expect_same "$sf_dir/good.gguf" "$sf_good"
expect_no_temp "$sf_dir"
# --- the new file keeps the old file's permission bits
chmod 640 "$sf_dir/good.gguf"
"$sf_real" convert -i "$sf_dir/hf" -o "$sf_dir/good.gguf" --type f16 >/dev/null
if [ "$(stat -c %a "$sf_dir/good.gguf")" = 640 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: mode not kept"; fi

# --- 3. calibrate and forward: the output may not be the model; a failure keeps the old output
cp $sf_M "$sf_dir/self.gguf"
sf_self=$(sf_sum "$sf_dir/self.gguf")
printf 'One calibration paragraph about a secret code.\n' > "$sf_dir/calib.txt"
expect_fail 2 "output $sf_dir/self.gguf is the input $sf_dir/self.gguf" calibrate -m "$sf_dir/self.gguf" -f "$sf_dir/calib.txt" -o "$sf_dir/self.gguf"
expect_fail 2 "is the input $sf_dir/calib.txt" calibrate -m "$sf_dir/self.gguf" -f "$sf_dir/calib.txt" -o "$sf_dir/calib.txt"
expect_fail 2 "is the input file $sf_dir/hf/config.json" calibrate -m "$sf_dir/hf" -f "$sf_dir/calib.txt" -o "$sf_dir/hf/config.json"
expect_fail 2 "output $sf_dir/self.gguf is the input $sf_dir/self.gguf" forward -m "$sf_dir/self.gguf" --ids "1 2" --logits-out "$sf_dir/self.gguf"
expect_same "$sf_dir/self.gguf" "$sf_self"
printf 'previous results\n' > "$sf_dir/old.out"
sf_old=$(sf_sum "$sf_dir/old.out")
printf '\n\n\n' > "$sf_dir/empty-calib.txt"
expect_fail 6 "no non-empty calibration text" calibrate -m "$sf_dir/self.gguf" -f "$sf_dir/empty-calib.txt" -o "$sf_dir/old.out"
expect_same "$sf_dir/old.out" "$sf_old"
expect_fail_ulimit 4 "old.out: write failed: File too large (the file is unchanged)" forward -m "$sf_dir/self.gguf" --ids "1 2 3 4 5 6 7 8" --logits-out "$sf_dir/old.out"
expect_same "$sf_dir/old.out" "$sf_old"
ln -sf self.gguf "$sf_dir/results.json"
expect_fail 2 "output $sf_dir/results.json is the input $sf_dir/self.gguf" eval -m "$sf_dir/self.gguf" --data tests/data/eval --out "$sf_dir" --lengths 64 --task niah --methods full --budgets 4 --samples 1
rm -f "$sf_dir/results.json"
expect_same "$sf_dir/self.gguf" "$sf_self"
expect_no_temp "$sf_dir"

# --- 4. non-regular inputs are refused at once (a FIFO used to block open() forever)
mkfifo "$sf_dir/in.fifo"
expect_fail 3 "in.fifo: not a regular file" generate -m $sf_M -p "Hi" $sf_G --cache maskkv --budget 4 --profile "$sf_dir/in.fifo"
expect_fail 3 "in.fifo: not a regular file" generate -m $sf_M --ids-file "$sf_dir/in.fifo" $sf_G
expect_fail 3 "in.fifo: not a regular file" generate -m $sf_M -f "$sf_dir/in.fifo" $sf_G
expect_fail 3 "in.fifo: not a regular file" info -m "$sf_dir/in.fifo"
expect_fail 3 "in.fifo: not a regular file" calibrate -m $sf_M -f "$sf_dir/in.fifo" -o "$sf_dir/p.json"
expect_fail 3 "in.fifo: not a regular file" tokenize -m "$sf_dir/in.fifo" -p "Hi"
cp -r tests/models/llada-tiny "$sf_dir/hf-fifo"
rm "$sf_dir/hf-fifo/tokenizer_config.json"
mkfifo "$sf_dir/hf-fifo/tokenizer_config.json"
expect_fail 3 "tokenizer_config.json: not a regular file" info -m "$sf_dir/hf-fifo"
expect_fail 3 "not a regular file" generate -m $sf_M -p "Hi" $sf_G --cache maskkv --budget 4 --profile "$sf_dir"
expect_fail 3 "not a regular file" generate -m $sf_M -p "Hi" $sf_G --cache maskkv --budget 4 --profile /dev/zero

# --- 5. profiles: every number bounded (1e307 used to overflow the budget sums)
sf_profile() { # importance values, comma-separated
    "$sf_real" calibrate -m $sf_M -f "$sf_dir/calib.txt" -o "$sf_dir/base.profile.json" >/dev/null 2>&1
    python3 - "$sf_dir/base.profile.json" "$1" "$2" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["layer_importance"] = [float(x) for x in sys.argv[2].split(",")]
open(sys.argv[3], "w").write(json.dumps(p))
EOF
}
sf_profile "1e307,1e307" "$sf_dir/huge.profile.json"
expect_fail 4 "layer_importance[0] is 1e+307, outside [0, 2]" generate -m $sf_M -p "Hi" $sf_G --cache maskkv --budget 4 --profile "$sf_dir/huge.profile.json"
sf_profile "-0.5,0.2" "$sf_dir/negative.profile.json"
expect_fail 4 "layer_importance[0] is -0.5, outside [0, 2]" generate -m $sf_M -p "Hi" $sf_G --cache maskkv --budget 4 --profile "$sf_dir/negative.profile.json"
sf_profile "2,0.000001" "$sf_dir/edge.profile.json"
expect_ok '"kv_kept_per_layer"' generate -m $sf_M -p "Hi" $sf_G --cache maskkv --budget 4 --profile "$sf_dir/edge.profile.json" --json

# --- 7. one line, the right words
sf_err=$("$MASKKV" generate -m $sf_M -p "Hi" --steps 0 --cache maskkv 2>&1 >/dev/null)
if [ "$(printf '%s\n' "$sf_err" | wc -l)" -eq 1 ] && [[ "$sf_err" == *"--steps must be at least 1"* ]]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAIL: --steps 0 --cache maskkv: $sf_err (want one line)"
fi
expect_fail 2 "unknown option '--frobnicate'" generate -m $sf_M -p "Hi" --frobnicate
expect_fail 2 "unknown option '--frobnicate'" forward -m $sf_M --ids "1" -o x --frobnicate
expect_fail 2 "unknown option '--frobnicate'" calibrate -m $sf_M --frobnicate
expect_fail 2 "unknown option '--frobnicate'" eval -m $sf_M --frobnicate
expect_fail 2 "--steps needs a value" generate -m $sf_M -p "Hi" --steps
expect_fail 2 "--temp needs a value" generate -m $sf_M -p "Hi" --temp
expect_fail 2 "-p needs a value" generate -m $sf_M -p
expect_fail 2 "--remasking needs a value" generate -m $sf_M -p "Hi" --remasking
expect_fail 2 "--seed: 18446744073709551616 is out of range [0, 18446744073709551615]" generate -m $sf_M -p "Hi" --seed 18446744073709551616
expect_fail 2 "--seed: -1 is out of range" generate -m $sf_M -p "Hi" --seed -1
expect_fail 2 "--seed: 'x1' is not an integer" generate -m $sf_M -p "Hi" --seed x1
expect_ok "" generate -m $sf_M -p "Hi" $sf_G --seed 18446744073709551615
expect_fail 2 "--gen-len: 99999999999999999999 is out of range" generate -m $sf_M -p "Hi" --gen-len 99999999999999999999
# ten megabytes of whitespace tokenize (PCRE2's default match limit failed at about 10 MB)
head -c 10000000 /dev/zero | tr '\0' ' ' > "$sf_dir/spaces.txt"
expect_ok "" tokenize -m $sf_M -f "$sf_dir/spaces.txt"

MASKKV=$sf_real
rm -rf "$sf_dir"
unset -f sf_sum expect_same expect_fail_ulimit expect_no_temp sf_profile
