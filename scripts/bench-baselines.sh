#!/usr/bin/env bash
# Runs the baseline benchmarks on the UCI sentiment 80/20 split (seed 42) and prints their scores.
# Today: TF-IDF + logistic regression on MLlib (io.sparkbert.data.TfIdfBaseline, test tree of the
# transformers module). Fetches the demo data first if needed (npm registry).
# Usage: scripts/bench-baselines.sh [spark master, default local[2]]
# Env: MVN_OPTS_EXTRA (e.g. "-o" to stay offline).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MASTER="${1:-local[2]}"
cd "$ROOT"
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ)"
LOG="$ROOT/transformers/target/tfidf-baseline.log"
mkdir -p "$(dirname "$LOG")"
echo "== TF-IDF + LogisticRegression (MLlib, $MASTER); Spark log: $LOG"
# Spark logs INFO to stderr; keep it in a file and show its tail only on failure.
# shellcheck disable=SC2086
if ! mvn -B -q -Dstyle.color=never ${MVN_OPTS_EXTRA:-} -pl transformers test-compile exec:exec@tfidf-baseline \
    -Dbench.master="$MASTER" </dev/null 2>"$LOG"; then
    tail -n 40 "$LOG" >&2
    exit 1
fi
