#!/bin/sh
# libmaskkv.so exports the public API only: every defined dynamic symbol
# starts with mkv_ (the MKV_API functions of maskkv.h), and the soname is
# libmaskkv.so.0. Usage: check_exports.sh build/libmaskkv.so
set -eu
lib=$1
symbols=$(nm -D --defined-only "$lib" | awk '{print $3}')
count=$(printf '%s\n' "$symbols" | grep -c . || true)
others=$(printf '%s\n' "$symbols" | grep -v '^mkv_' || true)
if [ -n "$others" ]; then
    echo "check_exports: $lib exports symbols outside the mkv_ namespace:"
    printf '  %s\n' $others
    exit 1
fi
if [ "$count" -lt 50 ]; then
    echo "check_exports: $lib exports only $count symbols (expected the whole public API)"
    exit 1
fi
# every MKV_API function of the header is exported
missing=$(sed -n 's/^MKV_API[^(]*[ *]\(mkv_[a-z0-9_]*\)(.*/\1/p' include/maskkv.h | while read -r f; do
    printf '%s\n' "$symbols" | grep -qx "$f" || echo "$f"
done)
if [ -n "$missing" ]; then
    echo "check_exports: declared MKV_API but not exported: $missing"
    exit 1
fi
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
if [ "$soname" != "libmaskkv.so.0" ]; then
    echo "check_exports: soname of $lib is '$soname', not libmaskkv.so.0"
    exit 1
fi
echo "check_exports: $lib ($soname) exports $count symbols, all mkv_*"
