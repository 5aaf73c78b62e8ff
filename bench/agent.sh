#!/usr/bin/env bash
# bench/agent.sh — the whole agent: `edge-agent run` against `edge-agent simulate`.
#
#   bench/agent.sh --machines N --interval 1s|100ms [--warmup S] [--windows K] [--window S]
#                  [--bin PATH] [--out DIR] [--port P] [--summary-interval D]
#                  [--prefill-period [--edge-bench PATH]]
#
# Serves N simulated machines on 127.0.0.1 (about 10 sensors each), writes an agent.conf
# that polls all of them every --interval, calibrates every machine from 400 rows of the
# simulator's own exported data (so every machine is scored), runs the agent, waits
# --warmup seconds, then measures K consecutive windows of --window seconds each:
#   cpu_pct      utime+stime of the agent over the window (/proc/PID/stat), % of one core
#   p50_ms/p99_ms poll→score delay from the agent's status JSON (edge-agent status --json)
# and over the whole run: RSS every second (VmRSS, and its anonymous and file-backed parts),
# peak RSS (VmHWM), readings polled and committed, summaries written. Prints `key=value` lines
# (one `window=` line per window) on stdout; RSS over time goes to DIR/rss.tsv. Everything it
# starts is stopped when it exits.
#
# --summary-interval D sets agent.conf's summary_interval (default: the agent's, 1h), so that a
# run deliberately includes the periodic summaries (each machine's summary of the period ends
# every D, aligned to UTC) and its RSS figures cover them. --prefill-period fills the buffer,
# before the agent starts, with a reading of every sensor every poll interval from the start of
# the summary period in progress until then (`edge-bench buffer-fill`, from --edge-bench,
# default .build/release/edge-bench): the period's summary, when the run reaches its end, then
# reads what a whole period of polling leaves in the buffer (an hour at 98 sensors × 10 Hz is
# 3.5 M readings) instead of only the minutes the run polled.
set -euo pipefail

machines=10 interval=1s warmup=40 windows=3 window=20 port=15020
bin=.build/release/edge-agent out="" summary_interval="" prefill=0 edge_bench=.build/release/edge-bench
while [ $# -gt 0 ]; do
    case "$1" in
        --machines) machines=$2; shift 2 ;;
        --interval) interval=$2; shift 2 ;;
        --warmup) warmup=$2; shift 2 ;;
        --windows) windows=$2; shift 2 ;;
        --window) window=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --summary-interval) summary_interval=$2; shift 2 ;;
        --prefill-period) prefill=1; shift ;;
        --edge-bench) edge_bench=$2; shift 2 ;;
        *) echo "bench/agent.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
case "$interval" in
    1s) step=1s; rows_hours=0.2 ;;
    100ms) step=100ms; rows_hours=0.02 ;;
    *) echo "bench/agent.sh: --interval must be 1s or 100ms" >&2; exit 2 ;;
esac
script=bench/agent.sh
source "$(dirname "$0")/start-up.sh"
bench_need sqlite3 awk
bench_use_binary "$bin"
bench_use_output "${out:-bench-out/agent-$machines-$interval}"
cache=$(realpath -m "$out/../model-cache/$machines-$step")
ticks=$(getconf CLK_TCK)

if [ -n "$summary_interval" ]; then
    bench_write_conf "$machines" "$step" "$interval" "$port" "summary_interval = \"$summary_interval\""
else
    bench_write_conf "$machines" "$step" "$interval" "$port"
fi

# --- calibrate every machine (cached: the same seed serves the same machines) -------------
mkdir -p "$out/data/models"
# The models are only valid for the binary that calibrated them (the detector file format can
# change between commits): the cache is keyed on the binary's checksum.
stamp=$(sha256sum "$bin" | cut -c1-16)
if [ ! -f "$cache/done" ] || [ "$(cat "$cache/done")" != "$stamp" ]; then
    rm -rf "$cache"; mkdir -p "$cache"
    "$bin" simulate --export "$cache/csv" --machines "$machines" --hours "$rows_hours" --step "$step" \
        --faults none > "$cache/export.txt"
    bench_calibrate_each "$cache" --input "$cache/csv/{id}.csv" --rows 400 --data-dir "$cache/data"
    echo "$stamp" > "$cache/done"
