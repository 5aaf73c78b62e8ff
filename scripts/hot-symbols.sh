#!/usr/bin/env bash
# scripts/hot-symbols.sh — regenerate scripts/edge-agent.order, the functions `edge-agent run`
# executes, which scripts/build-static.sh asks the linker to place first and together.
#
#   scripts/hot-symbols.sh [--bin PATH] [--seconds S] [--out FILE] [--profile FILE]
#
# Runs the agent the way bench/agent.sh does at 98 sensors × 10 Hz (10 simulated machines polled
# every 100 ms, every machine calibrated, a summary every minute), under valgrind's callgrind for
# S seconds (default 150: start-up, model loading, steady polling, scoring, alerts, status
# writes, the periodic summaries, shutdown), then
# lists every function of the binary callgrind saw executed, the most executed first
# (scripts/callgrind-symbols.py). --bin must be an unstripped static agent
# (scripts/build-static.sh); valgrind 3.19 cannot read the DWARF 5 debug info, so a copy without
# it is profiled (the symbol table is kept). --profile keeps callgrind's profile (and the agent's
# log beside it, FILE.agent.log), e.g. to compare two builds' instructions per scored row with
# bench/callgrind-rows.py. With --profile, callgrind also keeps every call of `malloc` with up to
# 40 of its callers (--separate-callers40=malloc), so that bench/malloc-rows.py can tell who
# asked for each allocation, exactly, not in proportion to calls.
#
# Why: the kernel maps a program's pages in 64 KB chunks (fault-around, and whole page-cache
# folios), and the functions `run` executes are scattered over the 12 MB of code among ones it
# never calls (the simulator, the other subcommands, unused library code), so nearly all of the
# code becomes resident. Placed together they take a few hundred chunks instead of thousands.
# The list depends on names, not addresses: regenerate it when the code changed much (a function
# missing from it still works, it is only placed with the cold code).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build-static/release/edge-agent seconds=150 order=scripts/edge-agent.order port=15090 profile=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --out) order=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --profile) profile=$(realpath -m "$2"); shift 2 ;;
        *) echo "scripts/hot-symbols.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
script=scripts/hot-symbols.sh
source bench/start-up.sh
bench_need valgrind objcopy python3
bench_use_binary "$bin"
work=$(mktemp -d /tmp/hot-symbols.XXXXXX)
trap 'bench_stop_all; rm -rf "$work"' EXIT

objcopy --strip-debug "$bin" "$work/edge-agent"
bin=$work/edge-agent
# bench/agent.sh writes the configuration and calibrates the machines; a short run is enough.
# A summary every minute: the periodic summaries' code (reading the period, statistics, the
# HTML/JSON/CSV files) runs in the profile too and is placed with the rest, so that a summary
# faults in a few contiguous chunks instead of scattered ones (docs/performance.md).
bench/agent.sh --bin "$bin" --machines 10 --interval 100ms --warmup 6 --windows 1 --window 5 \
    --summary-interval 1m --port "$port" --out "$work/setup" > /dev/null
rm -rf "$work/setup/data/edge-agent."* "$work/setup/summaries" "$work/setup/alerts.jsonl"

bench_start_simulator "$work/setup/simulator.log" --machines 10 --step 100ms --port "$port" --control-port 0
cd "$work/setup"
# SIGTERM after S seconds: the agent stops gracefully and callgrind writes its profile.
contexts=()
[ -n "$profile" ] && contexts=(--separate-callers40=malloc)
timeout -s TERM "$seconds" valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    --dump-instr=no --demangle=no "${contexts[@]}" "$work/edge-agent" run --config agent.conf > agent.log 2>&1 || true
cd - > /dev/null
[ -s "$work/callgrind.out" ] || { echo "scripts/hot-symbols.sh: callgrind wrote no profile:" >&2; tail -20 "$work/setup/agent.log" >&2; exit 1; }
if [ -n "$profile" ]; then cp "$work/callgrind.out" "$profile"; cp "$work/setup/agent.log" "$profile.agent.log"; fi
python3 scripts/callgrind-symbols.py "$work/callgrind.out" "$work/edge-agent" > "$order"
echo "scripts/hot-symbols.sh: $(wc -l < "$order") functions executed in $seconds s, written to $order"
