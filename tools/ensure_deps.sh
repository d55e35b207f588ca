#!/bin/sh
# Installs what `make` needs on a fresh Debian/Ubuntu machine, so that
# `make run` and `make test` are the only commands a newcomer types.
#
#   sh tools/ensure_deps.sh build     C compiler with OpenMP, pkg-config, libcjson, libpcre2-8, libedit,
#                                     libmicrohttpd
#   sh tools/ensure_deps.sh python    python3 with venv and pip (for .venv, see `make venv`), and curl
#                                     (the `maskkv serve` tests)
#
# Each missing piece is installed with apt-get (as root, or through sudo when
# that needs no password), printing what it installs; when neither works it
# stops with one line naming the exact command to run. Run by the Makefile
# (once: it leaves a stamp file), not by hand.
set -u
what=${1:-build}

missing=""
need() { missing="$missing $1"; }

check_build() {
    command -v pkg-config >/dev/null 2>&1 || need pkg-config
    command -v make >/dev/null 2>&1 || need make
    if ! command -v "${CC:-cc}" >/dev/null 2>&1; then
        need build-essential
    else
        probe=$(mktemp -d)
        printf '#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n' > "$probe/omp.c"
        "${CC:-cc}" -fopenmp "$probe/omp.c" -o "$probe/omp" >/dev/null 2>&1 || need build-essential
        rm -rf "$probe"
    fi
    if command -v pkg-config >/dev/null 2>&1; then
        pkg-config --exists libcjson || need libcjson-dev
        pkg-config --exists libpcre2-8 || need libpcre2-dev
        pkg-config --exists libedit || need libedit-dev
        pkg-config --exists libmicrohttpd || need libmicrohttpd-dev
    else
        need libcjson-dev
        need libpcre2-dev
        need libedit-dev
        need libmicrohttpd-dev
    fi
}

check_python() {
    command -v curl >/dev/null 2>&1 || need curl
    if ! command -v python3 >/dev/null 2>&1; then
        need python3
        need python3-venv
        return
    fi
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need python3-venv
}

case $what in
    build) check_build ;;
    python) check_python ;;
    *) echo "ensure_deps.sh: unknown argument '$what' (build or python)" >&2; exit 2 ;;
esac
[ -z "$missing" ] && exit 0

packages=$(echo $missing) # one line, single spaces
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "maskkv: missing $packages; run: sudo apt-get install -y $packages" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "maskkv: missing $packages and no apt-get on this machine; install them with its package manager" >&2
    exit 1
fi
echo "maskkv: installing $packages (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null
status=$?
if [ $status -ne 0 ]; then
    echo "maskkv: apt-get failed (exit $status); run: sudo apt-get install -y $packages" >&2
    exit 1
fi
exit 0
