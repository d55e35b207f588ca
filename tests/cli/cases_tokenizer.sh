# tokenize / detokenize: output, exit codes and one-line errors (sourced by
# run_cli_tests.sh). The expected ids come from HF `tokenizers` on the same
# tokenizer.json (tests/data/tokenizer/, made by tools/make_tokenizer_goldens.py).
TK=tests/data/tokenizer
tok_tmp=$(mktemp -d)
# tokenize: a tokenizer.json file, an HF directory, special tokens, --no-special, --bos
expect_ok "864 413 220 2001 355 256" tokenize -m $TK/qwen2/tokenizer.json -p "Hello world <|im_start|>user"
expect_ok "864 413 220 2001 355 256" tokenize -m $TK/qwen2 -p "Hello world <|im_start|>user"
expect_ok "864 413 394 647 889 293 355 256" tokenize -m $TK/qwen2 -p "Hello world <|im_start|>user" --no-special
expect_ok "2500 885" tokenize -m $TK/llama3 -p "Hello" --bos
expect_ok "885" tokenize -m $TK/llama3 -p "Hello"
expect_ok "usage: maskkv tokenize" tokenize --help
printf 'line one\nline two\n' > "$tok_tmp/text.txt"
want=$("$MASKKV" tokenize -m $TK/llada -p "line one
line two
")
expect_ok "$want" tokenize -m $TK/llada -f "$tok_tmp/text.txt"
# detokenize: round trip, skipping specials, raw bytes
expect_ok "Héllo wörld 你好 😀" detokenize -m $TK/qwen2 --ids "$("$MASKKV" tokenize -m $TK/qwen2 -p 'Héllo wörld 你好 😀')"
expect_ok "<|im_start|>user" detokenize -m $TK/qwen2 --ids "2001 355 256"
expect_ok "user" detokenize -m $TK/qwen2 --ids "2001,355,256" --skip-special
expect_ok "usage: maskkv detokenize" detokenize --help
# a GGUF vocabulary gives the same ids as the model's tokenizer.json
if [ -e tests/models/dream-tiny-f32.gguf ] && [ -e tests/models/dream-tiny/tokenizer.json ]; then
    want=$("$MASKKV" tokenize -m tests/models/dream-tiny -p "Hi <|im_start|>user\nCafé 123!<|im_end|>")
    expect_ok "$want" tokenize -m tests/models/dream-tiny-f32.gguf -p "Hi <|im_start|>user\nCafé 123!<|im_end|>"
fi
# errors
expect_fail 6 "not valid UTF-8 (byte 2: 0xff)" tokenize -m $TK/qwen2 -p $'ab\xff'
printf 'caf\xe9' > "$tok_tmp/latin1.txt"
expect_fail 6 "not valid UTF-8" tokenize -m $TK/qwen2 -f "$tok_tmp/latin1.txt"
expect_fail 6 "token id 99999 is out of range" detokenize -m $TK/qwen2 --ids "1 99999"
expect_fail 2 "is not a token id" detokenize -m $TK/qwen2 --ids "1 x"
expect_fail 6 "no token ids given" detokenize -m $TK/qwen2 --ids " "
expect_fail 2 "--ids LIST is required" detokenize -m $TK/qwen2
expect_fail 2 "-m PATH is required" tokenize -p hi
expect_fail 2 "-m PATH is required" detokenize --ids 1
expect_fail 2 "give the text with -p TEXT or -f FILE" tokenize -m $TK/qwen2
expect_fail 2 "either -p or -f, not both" tokenize -m $TK/qwen2 -p a -f "$tok_tmp/text.txt"
expect_fail 2 "unknown option '--frobnicate'" tokenize -m $TK/qwen2 -p a --frobnicate
expect_fail 2 "-p needs a value" tokenize -m $TK/qwen2 -p
expect_fail 3 "no such file or directory" tokenize -m tests/models/no-such-model -p hi
expect_fail 3 "no tokenizer.json in this directory" tokenize -m $TK -p hi
expect_fail 3 "cannot open" tokenize -m $TK/qwen2 -f "$tok_tmp/missing.txt"
expect_fail 4 "invalid JSON" tokenize -m $TK/corpus.bin -p hi
printf '{"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}' > "$tok_tmp/bad.json"
expect_fail 4 "'b' is not in the vocabulary" tokenize -m "$tok_tmp/bad.json" -p hi
printf '{"model": {"type": "Unigram", "vocab": []}}' > "$tok_tmp/unigram.json"
expect_fail 5 "model type Unigram is not supported" tokenize -m "$tok_tmp/unigram.json" -p hi
expect_fail 5 "the tokenizer has no BOS token" tokenize -m $TK/gpt2 -p hi --bos
rm -rf "$tok_tmp"
