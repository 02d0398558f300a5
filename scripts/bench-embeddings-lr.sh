#!/usr/bin/env bash
# Accuracy of BertEmbeddings (built-in MiniLM, mean pooling) + MLlib LogisticRegression on the UCI
# sentiment 80/20 split (seed 42), tuned like the TF-IDF baseline (io.sparkbert.feature.
# EmbeddingsLrBaseline, transformers test tree). Prints a Markdown table row.
# Usage: scripts/bench-embeddings-lr.sh [spark master, default local[2]]
# Env: MVN_OPTS_EXTRA (e.g. "-o" to stay offline). Never gates CI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MASTER="${1:-local[2]}"
cd "$ROOT"
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ)"
bash scripts/fetch-data.sh >/dev/null
LOG="$ROOT/transformers/target/embeddings-lr.log"
CP_FILE="$ROOT/transformers/target/bench-classpath.txt"
mkdir -p "$(dirname "$LOG")"
# shellcheck disable=SC2086
mvn -B -q ${MVN_OPTS_EXTRA:-} -pl transformers test-compile dependency:build-classpath \
    -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test </dev/null >"$LOG" 2>&1 \
    || { tail -n 40 "$LOG" >&2; exit 1; }
CP="$ROOT/transformers/target/test-classes:$ROOT/transformers/target/classes:$(cat "$CP_FILE")"
FLAGS="$(sed -n 's:.*<sparkbert.jvm.flags>\(.*\)</sparkbert.jvm.flags>.*:\1:p' pom.xml | grep -v '\${' | head -n 1)"
echo "== EmbeddingsLrBaseline ($MASTER); Spark log: $LOG"
# shellcheck disable=SC2086
OPT_OUT_TRACKING=true java -Xmx4g $FLAGS -Dsparkbert.data="$ROOT/data/uci-sentiment" \
    -cp "$CP" io.sparkbert.feature.EmbeddingsLrBaseline "$MASTER" 2>>"$LOG"
