#!/bin/sh
# The public/private split: the `maskkv` command (cli/) and the examples
# include maskkv.h and their own headers only, never a header of src/.
# Fails naming every offending line.
set -u
bad=0
for f in cli/*.c cli/*.h examples/*.c; do
    [ -f "$f" ] || continue
    dir=$(dirname "$f")
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r line; do
        name=$(printf '%s\n' "$line" | sed 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/')
        if [ "$name" = "maskkv.h" ] || { [ -f "$dir/$name" ] && [ "${name#*/}" = "$name" ]; }; then continue; fi
        echo "check_includes: $f:${line%%:*}: includes \"$name\" (only maskkv.h and $dir/*.h are allowed)"
        echo x >> "${TMPDIR:-/tmp}/mkv-includes-$$"
    done
done
if [ -f "${TMPDIR:-/tmp}/mkv-includes-$$" ]; then
    rm -f "${TMPDIR:-/tmp}/mkv-includes-$$"
    exit 1
fi
echo "check_includes: cli/ and examples/ include only maskkv.h and their own headers"
