#!/usr/bin/env bash
# Fuzzes one target for a while, on one core, niced:
#   fuzz/run.sh TARGET SECONDS [libFuzzer options...]
# New inputs go to a scratch corpus (the committed corpus fuzz/corpus/TARGET
# is only read); a crash is written to $FUZZ_OUT/TARGET/artifacts/ (default
# build-fuzz/out) and the script exits non-zero. libFuzzer runs with
# -jobs=1 -workers=1 (one process), so its log is $FUZZ_OUT/TARGET/fuzz-0.log;
# the last status line and the final statistics are printed at the end.
# fuzz/TARGET.dict, when present, is passed as libFuzzer's -dict.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: fuzz/run.sh TARGET SECONDS [options]}
seconds=${2:?usage: fuzz/run.sh TARGET SECONDS [options]}
shift 2
bin=$root/build-fuzz/fuzz_$target
[ -x "$bin" ] || { echo "fuzz/run.sh: $bin not built (make fuzz)" >&2; exit 2; }
out=${FUZZ_OUT:-$root/build-fuzz/out}
mkdir -p "$out/$target/new" "$out/$target/artifacts"
out=$(cd "$out" && pwd)
cd "$out/$target" || exit 2
rm -f fuzz-0.log
dict=()
[ -f "$root/fuzz/$target.dict" ] && dict=(-dict="$root/fuzz/$target.dict")
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} MKV_SOURCE_ROOT=${MKV_SOURCE_ROOT:-$root} \
nice -n 5 "$bin" -max_total_time="$seconds" -jobs=1 -workers=1 -rss_limit_mb=4096 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$out/$target/artifacts/" "${dict[@]}" "$@" \
    "$out/$target/new" "$root/fuzz/corpus/$target" >"$out/$target/driver.log" 2>&1
rc=$?
log="$out/$target/fuzz-0.log"
[ -f "$log" ] || log="$out/$target/driver.log"
# A crash makes libFuzzer's job exit non-zero, but -jobs=1 reports success:
# artifacts decide.
if ls "$out/$target/artifacts/" | grep -q .; then rc=1; fi
echo "$target: $(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)"
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log"
if [ $rc -ne 0 ]; then
    echo "fuzz/run.sh: $target: failed (rc $rc); see $log and $out/$target/artifacts/" >&2
    grep -m3 -E 'ERROR: |runtime error|fuzz contract violated|Test unit written' "$log" >&2
fi
exit $rc
