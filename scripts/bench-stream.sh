#!/usr/bin/env bash
# Scheduled scoring of many small files: `score --mode stream` (one available-now run) against
# `score --mode incremental` (one run) on the same input: FILES files (default 2,000) of ROWS JSON
# lines each (default 3), the tiny reference checkpoint (transformers/src/test/resources/
# hf-reference/tinybert), batch size 16, through scripts/sparkbert with a local master (default
# local[2]). Prints the machine, date, load average before and after each run, the wall clock of
# each, the stream run's micro-batches and both row counts. Never gates CI; copy the numbers into
# docs/lab-notes.md and docs/benchmarks.md. The work dir is jobs/target/bench-stream (deleted at the start).
# Usage: scripts/bench-stream.sh [FILES] [ROWS]    Env: SPARKBERT_MASTER (default local[2]).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FILES=${1:-2000}
ROWS=${2:-3}
export SPARKBERT_MASTER=${SPARKBERT_MASTER:-local[2]}
WORK="$ROOT/jobs/target/bench-stream"
MODEL="$ROOT/transformers/src/test/resources/hf-reference/tinybert"
rm -rf "$WORK"
mkdir -p "$WORK/in"
for ((f = 0; f < FILES; f++)); do
  for ((r = 0; r < ROWS; r++)); do
    printf '{"id":"f%05dr%d","text":"review %d of file %d says the food was fine"}\n' \
        "$f" "$r" "$r" "$f"
  done >"$WORK/in/part-$(printf %05d "$f").jsonl"
done
# Build the project now if needed, so that no build lands inside a timed run.
scripts/sparkbert score --help >/dev/null
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ); master $SPARKBERT_MASTER; $FILES files x $ROWS rows"

run() { # $1 = mode, rest = extra flags
  local mode=$1; shift
  echo "== $mode: load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  local t0 t1
  t0=$(date +%s.%N)
  scripts/sparkbert score --model "$MODEL" --input "$WORK/in" --output "$WORK/out-$mode" \
      --batch-size 16 --mode "$mode" "$@" >"$WORK/$mode.out" 2>"$WORK/$mode.log"
  t1=$(date +%s.%N)
  echo "== $mode: $(tail -n 1 "$WORK/$mode.out")"
  echo "== $mode: wall $(echo "$t1 - $t0" | bc) s; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

run stream --checkpoint "$WORK/checkpoint"
python3 - "$WORK/out-stream/_manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
r = m["this_run"]
print(f"== stream: {r['batches']} micro-batches, {r['output_rows']} rows, "
      f"{r['seconds']:.1f} s in micro-batches")
PY
run incremental
