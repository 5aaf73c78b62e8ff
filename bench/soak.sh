#!/usr/bin/env bash
# bench/soak.sh — a long run of the whole agent against the simulator with faults injected.
#
#   SOAK_MINUTES=60 bench/soak.sh [--bin PATH] [--out DIR] [--machines N] [--fault-every S]
#                                 [--fault-for S] [--port P] [--summary-interval D]
#                                 [--calibrate-last D]
#
# Serves N simulated machines (default 10, about 100 sensors) polled every 100 ms: about
# 1,000 readings/s. After 70 s of buffering every machine is calibrated from its last 60 s in
# the buffer (`calibrate --last 60s`, as on a gateway), so every machine is scored
# (--calibrate-last 10m: 10 minutes, buffered for 10 minutes + 10 s first); 30 s later
# (the running agent has loaded the models) it runs SOAK_MINUTES, injecting one fault
# every --fault-every seconds (default 180) through the simulator's control port, rotating
# over the machines and over faults that fit each kind, each lasting --fault-for seconds
# (default 60). Then it stops the agent with SIGTERM (it flushes everything) and reports:
#   rss_start_kb / rss_end_kb      VmRSS after the warm-up and at the end (flat = no leak)
#   rss_anon_start_kb / rss_anon_end_kb   its anonymous part (heap, stacks): VmRSS also counts
#                                  the pages of the binary and shared libraries touched so far,
#                                  which the kernel may drop and fault in again
#   fds_start / fds_end            open file descriptors (/proc/PID/fd), same
#   readings_polled / readings_stored   the agent's own counter (metrics file written at
#                                  shutdown) against SELECT count(*) FROM readings (equal)
#   faults_injected / faults_alerted    faults, and faults with an anomaly alert raised on
#                                  their machine between their start and 60 s after their end
#   alerts_raised / alerts_unmatched    anomaly alerts, and those matching no fault
# RSS, anonymous RSS and fds every 10 s go to DIR/samples.tsv. --summary-interval (default 10m)
# is agent.conf's summary_interval: 1m makes the periodic summaries' memory show within minutes.
# Nothing is asserted: these are figures.
set -euo pipefail

minutes=${SOAK_MINUTES:-60}
machines=10 fault_every=180 fault_for=60 port=16020 warmup=30 summary_interval=10m calibrate_last=60s
bin=.build/release/edge-agent out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --machines) machines=$2; shift 2 ;;
        --fault-every) fault_every=$2; shift 2 ;;
        --fault-for) fault_for=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --summary-interval) summary_interval=$2; shift 2 ;;
        --calibrate-last) calibrate_last=$2; shift 2 ;;
        *) echo "bench/soak.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
calibrate_number=${calibrate_last%[sm]}
case "$calibrate_number:$calibrate_last" in
    :*|*[!0-9]*:*) echo "bench/soak.sh: --calibrate-last takes whole seconds or minutes, e.g. 60s or 10m" >&2; exit 2 ;;
    *s) calibrate_seconds=$calibrate_number ;;
    *m) calibrate_seconds=$(( calibrate_number * 60 )) ;;
    *) echo "bench/soak.sh: --calibrate-last takes whole seconds or minutes, e.g. 60s or 10m" >&2; exit 2 ;;
esac
script=bench/soak.sh
source "$(dirname "$0")/start-up.sh"
bench_need sqlite3 awk
bench_use_binary "$bin"
bench_use_output "${out:-bench-out/soak}"
control_port=$((port + 1))

bench_write_conf "$machines" 100ms 100ms "$port" "summary_interval = \"$summary_interval\""

# --- simulator (with its control port) and agent -------------------------------------------
bench_start_simulator "$out/simulator.log" --machines "$machines" --step 100ms --port "$port" \
    --control-port "$control_port" --fault-log "$out/simulator-faults.jsonl"
bench_start_agent --metrics-file "$out/metrics.prom"

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$agent_pid/status"; }
rss_anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$agent_pid/status"; }
fds() { ls "/proc/$agent_pid/fd" | wc -l; }
# One line to the control port, its answer back (bash's /dev/tcp: no netcat needed).
control() {
    exec 3<>"/dev/tcp/127.0.0.1/$control_port"
    printf '%s\n' "$1" >&3
    local answer; IFS= read -r -t 5 answer <&3 || answer="(no answer)"
    exec 3<&- 3>&-
    printf '%s' "$answer"
}
fault_for_machine() { # fault_for_machine ID N → a fault that fits the machine's kind
    local kind=${1%%-*} n=$2
    case "$kind" in
        pump) set -- cavitation inlet-valve-closing outlet-valve-closing leak bearing-wear ;;
        motor) set -- imbalance overheating bearing-wear ;;
        *) set -- outlet-valve-closing leak overheating bearing-wear ;;
    esac
    local faults=("$@")
    printf '%s' "${faults[$(( n % ${#faults[@]} ))]}"
}