fi
cp "$cache"/data/models/* "$out/data/models/"
calibrated=$(ls "$out/data/models" | grep -c '\.detector\.json$' || true)

# --- a whole period in the buffer (--prefill-period) -------------------------------------
if [ "$prefill" = 1 ]; then
    [ -x "$edge_bench" ] || bench_fail "no edge-bench at $edge_bench (scripts/build-release.sh --product edge-bench)"
    edge_bench=$(realpath "$edge_bench")
    period_s=$(awk -v d="${summary_interval:-1h}" 'BEGIN { n = d + 0; u = substr(d, length(n "") + 1)
        print n * (u == "h" ? 3600 : u == "m" ? 60 : u == "s" ? 1 : u == "ms" ? 0.001 : u == "d" ? 86400 : -1) }')
    awk -v p="$period_s" 'BEGIN { exit !(p >= 1) }' || bench_fail "--prefill-period: cannot read the summary interval ${summary_interval:-1h} (use s, m or h)"
    now_s=$(date +%s)
    fill_from=$(date -u -d "@$(awk -v n="$now_s" -v p="$period_s" 'BEGIN { printf "%d", int(n / p) * p }')" +%Y-%m-%dT%H:%M:%SZ)
    fill_until=$(date -u -d "@$now_s" +%Y-%m-%dT%H:%M:%SZ)
    (cd "$out" && "$edge_bench" buffer-fill --config "$conf" --from "$fill_from" --until "$fill_until") > "$out/prefill.txt" 2>&1 ||
        { cat "$out/prefill.txt" >&2; bench_fail "buffer-fill failed (above)"; }
fi

# --- simulator and agent ---------------------------------------------------------------
bench_start_simulator "$out/simulator.log" --machines "$machines" --step "$step" --port "$port" --control-port 0
bench_start_agent
started=$(date +%s.%N)

# RSS every second: seconds since start, VmRSS, RssAnon (heap, stacks, other anonymous memory)
# and RssFile (mapped pages of the binary and its libraries, SQLite's -shm), all kB.
( while kill -0 "$agent_pid" 2>/dev/null; do
      rss=$(awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { if (r != "") print r "\t" a "\t" f }' \
          "/proc/$agent_pid/status" 2>/dev/null) || break
      [ -n "$rss" ] || break
      echo "$(awk -v s="$started" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }')	$rss"
      sleep 1
  done ) > "$out/rss.tsv" &
bench_started $!

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
status_field() { # status_field JSON KEY → number (0 when absent)
    # awk reads to the end (no early exit): a large status must not end the pipe with SIGPIPE.
    printf '%s' "$1" | tr ',{}' '\n\n\n' | awk -v k="\"$2\"" '!found && index($0, k) { sub(/.*: */, ""); v = $1 + 0; found = 1 }
        END { print found ? v : 0 }'
}
# The status JSON the agent stores every 5 s (what `edge-agent status --json` prints as "agent"),
# read straight from the buffer so that measuring costs no full-table statistics.
status_json() { sqlite3 -readonly "$out/data/edge-agent.db" "SELECT value FROM kv WHERE key = 'runtime.status'" 2>/dev/null || echo '{}'; }

sleep "$warmup"
bench_agent_alive "during warm-up"
rss_after_warmup=$(awk '/^VmRSS:/ { print $2 }' "/proc/$agent_pid/status")
# The peak so far: when it equals the run's peak, the peak came from start-up, not from anything
# later in the run (such as the summaries).
hwm_at_warmup=$(awk '/^VmHWM:/ { print $2 }' "/proc/$agent_pid/status")
first_status=$(status_json)
first_time=$(date +%s.%N)

