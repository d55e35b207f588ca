# HF folders without tokenizer.json: vocab.json + merges.txt + added_tokens.json +
# tokenizer_config.json (sourced by run_cli_tests.sh).
ST=tests/models/dream-tiny-slowtok
expect_ok "tokenizer:      339 tokens" info -m $ST
same_output "slow tokenizer ids" "^[0-9 ]*$" tokenize -m tests/models/dream-tiny -p "Héllo wörld <|im_start|>user 你好 <tool_call>x</tool_call> 123" -- \
    tokenize -m $ST -p "Héllo wörld <|im_start|>user 你好 <tool_call>x</tool_call> 123"
G="--gen-len 16 --steps 8 --temp 0 --json"
same_output "generate --chat with the slow tokenizer" '"tokens":\[[0-9,]*\]' generate -m tests/models/dream-tiny --chat -p "Hello there" $G -- \
    generate -m $ST --chat -p "Hello there" $G
st_dir=$(mktemp -d)
expect_ok "wrote $st_dir/st.gguf (f32)" convert -i $ST -o "$st_dir/st.gguf" --type f32
same_output "the GGUF of the slow-tokenizer folder" '"mask_id.*"pad_id":[0-9]*' info -m $ST --json -- info -m "$st_dir/st.gguf" --json
same_output "generate on the GGUF of the slow-tokenizer folder" '"tokens":\[[0-9,]*\]' generate -m $ST -p "Hello there" $G -- \
    generate -m "$st_dir/st.gguf" -p "Hello there" $G
# errors: one line naming the file
cp -r $ST "$st_dir/no-merges" && rm "$st_dir/no-merges/merges.txt"
expect_fail 3 "no tokenizer.json, and vocab.json without merges.txt" info -m "$st_dir/no-merges"
cp -r $ST "$st_dir/bad-class" && sed -i 's/"DreamTokenizer"/"LlamaTokenizer"/' "$st_dir/bad-class/tokenizer_config.json"
expect_fail 5 "tokenizer_class 'LlamaTokenizer' is not supported without tokenizer.json" info -m "$st_dir/bad-class"
cp -r $ST "$st_dir/bad-merge" && printf 'not-a-token x\n' >> "$st_dir/bad-merge/merges.txt"
expect_fail 4 "merges.txt line 78: 'not-a-token' is not in the vocabulary" tokenize -m "$st_dir/bad-merge" -p hi
cp -r $ST "$st_dir/bad-added" && sed -i 's/"<|mask|>": 338/"<|mask|>": 337/' "$st_dir/bad-added/added_tokens.json"
expect_fail 4 "added_tokens.json gives '<|mask|>' id 337, tokenizer_config.json disagrees" info -m "$st_dir/bad-added"
cp -r $ST "$st_dir/no-config" && rm "$st_dir/no-config/tokenizer_config.json"
expect_fail 3 "no tokenizer_config.json to go with vocab.json" tokenize -m "$st_dir/no-config" -p hi
rm -rf "$st_dir"
