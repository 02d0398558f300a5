#!/usr/bin/env bash
# Fine-tuning speed relative to inference speed, measured in one run on the same machine:
#   1. the `embed` job on 9,000 UCI sentences (the 3,000 demo sentences three times):
#      sentences/s from its _manifest.json;
#   2. the `train` job on 800 UCI rows, 1 epoch, otherwise the defaults of conf/train.conf:
#      samples/s of the fine-tuning epoch from its metrics.json (the linear probe, Spark start and
#      saving are not in it), and the ratio train samples/s / embed sentences/s;
#   3. the same train job with --freeze-word-embeddings true, and with --group-by-length false
#      (random batches padded to their longest text, the default until 2026-12-05).
# For each train job also: the user and system CPU seconds of the training epoch itself (from
# /proc, between the trainer's log lines) with the system share and CPU-ms per sample, and the whole
# process's wall, user and system seconds (Spark start, linear probe and saving included). Absolute numbers depend on the machine's load, so the load
# average is printed next to every measurement: compare ratios, and repeat when the load changed.
# A benchmark, never part of CI. Fetches the demo data first if needed (npm registry).
# Both jobs start from the same encoder: --model NAME (default `default`, e5-small-v2 since
# 2026-12-05 23:00 UTC; the earlier runs in docs/benchmarks.md are MiniLM's).
# Usage: scripts/bench-train-speed.sh [--master URL, default local[2]] [--repeat N, default 1]
#                                     [--model NAME, default default]
# Env: SPARKBERT_JAVA_OPTS etc. are passed on to scripts/sparkbert unchanged.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
master="local[2]"
repeat=1
model=default
while [ $# -gt 0 ]; do
  case "$1" in
    --master) master=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    *) echo "bench-train-speed: unknown option '$1' (use --master URL, --repeat N, --model NAME)" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
bash "$ROOT/scripts/fetch-data.sh" >/dev/null
WORK="$ROOT/jobs/target/bench-train-speed"
rm -rf "$WORK"
mkdir -p "$WORK"
# Inputs as JSON lines: 9,000 texts to embed, 800 labelled rows (the first 800 of amazon, imdb,
# yelp in turn, so all three sources are in) to train on.
node - "$ROOT/data/uci-sentiment" "$WORK" <<'JS'
const fs = require("fs");
const path = require("path");
const [dir, out] = process.argv.slice(2);
const rows = [];
for (const name of ["amazon", "imdb", "yelp"]) {
  const all = JSON.parse(fs.readFileSync(path.join(dir, name + ".json"), "utf8"));
  rows.push(all.filter((r) => r.class === 0 || r.class === 1));
}
const mixed = [];
for (let i = 0; i < 1000; i++) for (const r of rows) mixed.push(r[i]);
const line = (r) => JSON.stringify({ text: r.text, label: r.class });
fs.writeFileSync(path.join(out, "train-800.jsonl"), mixed.slice(0, 800).map(line).join("\n") + "\n");
const texts = [];
for (let k = 0; k < 3; k++) for (const r of mixed) texts.push(JSON.stringify({ text: r.text }));
fs.writeFileSync(path.join(out, "embed-9000.jsonl"), texts.join("\n") + "\n");
JS

echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ)"
load() { cut -d' ' -f1-3 /proc/loadavg; }
json() { # $1 = file, $2 = top-level key
  node -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(m[process.argv[2]]);' "$1" "$2"
}
# epoch_cpu LOG OUTDIR: waits for the trainer's "Fine-tuning" log line, then prints the training
# JVM's user and system CPU seconds (/proc/PID/stat) spent until its "epoch 1/1:" line: the
# epoch's own CPU cost, which a busy machine disturbs less than its wall time.
epoch_cpu() {
  local log=$1 out=$2 pid="" a="" b=""
  while [ -z "$b" ]; do
    sleep 0.2
    if [ -z "$a" ] && grep -q "Fine-tuning" "$log" 2>/dev/null; then
      pid=$(pgrep -f -- "--output $out" | while read -r p; do
        grep -q java "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done | head -n 1)
      [ -n "$pid" ] && a=$(awk '{print $14, $15}' "/proc/$pid/stat")
    fi
    if [ -n "$a" ] && grep -q "epoch 1/1:" "$log" 2>/dev/null; then
      b=$(awk '{print $14, $15}' "/proc/$pid/stat")
    fi
    if [ -n "$pid" ] && [ ! -d "/proc/$pid" ]; then break; fi
    if [ -z "$pid" ] && [ -f "$out/metrics.json" ]; then break; fi
    kill -0 "$$" 2>/dev/null || break
  done
  [ -n "$b" ] && echo "$a $b"
}
# timed LOG cmd...: runs cmd with its output in LOG; sets wall, user and sys (seconds, children).
timed() {
  local log=$1; shift
  local t
  t=$( { TIMEFORMAT='%R %U %S'; time "$@" >"$log" 2>&1; } 2>&1 ) \
    || { tail -n 30 "$log" >&2; echo "bench-train-speed: failed: $*" >&2; exit 1; }
  read -r wall user sys <<<"$t"
}

for ((r = 1; r <= repeat; r++)); do
  echo "== run $r of $repeat, master $master, model $model"
  out="$WORK/embed-$r"
  l0=$(load)
  timed "$WORK/embed-$r.log" "$ROOT/scripts/sparkbert" embed --master "$master" \
    --model "$model" --input "$WORK/embed-9000.jsonl" --output "$out"
  embed=$(json "$out/_manifest.json" sentences_per_second)
  printf 'embed   9000 sentences: %8.1f sentences/s  (wall %s s; load before %s, after %s)\n' \
    "$embed" "$wall" "$l0" "$(load)"
  # the defaults; frozen word embeddings; random (not length-grouped) batches
  for variant in defaults freeze-word-embeddings=true group-by-length=false; do
    flags=()
    [ "$variant" = defaults ] || flags=("--${variant%%=*}" "${variant#*=}")
    out="$WORK/train-$variant-$r"
    l0=$(load)
    epoch_cpu "$WORK/train-$variant-$r.log" "$out" >"$WORK/train-$variant-$r.cpu" &
    watcher=$!
    timed "$WORK/train-$variant-$r.log" "$ROOT/scripts/sparkbert" train --master "$master" \
      --model "$model" --input "$WORK/train-800.jsonl" --output "$out" --epochs 1 ${flags[@]+"${flags[@]}"}
    wait "$watcher" || true
    rate=$(json "$out/metrics.json" samples_per_second)
    printf 'train   800 rows, %-28s: %6.1f samples/s  ratio %.3f\n' \
      "$variant" "$rate" "$(echo "$rate / $embed" | bc -l)"
    read -r u0 s0 u1 s1 <"$WORK/train-$variant-$r.cpu" || true
    if [ -n "${s1:-}" ]; then
      awk -v u0="$u0" -v s0="$s0" -v u1="$u1" -v s1="$s1" -v t="$(getconf CLK_TCK)" 'BEGIN {
        u = (u1 - u0) / t; s = (s1 - s0) / t
        printf "        the epoch: user %.1f s, sys %.1f s CPU (sys share %.0f%%), %.1f CPU-ms per sample\n",
          u, s, 100 * s / (u + s), 1000 * (u + s) / 800 }'
    fi
    printf '        the process: wall %s s, user %s s, sys %s s; load before %s, after %s\n' \
      "$wall" "$user" "$sys" "$l0" "$(load)"
  done
done
