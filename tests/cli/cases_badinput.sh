# Bad-input matrix through the command (sourced by run_cli_tests.sh): each
# hostile model file, prompt, parameter or file gets exit code
# 2 usage / 3 I/O / 4 format / 5 unsupported / 6 input / 7 memory and one line
# naming the problem. The model variants are made here by byte surgery on the
# tiny GGUF (head, dd, printf; no Python). The same matrix over every section
# boundary and every allocation is in tests/unit/test_badinput*.c; cases
# already in cases_generate.sh (gen-len 0, steps 0, block-len not dividing,
# threads 0 / 10000, budget 0 / -5, empty -p, missing model or profile,
# another model's profile, --max-memory 1K) are not repeated.
bi_M=tests/models/llada-tiny-f32.gguf
bi_G="--gen-len 8 --block-len 8 --steps 4"
bi_dir=$(mktemp -d "${TMPDIR:-/tmp}/mkv-cli-badinput.XXXXXX")

# Offset of the u32 value of a GGUF key of type uint32.
bi_u32_value_offset() {
    local at
    at=$(LC_ALL=C grep -obUaP "$(printf '%s' "$2" | sed 's/\./\\./g')\\x04\\x00\\x00\\x00" "$1" | head -1 | cut -d: -f1)
    [ -n "$at" ] && echo $((at + ${#2} + 4))
}
# Offset of a tensor info's type field (2-D tensors).
bi_tensor_type_offset() {
    local at
    at=$(LC_ALL=C grep -obUaP "$(printf '%s' "$2" | sed 's/\./\\./g')\\x02\\x00\\x00\\x00" "$1" | head -1 | cut -d: -f1)
    [ -n "$at" ] && echo $((at + ${#2} + 4 + 16))
}
# Writes little-endian bytes given as hex pairs ("ff ff 00 00") at an offset.
bi_poke() {
    local file=$1 offset=$2
    shift 2
    local bytes=""
    for b in "$@"; do bytes+="\\x$b"; done
    printf "$bytes" | dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}
# A copy of the tiny model with a u32 key set to a value (4 hex bytes).
bi_with_u32() {
    local out="$bi_dir/$1.gguf" key=$2
    shift 2
    cp "$bi_M" "$out"
    local off
    off=$(bi_u32_value_offset "$out" "$key") || true
    if [ -z "$off" ]; then echo "cases_badinput: key $key not found" >&2; return 1; fi
    bi_poke "$out" "$off" "$@"
    echo "$out"
}

# --- truncated GGUF: inside the header, a key-value pair, the tensor infos, the data
bi_size=$(stat -c %s "$bi_M")
for bi_cut in 0 10 24 300 5000 9000 9632 500000 $((bi_size - 1)); do
    head -c "$bi_cut" "$bi_M" > "$bi_dir/cut.gguf"
    case $bi_cut in
        0) bi_want="file is empty" ;;
        24 | 300) bi_want="tensor count 21 cannot fit" ;;
        9632 | 500000 | $((bi_size - 1))) bi_want="lies outside the file" ;;
        *) bi_want="truncated" ;;
    esac
    expect_fail 4 "$bi_want" generate -m "$bi_dir/cut.gguf" -p "Hi" $bi_G
done
# --- counts and lengths near 2^64
cp "$bi_M" "$bi_dir/count.gguf"
bi_poke "$bi_dir/count.gguf" 16 ff ff ff ff ff ff ff ff
expect_fail 4 "key-value count 18446744073709551615 cannot fit" generate -m "$bi_dir/count.gguf" -p "Hi" $bi_G
cp "$bi_M" "$bi_dir/count.gguf"
bi_poke "$bi_dir/count.gguf" 8 00 00 00 00 00 00 00 80
expect_fail 4 "tensor count 9223372036854775808 cannot fit" generate -m "$bi_dir/count.gguf" -p "Hi" $bi_G
cp "$bi_M" "$bi_dir/count.gguf"
bi_poke "$bi_dir/count.gguf" 24 f8 ff ff ff ff ff ff ff
expect_fail 4 "length 18446744073709551608, past the end" generate -m "$bi_dir/count.gguf" -p "Hi" $bi_G
# --- overlapping and misaligned tensors: blk.0.attn_k.weight's data offset
bi_k=$(bi_tensor_type_offset "$bi_M" blk.0.attn_k.weight)
cp "$bi_M" "$bi_dir/overlap.gguf"
bi_poke "$bi_dir/overlap.gguf" $((bi_k + 4)) 00 00 00 00 00 00 00 00
expect_fail 4 "overlap" generate -m "$bi_dir/overlap.gguf" -p "Hi" $bi_G
cp "$bi_M" "$bi_dir/misaligned.gguf"
bi_poke "$bi_dir/misaligned.gguf" $((bi_k + 4)) 04
expect_fail 4 "not a multiple of the alignment 32" generate -m "$bi_dir/misaligned.gguf" -p "Hi" $bi_G
# --- a ggml type maskkv does not read, named (16 = iq2_xxs), and an unknown id (99)
cp "$bi_M" "$bi_dir/type.gguf"
bi_poke "$bi_dir/type.gguf" "$bi_k" 10 00 00 00
expect_fail 5 "has type iq2_xxs, which maskkv does not support" generate -m "$bi_dir/type.gguf" -p "Hi" $bi_G
bi_poke "$bi_dir/type.gguf" "$bi_k" 63 00 00 00
expect_fail 5 "has ggml type 99" info -m "$bi_dir/type.gguf"
# --- a tensor shape that disagrees with the metadata (feed_forward_length 160 -> 128)
expect_fail 4 "has shape [96, 160], expected [96, 128]" generate -m "$(bi_with_u32 ffn llada.feed_forward_length 80 00 00 00)" -p "Hi" $bi_G
# --- zero layers or heads; head_dim not matching; a KV-head count that does not divide
expect_fail 4 "n_layers is 0 (must be positive)" generate -m "$(bi_with_u32 layers0 llada.block_count 00 00 00 00)" -p "Hi" $bi_G
expect_fail 4 "layers need at least" info -m "$(bi_with_u32 layers2e30 llada.block_count 00 00 00 40)"
expect_fail 4 "n_heads is 0 (must be positive)" generate -m "$(bi_with_u32 heads0 llada.attention.head_count 00 00 00 00)" -p "Hi" $bi_G
expect_fail 4 "n_kv_heads is 0" generate -m "$(bi_with_u32 kvheads0 llada.attention.head_count_kv 00 00 00 00)" -p "Hi" $bi_G
expect_fail 4 "n_heads 3 is not a multiple of n_kv_heads 2" generate -m "$(bi_with_u32 kvheads2 llada.attention.head_count_kv 02 00 00 00)" -p "Hi" $bi_G
expect_fail 5 "differs from head_dim 24" generate -m "$(bi_with_u32 heads4 llada.attention.head_count 04 00 00 00)" -p "Hi" $bi_G
# HF checkpoints: config.json edited, weights linked
bi_hf() {
    local d="$bi_dir/hf-$1"
    mkdir -p "$d"
    for f in tests/models/llada-tiny/*; do ln -sf "$PWD/$f" "$d/"; done
    rm -f "$d/config.json"
    sed "$2" tests/models/llada-tiny/config.json > "$d/config.json"
    echo "$d"
}
expect_fail 4 "head_dim 40 x n_heads 3 = 120 does not match d_model 96" generate -m "$(bi_hf headdim 's/"n_heads": 3,/"n_heads": 3, "head_dim": 40,/')" -p "Hi" $bi_G
expect_fail 4 "n_heads is 0" generate -m "$(bi_hf heads0 's/"n_heads": 3,/"n_heads": 0,/')" -p "Hi" $bi_G
expect_fail 4 "n_layers is 0" generate -m "$(bi_hf layers0 's/"n_layers": 2,/"n_layers": 0,/')" -p "Hi" $bi_G
# --- vocabulary smaller than a special id
expect_fail 4 "mask token id 384 is outside the vocabulary of 384 tokens" generate -m "$(bi_with_u32 mask tokenizer.ggml.mask_token_id 80 01 00 00)" -p "Hi" $bi_G
expect_fail 4 "is outside the vocabulary of 300 tokens" generate -m "$(bi_with_u32 vocab300 llada.vocab_size 2c 01 00 00)" -p "Hi" $bi_G
expect_fail 4 "mask token id 5000 is outside the vocabulary" generate -m "$(bi_hf mask 's/"mask_token_id": 344,/"mask_token_id": 5000,/')" -p "Hi" $bi_G

# --- prompts: invalid UTF-8, NUL bytes (-f: -p cannot carry them), empty file, over the context
expect_fail 6 "not valid UTF-8" generate -m $bi_M -p $'ok \xff\xfe' $bi_G
expect_fail 6 "not valid UTF-8" generate -m $bi_M -p $'\xed\xa0\x80 surrogate' $bi_G
expect_fail 6 "not valid UTF-8" tokenize -m $bi_M -p $'truncated \xe4\xbd'
printf 'Hello\0world' > "$bi_dir/nul.txt"
expect_fail 6 "the prompt contains a NUL byte at offset 5" generate -m $bi_M -f "$bi_dir/nul.txt" $bi_G
: > "$bi_dir/empty.txt"
expect_fail 6 "the prompt is empty" generate -m $bi_M -f "$bi_dir/empty.txt" $bi_G
for bi_i in $(seq 1 2000); do printf 'word%d and ' "$bi_i"; done > "$bi_dir/huge.txt"
expect_fail 6 "exceeds the model's context of 4096 tokens" generate -m $bi_M -f "$bi_dir/huge.txt" $bi_G
expect_ok "" tokenize -m $bi_M -f "$bi_dir/huge.txt"
truncate -s 1025M "$bi_dir/sparse.txt"   # no disk used: refused by its size before reading
expect_fail 4 "more than the 1073741824 allowed" generate -m $bi_M -f "$bi_dir/sparse.txt" $bi_G
rm -f "$bi_dir/sparse.txt"
expect_ok "" tokenize -m $bi_M -f "$bi_dir/nul.txt"   # the tokenizer itself encodes U+0000, as HF does
# --- numbers: gen-len / block-len / budget out of range or not numbers
expect_fail 2 "--gen-len: -1 is out of range" generate -m $bi_M -p "Hi" --gen-len -1
expect_fail 2 "--gen-len: 2097152 is out of range" generate -m $bi_M -p "Hi" --gen-len 2097152
expect_fail 2 "--block-len must be at least 1" generate -m $bi_M -p "Hi" --gen-len 8 --block-len 0 --steps 8
expect_fail 2 "--steps: 'x' is not an integer" generate -m $bi_M -p "Hi" --steps x
expect_fail 2 "--budget: 'lots' is not an integer" generate -m $bi_M -p "Hi" $bi_G --cache maskkv --budget lots
expect_fail 2 "--budget: 99999999999999999999 is out of range" generate -m $bi_M -p "Hi" $bi_G --cache maskkv --budget 99999999999999999999
expect_fail 2 "--threads: -1 is out of range" generate -m $bi_M -p "Hi" $bi_G --threads -1
expect_fail 2 "--max-memory: '12X' is not a size" generate -m $bi_M -p "Hi" $bi_G --max-memory 12X
expect_fail 2 "--gen-len needs a value" generate -m $bi_M -p "Hi" --gen-len
# --- a budget larger than the prompt works and keeps the full cache (= dllm)
bi_P="The secret code of Alice is 4417. What is it?"
bi_G2="--gen-len 16 --block-len 8 --steps 8 --json"
bi_full=$("$MASKKV" generate -m $bi_M -p "$bi_P" $bi_G2 --cache dllm 2>/dev/null)
for bi_c in "maskkv --budget 100000" "maskkv --budget 32" "snapkv --budget 1000000000" "pyramidkv --budget 5000"; do
    bi_out=$("$MASKKV" generate -m $bi_M -p "$bi_P" $bi_G2 --cache $bi_c 2>/dev/null)
    bi_rc=$?
    bi_field() { printf '%s' "$1" | grep -o "\"$2\":[^,]*\(,[0-9,]*\]\)\{0,1\}" | head -1; }
    if [ $bi_rc -eq 0 ] && [ -n "$bi_full" ] &&
        [ "$(bi_field "$bi_out" tokens)" = "$(bi_field "$bi_full" tokens)" ] &&
        [ "$(bi_field "$bi_out" kv_prompt_kept)" = "$(bi_field "$bi_full" kv_prompt_kept)" ] &&
        [ "$(bi_field "$bi_out" kv_prompt_kept)" = '"kv_prompt_kept":192' ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: generate --cache $bi_c (budget over the prompt) -> rc=$bi_rc, $(bi_field "$bi_out" kv_prompt_kept) $(bi_field "$bi_out" tokens), want the full cache: $(bi_field "$bi_full" kv_prompt_kept) $(bi_field "$bi_full" tokens)"
    fi
done
# --- files: missing, not regular, unreadable
expect_fail 3 "cannot open" generate -m $bi_M -f "$bi_dir/no-such-prompt.txt" $bi_G
expect_fail 3 "not a regular file" generate -m /dev/null -p "Hi" $bi_G
expect_fail 3 "not a regular file" generate -m $bi_M -f /dev/null $bi_G
cp "$bi_M" "$bi_dir/unreadable.gguf"
chmod 000 "$bi_dir/unreadable.gguf"
if [ "$(id -u)" -eq 0 ]; then
    echo "cli: SKIPPED (running as root, which reads through chmod 000): unreadable model file"
else
    expect_fail 3 "Permission denied" generate -m "$bi_dir/unreadable.gguf" -p "Hi" $bi_G
fi
chmod 600 "$bi_dir/unreadable.gguf"
# --- profiles: another architecture's, malformed, a newer version
printf 'One calibration paragraph.\n' > "$bi_dir/calib.txt"
if "$MASKKV" calibrate -m tests/models/dream-tiny-f32.gguf -f "$bi_dir/calib.txt" -o "$bi_dir/dream.profile.json" >/dev/null 2>&1; then
    expect_fail 6 "calibration profile of another model (arch dream, this model llada)" generate -m $bi_M -p "Hi" $bi_G --cache maskkv --budget 4 --profile "$bi_dir/dream.profile.json"
fi
printf '{"format": "maskkv-profile", "version": 1, "model": 3}' > "$bi_dir/bad.profile.json"
expect_fail 4 "malformed profile" generate -m $bi_M -p "Hi" $bi_G --cache maskkv --budget 4 --profile "$bi_dir/bad.profile.json"
printf '{"format": "maskkv-profile", "version": 2}' > "$bi_dir/v2.profile.json"
expect_fail 5 "profile version 2" generate -m $bi_M -p "Hi" $bi_G --cache maskkv --budget 4 --profile "$bi_dir/v2.profile.json"
printf 'not json' > "$bi_dir/text.profile.json"
expect_fail 4 "invalid JSON" generate -m $bi_M -p "Hi" $bi_G --cache maskkv --budget 4 --profile "$bi_dir/text.profile.json"
# --- memory: the estimate is checked before allocating; the model itself fits
expect_fail 7 "this generation needs about" generate -m $bi_M -p "Hi" --gen-len 2048 --block-len 2048 --steps 1 --max-memory 2M
expect_fail 7 "more than the --max-memory limit of 2.0 MiB" generate -m $bi_M -p "Hi" --gen-len 2048 --block-len 2048 --steps 1 --max-memory 2M
expect_ok '"cache":"maskkv"' generate -m $bi_M -p "Hi" $bi_G --cache maskkv --budget 4 --json --max-memory 64M
rm -rf "$bi_dir"
unset -f bi_u32_value_offset bi_tensor_type_offset bi_poke bi_with_u32 bi_hf bi_field
