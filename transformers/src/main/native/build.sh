#!/usr/bin/env bash
# Builds the project's two small native libraries into <output dir>/native/linux-x86_64/:
#   libsparkbert_mkl.so   (mkl_dispatch.c): MKL's fast kernels on AMD CPUs;
#   libsparkbert_adamw.so (fused_adamw.c): the fine-tuning optimizer's fused CPU step.
# Called by Maven (transformers, process-classes). Only Linux x86-64 is built for; elsewhere, or
# without a C compiler or JDK headers, it prints why and builds nothing: the library then runs
# without them (MKL's generic kernels on AMD CPUs, AdamW as NDArray operations; same results
# within float rounding, slower). Usage: build.sh <classes dir> <java home>
set -euo pipefail
OUT="$1/native/linux-x86_64"
JAVA_HOME_DIR="$2"
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    echo "[native] $(uname -s)-$(uname -m): native helpers are built for Linux x86-64 only"
    exit 0
fi
CC_BIN="${CC:-cc}"
if ! command -v "$CC_BIN" >/dev/null 2>&1; then
    echo "[native] WARNING: no C compiler ($CC_BIN); building without libsparkbert_mkl.so" \
        "(libtorch runs MKL's generic kernels on AMD CPUs, about half speed) and without" \
        "libsparkbert_adamw.so (AdamW runs as NDArray operations, slower)"
    exit 0
fi
if [[ ! -f "$JAVA_HOME_DIR/include/jni.h" ]]; then
    echo "[native] WARNING: no $JAVA_HOME_DIR/include/jni.h (a JRE, not a JDK?); building without" \
        "libsparkbert_mkl.so and libsparkbert_adamw.so (slower, same results)"
    exit 0
fi
mkdir -p "$OUT"
build() { # $1 = library name, $2 = source, $3 = compiler flags, $4 = libraries
    local lib="$OUT/$1" src="$DIR/$2"
    if [[ "$lib" -nt "$src" ]]; then
        return 0
    fi
    # shellcheck disable=SC2086
    "$CC_BIN" -shared -fPIC -Wall -Wextra -Werror $3 \
        -I"$JAVA_HOME_DIR/include" -I"$JAVA_HOME_DIR/include/linux" -o "$lib" "$src" $4
    echo "[native] built $lib"
}
build libsparkbert_mkl.so mkl_dispatch.c "-O2" "-ldl"
# -O3 vectorises the loop (sqrtps/divps need -fno-math-errno); -ffp-contract=off keeps every
# multiply and add separately rounded, so no compiler or CPU choice of FMA changes the result.
build libsparkbert_adamw.so fused_adamw.c "-O3 -fno-math-errno -ffp-contract=off -pthread" "-lm"
