#!/usr/bin/env bash
# The EdgeAgent demo (`make demo`): the built-in simulator serves three machines over Modbus
# TCP on 127.0.0.1, the agent polls them with the repository's agent.conf, each machine is
# calibrated few-shot on its first minute of (5× accelerated) normal operation, then faults
# are injected and the alerts they raise are shown as they fire. About two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.build/release/edge-agent}
CONFIG=${CONFIG:-agent.conf}
OUT=demo-out
SPEED=5
CALIBRATION_SECONDS=${CALIBRATION_SECONDS:-60}
NORMAL_SECONDS=${NORMAL_SECONDS:-20}
FAULT_SECONDS=${FAULT_SECONDS:-20}
MACHINES=(pump-1 motor-1 compressor-1)
# machine, fault, how it is written to the simulator's control port
FAULTS=(
  "pump-1|inlet valve closing|inject pump-1 inlet-valve-closing severity=0.9 for=5m"
  "compressor-1|overheating|inject compressor-1 overheating severity=1 for=5m"
  "motor-1|rotor imbalance|inject motor-1 imbalance severity=1 for=5m"
)

say() { printf '\033[1m%s\033[0m\n' "$*"; }
step() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }

[ -x "$BIN" ] || { echo "build first: swift build -c release (or make demo)"; exit 1; }
for port in 5020 5021; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "port $port on 127.0.0.1 is in use (another simulator?); stop it and run again"; exit 1
  fi
done

rm -rf "$OUT"
mkdir -p "$OUT"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

control() {  # one command to the simulator's control port; prints its answer
  exec 3<>/dev/tcp/127.0.0.1/5021
  printf '%s\n' "$1" >&3
  timeout 2 head -n1 <&3 || true
  exec 3>&-
}

status_field() {  # a number from `edge-agent status --json`
  "$BIN" status --config "$CONFIG" --json 2>/dev/null | grep -o "\"$1\":[0-9]*" | head -n1 | cut -d: -f2
}

# Prints each new alert-log line as one readable line; returns the number of lines seen.
SEEN=0
show_alerts() {
  local log="$OUT/alerts.jsonl" total
  [ -f "$log" ] || return 0
  total=$(wc -l < "$log")
  if [ "$total" -gt "$SEEN" ]; then
    tail -n +"$((SEEN + 1))" "$log" | head -n "$((total - SEEN))" | while IFS= read -r line; do
      event=$(grep -o '"event":"[a-z]*"' <<<"$line" | cut -d'"' -f4)
      machine=$(grep -o '"machine":"[^"]*"' <<<"$line" | head -n1 | cut -d'"' -f4)
      kind=$(grep -o '"kind":"[a-z_]*"' <<<"$line" | cut -d'"' -f4)
      severity=$(grep -o '"severity":"[a-z]*"' <<<"$line" | cut -d'"' -f4)
      score=$(grep -o '"peak_score":[0-9.e+-]*' <<<"$line" | cut -d: -f2)
      threshold=$(grep -o '"threshold":[0-9.e+-]*' <<<"$line" | head -n1 | cut -d: -f2)
      sensors=$(grep -o '"sensor":"[^"]*"' <<<"$line" | cut -d'"' -f4 | paste -sd, -)
      printf '  \033[1;31mALERT %-7s\033[0m %-13s %-8s %-8s score %.2f (threshold %.2f)  sensors: %s\n' \
        "$event" "$machine" "$kind" "$severity" "$score" "$threshold" "${sensors:--}"
    done
    SEEN=$total
  fi
}

DEMO_START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
step "1. Simulator: 3 machines on Modbus TCP 127.0.0.1:5020, ${SPEED}× real time"
"$BIN" simulate --speed "$SPEED" --port 5020 --control-port 5021 > "$OUT/simulator.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q "^ready" "$OUT/simulator.log" 2>/dev/null && break; sleep 0.2; done
grep -E "^  unit" "$OUT/simulator.log" || true

step "2. Agent: edge-agent run --config $CONFIG (log in $OUT/agent.log)"
"$BIN" run --config "$CONFIG" > "$OUT/agent.log" 2>&1 &
AGENT=$!
PIDS+=($AGENT)
sleep 2
grep -E "agent running" "$OUT/agent.log" | sed 's/^[^ ]* [a-z]* edge-agent: /  /' || { cat "$OUT/agent.log"; exit 1; }
say "  machines are not calibrated yet: readings are buffered, not scored"

step "3. Collecting ${CALIBRATION_SECONDS}s of normal operation (load changes included)"
# The stretch calibration will use, from now to the end of this step, whenever calibrate starts:
# "--last 60s" counted from calibrate's own start, which a slow machine delays.
COLLECT_FROM=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
for ((t = 10; t <= CALIBRATION_SECONDS; t += 10)); do
  sleep 10
  printf '  %3ds: %s readings buffered\n' "$t" "$(status_field readings_committed)"
