#!/bin/sh
# Installs the library with `make install PREFIX=<temporary dir>`, builds
# examples/simple.c there with pkg-config (against the shared library) and
# runs it on a model: it must answer, report its statistics, and print one
# progress line per denoising step.
# Usage: run_example.sh MAKE MODEL
set -eu
make_cmd=$1
model=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
$make_cmd --no-print-directory install PREFIX="$prefix" >"$prefix/install.log" 2>&1 || { cat "$prefix/install.log"; exit 1; }
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs maskkv)
${CC:-cc} -std=c11 -Wall -Wextra -Werror examples/simple.c $flags -Wl,-rpath,"$prefix/lib" -o "$prefix/simple"
ldd "$prefix/simple" | grep -q "$prefix/lib/libmaskkv.so.0" || { echo "run_example: simple is not linked to the installed libmaskkv.so.0"; ldd "$prefix/simple"; exit 1; }
"$prefix/simple" "$model" "$(cat models/example-niah.txt)" >"$prefix/out" 2>"$prefix/err" \
    || { echo "run_example: simple failed"; cat "$prefix/out" "$prefix/err"; exit 1; }
grep -q '^answer: .*545' "$prefix/out" || { echo "run_example: no answer line with the document's code 545"; cat "$prefix/out"; exit 1; }
grep -q '^stats: 16 steps' "$prefix/out" || { echo "run_example: no stats line"; cat "$prefix/out"; exit 1; }
steps=$(grep -c '^step [0-9]*/16: ' "$prefix/err")
[ "$steps" -eq 16 ] || { echo "run_example: $steps progress lines, expected 16"; cat "$prefix/err"; exit 1; }
"$prefix/bin/maskkv" --version >/dev/null
echo "run_example: examples/simple.c built with pkg-config against $prefix and ran: $(grep '^answer: ' "$prefix/out")"
