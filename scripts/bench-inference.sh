#!/usr/bin/env bash
# Inference throughput benchmark (io.sparkbert.inference.InferenceBench, transformers test tree):
# the UCI sentences repeated to 30,000 rows, built-in MiniLM, mean pooling, maxLength 128; the bare
# engine, the Spark path with and without length bucketing, fixed 128 padding and ONNX Runtime in
# one run, plus model load time and memory per model copy. Prints a Markdown table. Then (unless
# --only leaves them out) two wall clocks on the same rows, start-up and the write included: the
# real `embed` job through scripts/sparkbert (spark-submit, local[2], Parquet out) and `ort-job`,
# the same work in one plain JVM with ONNX Runtime (raw float32 out). --window applies to every leg,
# the two jobs included (default: the stages' default window).
# --model NAME picks the built-in for the in-JVM legs (engine, spark*, ort: the same ONNX file);
# the two job legs always use the default model.
# Usage: scripts/bench-inference.sh [--model default|bge-small-en-v1.5|e5-small-v2] [--rows N] [--padded-rows N] [--unsorted-rows N] [--batch N] [--max-tokens N]
#                                   [--window N] [--only engine,spark,spark-unsorted,spark-pad128,ort,embed-job,ort-job]
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
WINDOW=""
args=("$@")
for ((i = 0; i + 1 < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --rows) ROWS="${args[$((i + 1))]}" ;;
        --batch) BATCH="${args[$((i + 1))]}" ;;
        --only) ONLY="${args[$((i + 1))]}" ;;
        --window) WINDOW="${args[$((i + 1))]}" ;;
    esac
done
want() { [[ -z "$ONLY" || ",$ONLY," == *",$1,"* ]]; }
WORK="$ROOT/transformers/target/bench-embed-job"
if want embed-job || want ort-job; then
    rm -rf "$WORK" && mkdir -p "$WORK"
    # shellcheck disable=SC2086
    OPT_OUT_TRACKING=true java $FLAGS -Dsparkbert.data="$ROOT/data/uci-sentiment" -cp "$CP" \
        io.sparkbert.inference.InferenceBench --rows "$ROWS" --write-input "$WORK/input.jsonl" 2>>"$LOG"
fi
timed() { # label rows command...: runs the command, prints a table row with its wall clock
    local label="$1" n="$2" start end
    shift 2
    start=$(date +%s.%N)
    "$@" >>"$LOG" 2>&1
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" -v n="$n" -v l="$label" 'BEGIN {
        printf "| %s, wall clock incl. start-up and write | %.0f sentences/s (%d rows in %.1f s) |\n", l, n / (e - s), n, e - s }'
}
if want embed-job; then
    # Build the app and record its class-data-sharing archive first (a 10-row run, not timed), so
    # the measurement is the job alone.
    head -n 10 "$WORK/input.jsonl" >"$WORK/warm.jsonl"
    bash scripts/sparkbert embed --master 'local[2]' --input "$WORK/warm.jsonl" --input-format jsonl \
        --output "$WORK/warm-out" >>"$LOG" 2>&1
    timed "embed job (scripts/sparkbert embed, local[2], batch $BATCH)" "$ROWS" \
        bash scripts/sparkbert embed --master 'local[2]' --input "$WORK/input.jsonl" --input-format jsonl \
        --output "$WORK/out" --batch-size "$BATCH" ${WINDOW:+--window-size "$WINDOW"}
fi
if want ort-job; then
    # The same work with ONNX Runtime and no Spark: one JVM reads the same JSON lines, embeds them
    # with the same tokenizer, bucketing and two workers, and writes raw float32 vectors.
    # shellcheck disable=SC2086
    timed "ONNX Runtime job (same input, one JVM, no Spark, batch $BATCH)" "$ROWS" \
        env OPT_OUT_TRACKING=true java $FLAGS -cp "$CP" io.sparkbert.inference.InferenceBench \
        --batch "$BATCH" ${WINDOW:+--window "$WINDOW"} --ort-job-input "$WORK/input.jsonl" \
        --ort-job-output "$WORK/ort-out.bin"
fi
