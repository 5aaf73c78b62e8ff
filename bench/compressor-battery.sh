#!/usr/bin/env bash
# bench/compressor-battery.sh — every compressor fault on simulated compressors 1–24, polled every
# 100 ms and every 1 s, settled and not: how many of the 24 each fault alerts on, and how many
# alert in their normal stretch (`edge-bench vibration-faults`: calibrated on 10 minutes, 10 more
# normal minutes, then 10 minutes with the fault; read its doc comment). The figures
# docs/detection.md and docs/load-prior.md quote as "the compressor battery".
#
#   bench/compressor-battery.sh [--no-build] [--out DIR] [--seeds FIRST-LAST] [--fault KIND]... [-- EXTRA edge-bench ARGS]
#
# Prints one line per fault: caught of N at 100 ms settled / unsettled, 1 s settled / unsettled,
# then the normal-stretch alerts of the same runs. Each run's whole output goes to
# DIR/FAULT-STEPms-settle|no-settle.txt (default bench-out/compressor-battery) so two batteries
# compare per seed with `diff -r`. Release build (scripts/build-release.sh) unless --no-build.
# About 2 minutes on this 2-core machine once built.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
out=bench-out/compressor-battery
seeds=1-24
faults=()
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0 ;;
        --out) out="$2"; shift ;;
        --seeds) seeds="$2"; shift ;;
        --fault) faults+=("$2"); shift ;;
        --) shift; extra=("$@"); break ;;
        *) echo "compressor-battery: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
if [ ${#faults[@]} -eq 0 ]; then
    faults=(bearing-wear inlet-valve-closing outlet-valve-closing imbalance overheating leak
            sensor-stuck sensor-drift sensor-spike sensor-dropout)
fi
if [ "$build" = 1 ]; then
    SWIFT="${SWIFT:-swift}" scripts/build-release.sh --product edge-bench >&2
fi
bench=.build/release/edge-bench
mkdir -p "$out"
printf '%-22s %-34s %s\n' "fault ($seeds)" "caught: 100ms set/unset, 1s set/unset" "normal-stretch alerting, same order"
for fault in "${faults[@]}"; do
    caught=() normal=()
    for step in 100 1000; do
        for settle in settle no-settle; do
            file="$out/$fault-${step}ms-$settle.txt"
            "$bench" vibration-faults --kind compressor --seeds "$seeds" --step-ms "$step" --fault "$fault" "--$settle" ${extra[@]+"${extra[@]}"} > "$file"
            # The last line: "compressor: the fault alerts on X of N; Y of N alert in the normal stretch"
            line=$(grep '^compressor: the fault alerts on' "$file" | tail -1)
            caught+=("$(sed -E 's/.*alerts on ([0-9]+ of [0-9]+);.*/\1/' <<< "$line")")
            normal+=("$(sed -E 's/.*; ([0-9]+) of [0-9]+ alert in the normal stretch.*/\1/' <<< "$line")")
        done
    done
    printf '%-22s %-34s %s\n' "$fault" "$(IFS=/; echo "${caught[*]}" | sed 's#/# / #g')" "$(IFS=/; echo "${normal[*]}" | sed 's#/# / #g')"
done