done
COLLECT_UNTIL=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)

step "4. Few-shot calibration of each machine on that minute"
# The simulator runs ${SPEED}× real time, so this minute is ${SPEED} simulated minutes; calibrate counts
# the buffer's own clock (1 minute) and would refuse so little data on a real machine (it alerts
# every few minutes: README, "How much calibration data"). --force stores it anyway, with the warning.
say "  (${CALIBRATION_SECONDS} s of buffer = $((CALIBRATION_SECONDS * SPEED / 60)) simulated minutes; on a real machine calibrate refuses this little without --force)"
for m in "${MACHINES[@]}"; do
  "$BIN" calibrate --config "$CONFIG" --machine "$m" --from "$COLLECT_FROM" --until "$COLLECT_UNTIL" --force | sed 's/^/  /'
done
sleep 2
grep -E "new model loaded" "$OUT/agent.log" | sed 's/^[^ ]* [a-z]* edge-agent: /  agent: /' || true

step "5. Normal operation, scored (${NORMAL_SECONDS}s): alerts here would be false alarms"
for ((t = 5; t <= NORMAL_SECONDS; t += 5)); do
  sleep 5
  show_alerts
  printf '  %3ds: %s windows scored\n' "$t" "$(status_field windows_scored)"
done

step "6. Injecting faults, one machine at a time"
declare -A INJECTED_AT
for entry in "${FAULTS[@]}"; do
  IFS='|' read -r machine name command <<<"$entry"
  INJECTED_AT[$machine]=$(date -u +%s)
  say "  $(date -u +%H:%M:%S) inject: $machine — $name"
  printf '  simulator: %s\n' "$(control "$command")"
  for ((t = 0; t < FAULT_SECONDS; t += 2)); do sleep 2; show_alerts; done
done

step "7. Stopping (SIGTERM: the agent flushes every reading and alert)"
control "clear all" > /dev/null || true
kill -TERM "$AGENT"
wait "$AGENT" && echo "  agent exited cleanly" || echo "  agent exit status $?"
show_alerts

step "8. Summary files of the demo period (edge-agent summarize)"
for m in "${MACHINES[@]}"; do
  "$BIN" summarize --config "$CONFIG" --machine "$m" --from "$DEMO_START" --until "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --output "$OUT/summaries" | sed 's/^/  /' || true
done

step "Results"
# An alert counts for a fault when it is raised, or escalates to critical, on that machine after the
# injection; an anomaly alert raised on a machine before its fault is a false alarm.
epoch_ms() { date -u -d "$1" +%s%3N; }
printf '  %-14s %-22s %-40s\n' machine "fault injected" "alert after injection"
DETECTED=0
FALSE_ALARMS=0
for entry in "${FAULTS[@]}"; do
  IFS='|' read -r machine name command <<<"$entry"
  injected_ms=$((INJECTED_AT[$machine] * 1000))
  hit=""
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    t=$(grep -o '"time":"[^"]*"' <<<"$line" | cut -d'"' -f4)
    event=$(grep -o '"event":"[a-z]*"' <<<"$line" | cut -d'"' -f4)
    severity=$(grep -o '"severity":"[a-z]*"' <<<"$line" | cut -d'"' -f4)
    ms=$(epoch_ms "$t")
    if [ "$ms" -lt "$injected_ms" ]; then
      [ "$event" = raised ] && FALSE_ALARMS=$((FALSE_ALARMS + 1))
    elif [ -z "$hit" ] && { [ "$event" = raised ] || [ "$severity" = critical ]; }; then
      hit="$event ($severity) at $t, $(( (ms - injected_ms) / 1000 )) s after"
    fi
  done < <(grep '"kind":"anomaly"' "$OUT/alerts.jsonl" 2>/dev/null | grep "\"machine\":\"$machine\"" || true)
  if [ -n "$hit" ]; then
    DETECTED=$((DETECTED + 1))
    printf '  %-14s %-22s %s\n' "$machine" "$name" "$hit"
  else
    printf '  %-14s %-22s %s\n' "$machine" "$name" "none"
  fi
done
echo "  faults detected: $DETECTED of ${#FAULTS[@]}; false alarms (anomaly alerts raised before a machine's fault): $FALSE_ALARMS"
echo
echo "  alert log:   $OUT/alerts.jsonl   (edge-agent alerts --config $CONFIG)"
echo "  buffer:      $OUT/data/edge-agent.db   (edge-agent status --config $CONFIG)"
echo "  models:      $OUT/data/models/"
echo "  metrics:     $OUT/data/edge-agent.prom"
echo "  summaries:   $OUT/summaries/"
echo "  logs:        $OUT/agent.log, $OUT/simulator.log"
