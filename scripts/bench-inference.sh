#!/usr/bin/env bash
# Inference throughput benchmark (io.sparkbert.inference.InferenceBench, transformers test tree):
# the UCI sentences repeated to 30,000 rows, built-in MiniLM, mean pooling, maxLength 128; the bare
# engine, the Spark path with and without length bucketing, fixed 128 padding and ONNX Runtime in
# one run, plus model load time and memory per model copy. Prints a Markdown table.
# Usage: scripts/bench-inference.sh [--rows N] [--padded-rows N] [--unsorted-rows N] [--batch N] [--max-tokens N]
#                                   [--window N] [--only engine,spark,spark-unsorted,spark-pad128,ort]
# Env: MVN_OPTS_EXTRA (e.g. "-o" to stay offline). Never gates CI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ)"
bash scripts/fetch-data.sh >/dev/null
LOG="$ROOT/transformers/target/bench-inference.log"
CP_FILE="$ROOT/transformers/target/bench-classpath.txt"
mkdir -p "$(dirname "$LOG")"
# shellcheck disable=SC2086
mvn -B -q ${MVN_OPTS_EXTRA:-} -pl transformers test-compile dependency:build-classpath \
    -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test </dev/null >"$LOG" 2>&1 \
    || { tail -n 40 "$LOG" >&2; exit 1; }
CP="$ROOT/transformers/target/test-classes:$ROOT/transformers/target/classes:$(cat "$CP_FILE")"
# The JVM flags of the parent pom (Spark add-opens, DJL offline), read from the pom itself.
FLAGS="$(sed -n 's:.*<sparkbert.jvm.flags>\(.*\)</sparkbert.jvm.flags>.*:\1:p' pom.xml | grep -v '\${' | head -n 1)"
echo "== InferenceBench $*; Spark/engine log: $LOG"
# shellcheck disable=SC2086
OPT_OUT_TRACKING=true java -Xmx6g $FLAGS -Dsparkbert.data="$ROOT/data/uci-sentiment" \
    -cp "$CP" io.sparkbert.inference.InferenceBench "$@" 2>>"$LOG"
