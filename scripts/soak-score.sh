#!/usr/bin/env bash
# Soak benchmark (io.sparkbert.jobs.SoakBench, jobs test tree; never gates CI):
#   1. score: ScoreJob in local[1] (one JVM is driver and the one executor) over --rows generated
#      texts (default 200,000, 50 files = 50 tasks, 10% long texts that get truncated), the tiny
#      reference checkpoint unless --model DIR is given;
#   2. train: the Trainer for --rounds x (256 examples / batch 8) steps on the tiny checkpoint.
# A background thread samples the JVM every --interval seconds: RSS (/proc/self/status), live
# NDArrays of the whole engine, open file descriptors (/proc/self/fd) and threads. Each phase prints
# a Markdown table of samples; they must level off (copy them into docs/lab-notes.md and update the table in docs/benchmarks.md).
# An outside view of the same JVM (ps RSS / fds / threads every --interval s) goes to
# jobs/target/soak/proc-samples.tsv as a cross-check of the in-process numbers.
# Usage: scripts/soak-score.sh [score|train|both] [--rows N] [--rounds N] [--interval S] [--model DIR]
# Env: MVN_OPTS_EXTRA (e.g. "-o" to stay offline).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
what=${1:-both}
case "$what" in score|train|both) shift || true ;; *) what=both ;; esac
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ)"
WORK="$ROOT/jobs/target/soak"
LOG="$WORK/soak.log"
CP_FILE="$WORK/classpath.txt"
mkdir -p "$WORK"
# shellcheck disable=SC2086
mvn -B -q ${MVN_OPTS_EXTRA:-} -pl jobs -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test </dev/null >"$LOG" 2>&1 \
    || { tail -n 40 "$LOG" >&2; exit 1; }
CP="$ROOT/jobs/target/test-classes:$ROOT/jobs/target/classes"
CP="$CP:$ROOT/transformers/target/test-classes:$ROOT/transformers/target/classes:$(cat "$CP_FILE")"
FLAGS="$(sed -n 's:.*<sparkbert.jvm.flags>\(.*\)</sparkbert.jvm.flags>.*:\1:p' pom.xml | grep -v '\${' | head -n 1)"
interval=5
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = --interval ] && interval=${args[$((i + 1))]}
done

run() { # $1 = score|train, rest = SoakBench options
  local mode=$1; shift
  echo "== SoakBench $mode $*; Spark/engine log: $LOG"
  # shellcheck disable=SC2086
  OPT_OUT_TRACKING=true java -Xmx3g $FLAGS -Dsparkbert.fixtures="$ROOT/transformers/src/test/resources/hf-reference" \
      -cp "$CP" io.sparkbert.jobs.SoakBench "$mode" --work "$WORK" "$@" 2>>"$LOG" &
  local pid=$!
  local tsv="$WORK/proc-samples-$mode.tsv"
  printf 'seconds\trss_mib\tfds\tthreads\n' >"$tsv"
  local s=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ -r "/proc/$pid/status" ]; then
      rss=$(awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || echo -)
      thr=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo -)
      fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
      printf '%s\t%s\t%s\t%s\n' "$s" "$rss" "$fds" "$thr" >>"$tsv"
    fi
    sleep "$interval"; s=$((s + interval))
  done
  wait "$pid"
  echo "== outside samples: $tsv"
}

# SoakBench ignores options it does not use, so both phases take the same list.
[ "$what" = train ] || run score "$@"
[ "$what" = score ] || run train "$@"
