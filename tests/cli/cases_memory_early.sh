# The up-front memory check of `generate` runs on the header alone, before
# the weights are mapped (sourced by run_cli_tests.sh). A copy of a model cut
# short inside its tensor data: any request that reaches the weights fails on
# the missing data, so a refusal of the estimate (exit 7) proves the check
# came first; the same request within the limit then reaches the weights.
me_dir=$(mktemp -d)
me_src=tests/models/llada-tiny-f32.gguf
head -c $(( $(wc -c < "$me_src") * 6 / 10 )) "$me_src" > "$me_dir/cut.gguf"
me_G="--gen-len 2048 --block-len 2048 --steps 1"
expect_fail 7 "this generation needs about" generate -m "$me_dir/cut.gguf" -p "Hi" $me_G --max-memory 2M
expect_fail 7 "more than the --max-memory limit of 2.0 MiB" generate -m "$me_dir/cut.gguf" -p "Hi" $me_G --max-memory 2M
expect_fail 7 "a context of 1000000 tokens (--ctx-size) needs about" \
    generate -m "$me_dir/cut.gguf" -p "Hi" --gen-len 8 --block-len 8 --steps 1 --ctx-size 1000000 --max-memory 64M
expect_fail 4 "lies outside the file" generate -m "$me_dir/cut.gguf" -p "Hi" $me_G --max-memory 1G
expect_fail 4 "lies outside the file" generate -m "$me_dir/cut.gguf" -p "Hi" --gen-len 8 --block-len 8 --steps 1
# the whole file: the same request runs
expect_ok '"cache":"none"' generate -m "$me_src" -p "Hi" --gen-len 8 --block-len 8 --steps 1 --max-memory 64M --json
rm -rf "$me_dir"
