#!/usr/bin/env bash
# bench/warm-up.sh — how long the agent's start takes to warm its models' streams on the rows
# its buffer holds (README, "Restarts and new models").
#
#   bench/warm-up.sh --machines N --interval 1s|100ms [--minutes M] [--bin PATH]
#                    [--edge-bench PATH] [--out DIR]
#
# Writes an agent.conf for N simulated machines (about 10 sensors each) polled every
# --interval, calibrates every machine on the simulator's own exported rows (its first 400),
# fills the buffer with M minutes (default 30) of those rows ending now (`edge-bench buffer-fill
# --csv`: the values the detectors would really see), then starts `edge-agent run` (no
# simulator: nothing answers, so the rows it warms with are exactly the buffered ones) and
# prints the journal's warm-up lines: rows taken per machine and the time the one pass over the
# buffer took for all of them. Everything it starts is stopped when it exits.
set -euo pipefail

machines=10 interval=100ms minutes=30 port=15090
bin=.build/release/edge-agent out="" edge_bench=.build/release/edge-bench
while [ $# -gt 0 ]; do
    case "$1" in
        --machines) machines=$2; shift 2 ;;
        --interval) interval=$2; shift 2 ;;
        --minutes) minutes=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        --edge-bench) edge_bench=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "bench/warm-up.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
case "$interval" in
    1s|100ms) step=$interval ;;
    *) echo "bench/warm-up.sh: --interval must be 1s or 100ms" >&2; exit 2 ;;
esac
script=bench/warm-up.sh
source "$(dirname "$0")/start-up.sh"
[ -x "$edge_bench" ] || bench_fail "no edge-bench at $edge_bench: swift build -c release --product edge-bench"
edge_bench=$(realpath "$edge_bench")
bench_use_binary "$bin"
bench_use_output "${out:-bench-out/warm-up-$machines-$interval}"
bench_write_conf "$machines" "$step" "$interval" "$port"

# Exported rows: the minutes the buffer holds, plus a little (no row repeats).
hours=$(awk -v m="$minutes" 'BEGIN { printf "%.3f", m / 60 + 0.02 }')
"$bin" simulate --export "$out/csv" --machines "$machines" --hours "$hours" --step "$step" --faults none > "$out/export.txt"
mkdir -p "$out/data/models"
bench_calibrate_each "$out" --input "$out/csv/{id}.csv" --rows 400 --data-dir "$out/data"
now=$(date -u +%s)
from=$(date -u -d "@$((now - minutes * 60))" +%Y-%m-%dT%H:%M:%SZ)
until=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)
(cd "$out" && "$edge_bench" buffer-fill --config "$conf" --from "$from" --until "$until" --csv "$out/csv") > "$out/fill.txt"
cat "$out/fill.txt"

bench_start_agent
for _ in $(seq 600); do
    [ "$(grep -c 'stream warmed on\|no recent buffered rows' "$out/agent.log" || true)" -ge "$machines" ] && break
    bench_agent_alive "before its streams were warmed"
    sleep 0.2
done
bench_stop_agent
echo "machines=$machines interval=$interval sensors=$sensors minutes=$minutes"
grep 'stream warmed on\|no recent buffered rows' "$out/agent.log" || bench_fail "no warm-up line in $out/agent.log"
