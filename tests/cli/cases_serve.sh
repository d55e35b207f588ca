# maskkv serve: argument errors, then a server on a free loopback port driven
# with curl (answers equal to generate's, a stream ending in [DONE], errors in
# OpenAI's shape, 413, 401, 504 past --timeout), the --help example, and
# SIGTERM / SIGINT -> exit 0 (under test-asan: no leak, no error). Every wait
# is bounded. Sourced by run_cli_tests.sh.
M=models/llada-tiny-retrieval.gguf
expect_fail 2 "-m MODEL is required" serve
expect_fail 2 "--port: 70000 is out of range" serve -m $M --port 70000
expect_fail 2 "--parallel: 0 is out of range" serve -m $M --parallel 0
expect_fail 2 "--queue: -1 is out of range" serve -m $M --queue -1
expect_fail 2 "unknown option '--bogus'" serve -m $M --bogus
expect_fail 2 "--api-key needs a value" serve -m $M --api-key
expect_fail 3 "cannot open" serve -m tests/models/no-such-model.gguf
expect_fail 2 "is not an IPv4 or IPv6 address" serve -m $M --host localhost --port 0
expect_ok "OpenAI-compatible" serve --help
expect_fail 2 "--threads: 0 is out of range" serve -m $M --threads 0
expect_fail 2 "--timeout" serve -m $M --timeout 0
expect_fail 4 "not a maskkv profile" serve -m $M --profile tests/cli/cases_serve.sh --port 0

serve_dir=$(mktemp -d)
# start_server LOG ARGS...: background server; sets serve_pid and serve_url ("" when it did not start in 20 s)
start_server() {
    local log=$1
    shift
    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE "$MASKKV" serve -m $M --port 0 "$@" 2>"$log" &
    serve_pid=$!
    serve_url=""
    for _ in $(seq 200); do
        serve_url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" 2>/dev/null | head -1)
        [ -n "$serve_url" ] && return
        kill -0 $serve_pid 2>/dev/null || return
        sleep 0.1
    done
}
# stop_server [SIGNAL]: SIGTERM (or SIGNAL), then the exit code within 30 s (124 when it hung)
stop_server() {
    kill -"${1:-TERM}" $serve_pid 2>/dev/null
    for _ in $(seq 300); do
        kill -0 $serve_pid 2>/dev/null || { wait $serve_pid; return $?; }
        sleep 0.1
    done
    kill -KILL $serve_pid 2>/dev/null
    wait $serve_pid 2>/dev/null
    return 124
}
check() { # check "what" CONDITION-RESULT(0/1)
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: serve: $1"; fi
}
post() { curl -sS --max-time 60 -H 'Content-Type: application/json' "$@"; }

if ! command -v curl >/dev/null 2>&1; then
    failed=$((failed + 1)) # tools/ensure_deps.sh installs it
    echo "FAIL: serve: curl is not installed (sh tools/ensure_deps.sh python)"
