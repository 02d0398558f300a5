#!/usr/bin/env bash
# Fine-tunes a built-in encoder (default: the `default` built-in, e5-small-v2 since 2026-12-05, MiniLM before; params model=NAME for another) with BertClassifier on the UCI sentiment 80/20 split (seed 42) on
# the CPU, then prints test accuracy, weighted F1, AUC, training samples/s and wall times
# (io.sparkbert.classification.FineTuneBenchmark, test tree of the transformers module).
# Takes minutes on 2 cores: a benchmark, never part of CI. Fetches the demo data first if needed.
# Usage: scripts/bench-finetune.sh [master, default local[2]] [groupByLength, default true (the estimator default)] [seed, default 42]
#                                  [params, e.g. epochs=4,learningRate=8e-5 (estimator params, JSON values)]
# Env: MVN_OPTS_EXTRA (e.g. "-o" to stay offline).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MASTER="${1:-local[2]}"
GROUP="${2:-true}"
SEED="${3:-42}"
PARAMS="${4:-}"
cd "$ROOT"
"$ROOT/scripts/fetch-data.sh" >/dev/null
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ)"
LOG="$ROOT/transformers/target/finetune-benchmark.log"
mkdir -p "$(dirname "$LOG")"
echo "== BertClassifier, $MASTER, groupByLength=$GROUP, seed=$SEED, params=${PARAMS:-defaults}; log: $LOG"
# shellcheck disable=SC2086
if ! mvn -B -q -Dstyle.color=never ${MVN_OPTS_EXTRA:-} -pl transformers test-compile exec:exec@finetune-benchmark \
    -Dbench.master="$MASTER" -Dbench.groupByLength="$GROUP" -Dbench.seed="$SEED" -Dbench.params="$PARAMS" </dev/null 2>"$LOG"; then
    tail -n 40 "$LOG" >&2
    exit 1
fi
