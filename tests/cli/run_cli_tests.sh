#!/usr/bin/env bash
# Command-line tests: each case runs `maskkv` and checks the exit code and
# that stderr holds exactly one line containing the expected text.
set -u
MASKKV=${MASKKV:-build/maskkv}
passed=0
failed=0

# expect_fail CODE "stderr substring" args...
expect_fail() {
    local code=$1 text=$2
    shift 2
    local err rc
    err=$("$MASKKV" "$@" 2>&1 >/dev/null)
    rc=$?
    local lines
    lines=$(printf '%s' "$err" | grep -c '' || true)
    if [ "$rc" -eq "$code" ] && [[ "$err" == *"$text"* ]] && [ "$lines" -eq 1 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: maskkv $* -> rc=$rc (want $code), stderr: $err (want '$text', one line)"
    fi
}

# expect_ok "stdout substring" args...
expect_ok() {
    local text=$1
    shift
    local out rc
    out=$("$MASKKV" "$@" 2>/dev/null)
    rc=$?
    if [ "$rc" -eq 0 ] && [[ "$out" == *"$text"* ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: maskkv $* -> rc=$rc, stdout: ${out:0:300} (want '$text')"
    fi
}

# same_output "what" "grep -o pattern" args-for-A -- args-for-B: both succeed with the same non-empty match
same_output() {
    local what=$1 pattern=$2
    shift 2
    local a_args=() b_args=()
    while [ "$1" != "--" ]; do a_args+=("$1"); shift; done
    shift
    b_args=("$@")
    local a b
    a=$("$MASKKV" "${a_args[@]}" 2>/dev/null | grep -ao "$pattern")
    b=$("$MASKKV" "${b_args[@]}" 2>/dev/null | grep -ao "$pattern")
    if [ -n "$a" ] && [ "$a" = "$b" ]; then passed=$((passed + 1)); else
        failed=$((failed + 1)); echo "FAIL: $what: '${a:0:200}' vs '${b:0:200}'"; fi
}
expect_fail 2 "unknown command" no-such-command
expect_ok "commands:" --help

for f in tests/cli/cases_*.sh; do
    [ -e "$f" ] || continue
    # shellcheck source=/dev/null
    . "$f"
done

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
