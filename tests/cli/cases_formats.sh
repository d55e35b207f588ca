# info / convert: exit codes and one-line errors (sourced by run_cli_tests.sh).
# Malformed inputs live in tests/data/formats/ (tools/make_bad_files.py).
F=tests/data/formats
L=tests/models/llada-tiny
# info: success from both sources
expect_ok "architecture:   llada" info -m $L
expect_ok '"arch":"llada"' info -m $L --json
expect_ok '"rope_style":"norm"' info -m tests/models/llada-tiny-q8_0.gguf --json
expect_ok '"shift_logits":true' info -m tests/models/dream-tiny --json
expect_ok '"n_kv_heads":2' info -m tests/models/dream-tiny-f32.gguf --json
expect_ok "chat_template:  dream" info -m tests/models/dream-tiny-q8_0.gguf --check-weights
expect_ok "usage: maskkv info" info --help
# info: errors
expect_fail 2 "-m PATH is required" info
expect_fail 2 "unknown option '--bogus'" info -m $L --bogus
expect_fail 2 "-m needs a value" info -m
expect_fail 3 "cannot open" info -m tests/models/no-such-model.gguf
expect_fail 3 "no-config/config.json: cannot open" info -m $F/no-config
expect_fail 4 "not a GGUF file (bad magic)" info -m $F/bad-magic.gguf
expect_fail 4 "truncated" info -m $F/truncated.gguf
expect_fail 4 "lies outside the file" info -m $F/tensor-out-of-bounds.gguf
expect_fail 5 "GGUF version 1 is not supported" info -m $F/v1.gguf
expect_fail 5 "architecture 'llama' is not supported" info -m $F/llama-arch.gguf
expect_fail 5 "unknown architecture 'llama'" info -m $F/unknown-arch
expect_fail 4 "bad-json/config.json: invalid JSON" info -m $F/bad-json
expect_fail 4 "header length 1000000000000 is over" info -m $F/bad-safetensors
# convert: errors
tmp_gguf_dir=$(mktemp -d)
expect_fail 2 "--type: 'q7_k' is not one of f32, f16, bf16, q8_0, q4_0" convert -i $L -o "$tmp_gguf_dir/x.gguf" --type q7_k
# types maskkv reads but has no quantizer for: refused before anything is written
expect_fail 2 "--type: maskkv reads q5_K but does not write it" convert -i $L -o "$tmp_gguf_dir/x.gguf" --type q5_k
expect_fail 2 "--type: maskkv reads iq4_nl but does not write it" convert -i $L -o "$tmp_gguf_dir/x.gguf" --type IQ4_NL
if [ ! -e "$tmp_gguf_dir/x.gguf" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: convert --type q5_k left $tmp_gguf_dir/x.gguf"; fi

expect_fail 2 "-o OUT.gguf is required" convert -i $L
expect_fail 2 "-i HF_DIR is required" convert -o "$tmp_gguf_dir/x.gguf"
expect_fail 2 "unknown option '--bogus'" convert -i $L -o "$tmp_gguf_dir/x.gguf" --bogus
expect_fail 3 "cannot open" convert -i tests/models/no-such-dir -o "$tmp_gguf_dir/x.gguf"
expect_fail 3 "not a directory" convert -i tests/models/llada-tiny-f32.gguf -o "$tmp_gguf_dir/x.gguf"
expect_fail 3 "no-config/config.json: cannot open" convert -i $F/no-config -o "$tmp_gguf_dir/x.gguf"
expect_fail 5 "unknown architecture" convert -i $F/unknown-arch -o "$tmp_gguf_dir/x.gguf"
expect_fail 3 "cannot open for writing" convert -i $L -o /nonexistent-dir/x.gguf
# convert: success, and the result loads with the same hyper-parameters
expect_ok "wrote $tmp_gguf_dir/llada.gguf (q8_0)" convert -i $L -o "$tmp_gguf_dir/llada.gguf" --type q8_0
expect_ok '"dtypes":{"f32":5,"q8_0":16}' info -m "$tmp_gguf_dir/llada.gguf" --json
expect_ok "wrote $tmp_gguf_dir/dream.gguf (f16)" convert -i tests/models/dream-tiny -o "$tmp_gguf_dir/dream.gguf"
expect_ok '"bos_id":337,"eos_id":332,"eot_id":334,"pad_id":332' info -m "$tmp_gguf_dir/dream.gguf" --json
expect_ok "wrote" convert -i tests/models/llada-odd -o "$tmp_gguf_dir/odd.gguf" --type q4_0
expect_ok '"f16":16' info -m "$tmp_gguf_dir/odd.gguf" --json
rm -rf "$tmp_gguf_dir"
