#!/usr/bin/env bash
# scripts/test-under-load.sh — runs tests repeatedly beside busy loops, to find the tests that
# fail only when the machine is busy (README, "Running the tests under load").
#
#   scripts/test-under-load.sh [--rounds N] [--busy N] [--filter REGEX] [--no-build]
#
# Builds the tests once (unless --no-build), starts N busy loops (`stress --cpu N` where
# installed, else `yes > /dev/null`; default 2, one per core of the CI machine), runs
# `swift test --skip-build [--filter REGEX]` --rounds times (default 5), and prints per round
# its status, its wall time, the load average and the tests that failed. Each round's output
# is kept in test-under-load/round-N.log. Exits 1 when any round failed.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=5
busy=2
filter=""
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --busy) busy=$2; shift 2 ;;
        --filter) filter=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        *) echo "usage: $0 [--rounds N] [--busy N] [--filter REGEX] [--no-build]" >&2; exit 2 ;;
    esac
done

[ "$build" = 1 ] && swift build --build-tests
mkdir -p test-under-load

loops=()
stop_loops() { for pid in "${loops[@]}"; do kill -- "-$pid" 2>/dev/null || true; done; }
trap stop_loops EXIT
for _ in $(seq 1 "$busy"); do
    if command -v stress >/dev/null; then
        setsid stress --cpu 1 >/dev/null 2>&1 &
    else
        setsid sh -c 'yes > /dev/null' &
    fi
    loops+=("$!")
done

failed=0
for round in $(seq 1 "$rounds"); do
    log="test-under-load/round-$round.log"
    start=$(date +%s)
    status=0
    if [ -n "$filter" ]; then
        swift test --skip-build --filter "$filter" >"$log" 2>&1 || status=$?
    else
        swift test --skip-build >"$log" 2>&1 || status=$?
    fi
    [ "$status" = 0 ] || failed=1
    failures=$(grep -aE '✘ Test .*(failed|recorded)' "$log" | grep -ao 'Test [^ ]*' | sort -u | tr '\n' ' ' || true)
    echo "round $round: status $status, $(( $(date +%s) - start )) s, load $(cut -d' ' -f1 /proc/loadavg), busy loops $busy ${failures:+failed: $failures}"
done
exit "$failed"