else
    start_server "$serve_dir/a.log" --parallel 2 --queue 4 --max-body 64K
    check "server starts: $(head -c 300 "$serve_dir/a.log")" $([ -n "$serve_url" ]; echo $?)
    if [ -n "$serve_url" ]; then
        Q="The secret code of Edith is 4417. What is the secret code of Edith?"
        want=$("$MASKKV" generate -m $M -p "$Q" --gen-len 8 --steps 8 --block-len 8 --temp 0 2>/dev/null)
        got=$(post -d "{\"prompt\": \"$Q\", \"max_tokens\": 8, \"steps\": 8, \"block_length\": 8}" "$serve_url/v1/completions")
        check "completion = generate ('$want'): $got" $([[ "$got" == *"\"text\":\"$want\""* ]]; echo $?)
        want=$("$MASKKV" generate -m $M --chat -p "$Q" --answer-prefix "The secret code of Edith is " --gen-len 8 \
            --steps 8 --block-len 8 --cache maskkv --budget 16 2>/dev/null)
        got=$(post -d "{\"messages\": [{\"role\": \"user\", \"content\": \"$Q\"}], \"max_tokens\": 8, \"steps\": 8, \"block_length\": 8, \"cache\": \"maskkv\", \"budget\": 16, \"answer_prefix\": \"The secret code of Edith is \"}" "$serve_url/v1/chat/completions")
        check "chat = generate --chat ('$want'): $got" $([[ "$got" == *"\"content\":\"$want\""* ]]; echo $?)
        got=$(post -N -d "{\"prompt\": \"$Q\", \"max_tokens\": 16, \"stream\": true}" "$serve_url/v1/completions")
        check "stream ends with [DONE] after usage: ${got: -200}" \
            $([[ "$got" == *'"usage":{'*'data: [DONE]'* ]] && [ "$(printf '%s' "$got" | grep -c '^data: ')" -ge 3 ]; echo $?)
        got=$(post -w ' %{http_code}' -d '{"prompt": ' "$serve_url/v1/completions")
        check "malformed JSON -> 400: $got" $([[ "$got" == *'"error":{"message":'*'"type":"invalid_request_error"'*' 400' ]]; echo $?)
        got=$(post -w ' %{http_code}' -d '{"prompt": "Hi", "max_tokens": -5}' "$serve_url/v1/completions")
        check "negative max_tokens -> 400: $got" $([[ "$got" == *'"param":"max_tokens"'*' 400' ]]; echo $?)
        head -c 200000 /dev/zero | tr '\0' 'x' > "$serve_dir/big.txt"
        got=$(post -w ' %{http_code}' --data-binary @"$serve_dir/big.txt" "$serve_url/v1/completions")
        check "body past --max-body -> 413: ${got: -120}" $([[ "$got" == *'"request_too_large"'*' 413' ]]; echo $?)
        got=$(curl -sS --max-time 10 "$serve_url/metrics")
        check "metrics: ${got:0:200}" $([[ "$got" == *'maskkv_requests_total{route="completions",code="200"} 2'* ]] &&
            [[ "$got" == *'maskkv_requests_total{route="completions",code="413"} 1'* ]]; echo $?)
        got=$(curl -sS --max-time 10 "$serve_url/v1/models")
        check "models: $got" $([[ "$got" == *'"id":"llada-tiny-retrieval"'* ]]; echo $?)
        # a second server on the same port cannot listen
        port=${serve_url##*:}
        expect_fail 3 "cannot listen on 127.0.0.1 port $port" serve -m $M --port "$port"
    fi
    stop_server
    code=$?
    check "SIGTERM -> exit 0 (got $code): $(tail -c 400 "$serve_dir/a.log")" $([ $code -eq 0 ]; echo $?)

    start_server "$serve_dir/b.log" --api-key s3cret
    if [ -n "$serve_url" ]; then
        got=$(curl -sS --max-time 10 -w ' %{http_code}' "$serve_url/v1/models")
        check "no key -> 401: $got" $([[ "$got" == *'"invalid_api_key"'*' 401' ]]; echo $?)
        got=$(curl -sS --max-time 10 -w ' %{http_code}' -H 'Authorization: Bearer s3cret' "$serve_url/v1/models")
        check "key -> 200: $got" $([[ "$got" == *' 200' ]]; echo $?)
    else
        check "server with --api-key starts" 1
    fi
    stop_server INT
    check "SIGINT -> exit 0 (--api-key)" $?

    # past --timeout: 504 in OpenAI's shape, and the server goes on
    start_server "$serve_dir/c.log" --timeout 0.001
    if [ -n "$serve_url" ]; then
        got=$(post -w ' %{http_code}' -d '{"prompt": "Hi", "max_tokens": 256, "steps": 256}' "$serve_url/v1/completions")
        check "past --timeout -> 504: $got" $([[ "$got" == *'"code":"timeout"'*' 504' ]]; echo $?)
        got=$(curl -sS --max-time 10 -w ' %{http_code}' "$serve_url/health")
        check "health after a timeout: $got" $([[ "$got" == *' 200' ]]; echo $?)
    else
        check "server with --timeout starts" 1
    fi
    stop_server
    check "SIGTERM -> exit 0 (--timeout)" $?

    # the example of `serve --help`, on a free port instead of its own
    example=$("$MASKKV" serve --help | sed -n 's/^example: maskkv serve //p')
    check "serve --help has one example" $([ "$(printf '%s\n' "$example" | grep -c .)" -eq 1 ]; echo $?)
    # shellcheck disable=SC2086
    start_server "$serve_dir/d.log" ${example#-m $M} --port 0
    got=$([ -n "$serve_url" ] && curl -sS --max-time 10 "$serve_url/health")
    check "the --help example serves: $got $(head -c 200 "$serve_dir/d.log")" $([[ "$got" == *'"ok"'* ]]; echo $?)
    stop_server INT
    check "SIGINT -> exit 0 (--help example)" $?
fi
rm -rf "$serve_dir"
