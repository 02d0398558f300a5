#!/usr/bin/env bash
# Inference throughput benchmark (io.sparkbert.inference.InferenceBench, transformers test tree):
# the UCI sentences repeated to 30,000 rows, built-in MiniLM, mean pooling, maxLength 128; the bare
# engine, the Spark path with and without length bucketing, fixed 128 padding and ONNX Runtime in
# one run, plus model load time and memory per model copy. Prints a Markdown table. Then (unless
# --only leaves out embed-job) the wall clock of the real `embed` job on the same rows, through
# scripts/sparkbert (spark-submit, local[2]), start-up and the parquet write included.
# Usage: scripts/bench-inference.sh [--rows N] [--padded-rows N] [--unsorted-rows N] [--batch N] [--max-tokens N]
#                                   [--window N] [--only engine,spark,spark-unsorted,spark-pad128,ort,embed-job]
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

# The embed job itself, timed from the shell: JVM and Spark start-up, model load, scoring, write.
ROWS=30000
BATCH=32
ONLY=""
args=("$@")
for ((i = 0; i + 1 < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --rows) ROWS="${args[$((i + 1))]}" ;;
        --batch) BATCH="${args[$((i + 1))]}" ;;
        --only) ONLY="${args[$((i + 1))]}" ;;
    esac
done
if [[ -z "$ONLY" || ",$ONLY," == *",embed-job,"* ]]; then
    WORK="$ROOT/transformers/target/bench-embed-job"
    rm -rf "$WORK" && mkdir -p "$WORK"
    # shellcheck disable=SC2086
    OPT_OUT_TRACKING=true java $FLAGS -Dsparkbert.data="$ROOT/data/uci-sentiment" -cp "$CP" \
        io.sparkbert.inference.InferenceBench --rows "$ROWS" --write-input "$WORK/input.jsonl" 2>>"$LOG"
    # Build the app first (not timed) so the measurement is the job alone.
    bash scripts/sparkbert embed --help >/dev/null 2>>"$LOG"
    start=$(date +%s.%N)
    bash scripts/sparkbert embed --master 'local[2]' --input "$WORK/input.jsonl" --input-format jsonl \
        --output "$WORK/out" --batch-size "$BATCH" >>"$LOG" 2>&1
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" -v n="$ROWS" -v b="$BATCH" 'BEGIN {
        printf "| embed job (scripts/sparkbert embed, local[2], batch %d), wall clock incl. start-up and write | %.0f sentences/s (%d rows in %.1f s) |\n", b, n / (e - s), n, e - s }'
fi