echo "machines=$machines"
echo "sensors=$sensors"
echo "interval=$interval"
echo "calibrated=$calibrated"
echo "warmup_s=$warmup"
for w in $(seq "$windows"); do
    t0=$(date +%s.%N); c0=$(cpu_ticks "$agent_pid"); s0=$(cpu_ticks "$sim_pid")
    sleep "$window"
    t1=$(date +%s.%N); c1=$(cpu_ticks "$agent_pid"); s1=$(cpu_ticks "$sim_pid")
    status=$(status_json)
    cpu=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$ticks" 'BEGIN { printf "%.3f", (b - a) / hz / (t1 - t0) * 100 }')
    simcpu=$(awk -v a="$s0" -v b="$s1" -v t0="$t0" -v t1="$t1" -v hz="$ticks" 'BEGIN { printf "%.3f", (b - a) / hz / (t1 - t0) * 100 }')
    echo "window=$w cpu_pct=$cpu sim_cpu_pct=$simcpu p50_ms=$(status_field "$status" score_delay_p50_milliseconds) p99_ms=$(status_field "$status" score_delay_p99_milliseconds)"
done
last_status=$(status_json)
last_time=$(date +%s.%N)
rss_end=$(awk '/^VmRSS:/ { print $2 }' "/proc/$agent_pid/status")
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$agent_pid/status")
rss_max_after_warmup=$(awk -v w="$warmup" '$1 >= w && $2 > m { m = $2 } END { print m + 0 }' "$out/rss.tsv")
cp "/proc/$agent_pid/smaps_rollup" "$out/smaps_rollup.txt" 2>/dev/null || true
cp "/proc/$agent_pid/smaps" "$out/smaps.txt" 2>/dev/null || true
# Resident memory by mapping (file, or [anon] for heap and stacks), largest first.
awk '/^[0-9a-f]+-[0-9a-f]+ / { f = $6 } /^Rss:/ { r[f == "" ? "[anon]" : f] += $2 }
     END { for (k in r) printf "%d\t%s\n", r[k], k }' "/proc/$agent_pid/smaps" 2>/dev/null | sort -rn > "$out/rss-by-mapping.tsv" || true
# Rates over the span between the two status snapshots, by the agent's own status times.
status_time() { printf '%s' "$1" | grep -o '"time" *: *"[^"]*"' | sed -n '1s/.*: *"//; 1s/"$//; 1p'; }
t_first=$(status_time "$first_status"); t_last=$(status_time "$last_status")
if [ -n "$t_first" ] && [ -n "$t_last" ] && [ "$t_first" != "$t_last" ]; then
    span=$(awk -v a="$(date -d "$t_first" +%s.%N)" -v b="$(date -d "$t_last" +%s.%N)" 'BEGIN { print b - a }')
else
    span=$(awk -v a="$first_time" -v b="$last_time" 'BEGIN { print b - a }')
fi
for key in readings_polled readings_committed readings_rejected windows_scored alert_events scoring_overflow_cycles; do
    a=$(status_field "$first_status" "$key"); b=$(status_field "$last_status" "$key")
    echo "$key=$b"
    echo "${key}_per_s=$(awk -v a="$a" -v b="$b" -v s="$span" 'BEGIN { printf "%.1f", (b - a) / s }')"
done
echo "expected_readings_per_s=$(awk -v n="$sensors" -v i="$interval" 'BEGIN { printf "%.1f", n * (i == "1s" ? 1 : 10) }')"
echo "rss_after_warmup_kb=$rss_after_warmup"
echo "rss_max_after_warmup_kb=$rss_max_after_warmup"
echo "rss_end_kb=$rss_end"
echo "peak_rss_kb=$hwm"
echo "peak_rss_at_warmup_kb=$hwm_at_warmup"
# The agent writes each machine's summary at the end of every summary_interval (1h unless
# --summary-interval), reading the period's readings from the buffer: the figures above include
# what those summaries cost. summaries_written counts the JSON files (one per machine and period).
summaries_written=$(find "$out/summaries" -name '*.json' 2>/dev/null | wc -l)
echo "summary_interval=${summary_interval:-1h}"
echo "summaries_written=$summaries_written"
[ "$prefill" = 1 ] && echo "prefilled=$(grep -o 'wrote [0-9]* readings' "$out/prefill.txt" | tr -dc 0-9) readings $fill_from – $fill_until"
echo "crossed_full_hour=$(awk -v s="$started" -v e="$(date +%s)" 'BEGIN { print (int(s / 3600) != int(e / 3600)) ? "yes" : "no" }')"
printf '%s\n' "$last_status" > "$out/status.json"

# Graceful stop: the agent flushes and exits 0 on SIGTERM.
bench_stop_agent
echo "agent_exit=$agent_exit"
