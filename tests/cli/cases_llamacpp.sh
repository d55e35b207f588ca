# GGUFs written by llama.cpp's own converter (tests/models/README.md): info,
# tokenize and generate --temp 0 agree with the HF folders they came from
# (sourced by run_cli_tests.sh).
for m in llada-tiny dream-tiny; do
    HF=tests/models/$m
    for t in f32 bf16; do
        LC=tests/models/$m-llamacpp-$t.gguf
        # the hyper-parameters and special ids of the HF folder
        for key in arch n_layers d_model n_heads n_kv_heads head_dim d_ff n_vocab n_ctx rope_theta norm_eps has_qkv_bias \
            shift_logits mask_id bos_id eos_id eot_id pad_id chat_template; do
            same_output "info $key of $LC" "\"$key\":[^,}]*" info -m $HF --json -- info -m $LC --json
        done
        same_output "tokenize on $LC" "^[0-9 ]*$" tokenize -m $HF -p "Hello there, the quick brown fox <|endoftext|>!" -- \
            tokenize -m $LC -p "Hello there, the quick brown fox <|endoftext|>!"
    done
    LC=tests/models/$m-llamacpp-f32.gguf
    G="--gen-len 16 --block-len 8 --steps 8 --temp 0 --json"
    same_output "generate on $LC" '"tokens":\[[0-9,]*\]' generate -m $HF -p "Hello there" $G -- generate -m $LC -p "Hello there" $G
    same_output "generate --chat on $LC" '"tokens":\[[0-9,]*\]' generate -m $HF --chat -p "The quick brown fox" $G -- \
        generate -m $LC --chat -p "The quick brown fox" $G
    same_output "generate --cache dllm on $LC" '"tokens":\[[0-9,]*\]' generate -m $HF -p "Hello there" $G --cache dllm -- \
        generate -m $LC -p "Hello there" $G --cache dllm
done
# bf16: the same tokens as the bf16 file maskkv convert writes from the HF folder
lc_dir=$(mktemp -d)
for m in llada-tiny dream-tiny; do
    "$MASKKV" convert -i tests/models/$m -o "$lc_dir/$m-bf16.gguf" --type bf16 >/dev/null 2>&1
    G="--gen-len 16 --block-len 8 --steps 8 --temp 0 --json"
    same_output "generate on $m-llamacpp-bf16.gguf" '"tokens":\[[0-9,]*\]' generate -m "$lc_dir/$m-bf16.gguf" -p "Hello there" $G -- \
        generate -m tests/models/$m-llamacpp-bf16.gguf -p "Hello there" $G
done
rm -rf "$lc_dir"