# Warm-up as on a gateway: buffer normal operation, calibrate every machine from its last
# --calibrate-last in the buffer (60 s: 600 rows), let the running agent load the models and
# fill its windows.
sleep $(( calibrate_seconds + 10 ))
bench_calibrate_each "$out" --last "$calibrate_last"
sleep "$warmup"
bench_agent_alive "during warm-up"
measure_from=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
rss_start=$(rss); rss_anon_start=$(rss_anon); fds_start=$(fds)
start=$(date +%s)
end=$((start + minutes * 60))
next_fault=$((start + fault_every / 2))
ids_array=($machine_ids)
injected=0
printf 'seconds\trss_kb\trss_anon_kb\tfds\n' > "$out/samples.tsv"
: > "$out/faults-injected.tsv"
next_sample=$start
while [ "$(date +%s)" -lt "$end" ]; do
    now=$(date +%s)
    bench_agent_alive "after $((now - start)) s"
    if [ "$now" -ge "$next_sample" ]; then
        printf '%d\t%s\t%s\t%s\n' $((now - start)) "$(rss)" "$(rss_anon)" "$(fds)" >> "$out/samples.tsv"
        next_sample=$((next_sample + 10))
    fi
    # A fault must end (plus the alert's clearing) before the run does to be counted fairly.
    if [ "$now" -ge "$next_fault" ] && [ $((now + fault_for + 60)) -le "$end" ]; then
        id=${ids_array[$((injected % ${#ids_array[@]}))]}
        fault=$(fault_for_machine "$id" $((injected / ${#ids_array[@]})))
        answer=$(control "inject $id $fault for=${fault_for}s severity=0.9")
        printf '%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$id" "$fault" "$answer" >> "$out/faults-injected.tsv"
        case "$answer" in ok*) injected=$((injected + 1)) ;; *) echo "bench/soak.sh: inject refused: $answer" >&2 ;; esac
        next_fault=$((next_fault + fault_every))
    fi
    sleep 1
done
rss_end=$(rss); rss_anon_end=$(rss_anon); fds_end=$(fds)
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$agent_pid/status")

# Graceful stop: the agent flushes and writes its last metrics on SIGTERM.
bench_stop_agent
polled=$(awk '/^edge_agent_readings_polled_total / { printf "%d", $2 }' "$out/metrics.prom")
committed=$(awk '/^edge_agent_readings_committed_total / { printf "%d", $2 }' "$out/metrics.prom")
stored=$(sqlite3 -readonly "$out/data/edge-agent.db" "SELECT count(*) FROM readings")

# Faults against anomaly alerts: a fault counts as alerted when its machine raised an anomaly
# alert between the fault's start and 60 s after its end; an alert matching no fault is unmatched.
# Alerts raised during the warm-up (before the models were in force) are left out.
grep '"kind":"anomaly"' "$out/alerts.jsonl" 2>/dev/null | grep '"event":"raised"' |
    sed -E 's/.*"time":"([^"]*)".*"machine":"([^"]*)".*/\1\t\2/' |
    awk -F'\t' -v from="$measure_from" '$1 >= from' > "$out/alerts-raised.tsv" || true
to_epoch() { while IFS=$'\t' read -r t rest; do printf '%s\t%s\n' "$(date -d "$t" +%s)" "$rest"; done; }
to_epoch < "$out/faults-injected.tsv" > "$out/faults.epoch"
to_epoch < "$out/alerts-raised.tsv" > "$out/alerts.epoch"
read -r faults_alerted alerts_unmatched < <(awk -F'\t' -v span=$((fault_for + 60)) '
    NR == FNR { ft[NR] = $1; fm[NR] = $2; n = NR; next }
    { at = $1; am = $2; matched = 0
      for (i = 1; i <= n; i++) if (fm[i] == am && at >= ft[i] - 1 && at <= ft[i] + span) { hit[i] = 1; matched = 1 }
      if (!matched) unmatched++ }
    END { for (i in hit) h++; print h + 0, unmatched + 0 }' "$out/faults.epoch" "$out/alerts.epoch")
alerts_raised=$(wc -l < "$out/alerts-raised.tsv")

echo "minutes=$minutes"
echo "machines=$machines"
echo "sensors=$sensors"
echo "expected_readings_per_s=$((sensors * 10))"
echo "calibrate_last=$calibrate_last"
echo "readings_per_s=$(awk -v p="$polled" -v m="$minutes" -v w="$warmup" -v c="$calibrate_seconds" 'BEGIN { printf "%.1f", p / (m * 60 + w + c + 10) }')"
echo "rss_start_kb=$rss_start"
echo "rss_end_kb=$rss_end"
echo "rss_max_kb=$(awk 'NR > 1 && $2 > m { m = $2 } END { print m + 0 }' "$out/samples.tsv")"
echo "peak_rss_kb=$hwm"
echo "rss_anon_start_kb=$rss_anon_start"
echo "rss_anon_end_kb=$rss_anon_end"
echo "rss_anon_max_kb=$(awk 'NR > 1 && $3 > m { m = $3 } END { print m + 0 }' "$out/samples.tsv")"
echo "fds_start=$fds_start"
echo "fds_end=$fds_end"
echo "fds_max=$(awk 'NR > 1 && $4 > m { m = $4 } END { print m + 0 }' "$out/samples.tsv")"
echo "readings_polled=$polled"
echo "readings_committed=$committed"
echo "readings_stored=$stored"
echo "faults_injected=$injected"
echo "faults_alerted=$faults_alerted"
echo "alerts_raised=$alerts_raised"
echo "alerts_unmatched=$alerts_unmatched"
echo "agent_exit=$agent_exit"
