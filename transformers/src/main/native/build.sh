#!/usr/bin/env bash
# Builds libsparkbert_mkl.so (see mkl_dispatch.c) into <output dir>/native/linux-x86_64/.
# Called by Maven (transformers, process-classes). Only Linux x86-64 has MKL inside libtorch;
# elsewhere, or without a C compiler, it prints why and builds nothing: the library then runs
# without it (slower on AMD CPUs, same results). Usage: build.sh <classes dir> <java home>
set -euo pipefail
OUT="$1/native/linux-x86_64"
JAVA_HOME_DIR="$2"
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/mkl_dispatch.c"
if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    echo "[native] $(uname -s)-$(uname -m): no MKL dispatch library needed"
    exit 0
fi
CC_BIN="${CC:-cc}"
if ! command -v "$CC_BIN" >/dev/null 2>&1; then
    echo "[native] WARNING: no C compiler ($CC_BIN); building without libsparkbert_mkl.so," \
        "so libtorch runs MKL's generic kernels on AMD CPUs (about half speed)"
    exit 0
fi
if [[ ! -f "$JAVA_HOME_DIR/include/jni.h" ]]; then
    echo "[native] WARNING: no $JAVA_HOME_DIR/include/jni.h (a JRE, not a JDK?); building without" \
        "libsparkbert_mkl.so, so libtorch runs MKL's generic kernels on AMD CPUs (about half speed)"
    exit 0
fi
if [[ "$OUT/libsparkbert_mkl.so" -nt "$SRC" ]]; then
    exit 0
fi
mkdir -p "$OUT"
"$CC_BIN" -shared -fPIC -O2 -Wall -Wextra -Werror \
    -I"$JAVA_HOME_DIR/include" -I"$JAVA_HOME_DIR/include/linux" \
    -o "$OUT/libsparkbert_mkl.so" "$SRC" -ldl
echo "[native] built $OUT/libsparkbert_mkl.so"
