#!/usr/bin/env bash
# bench/detection.sh — the detection figures the README and docs quote, re-measured and compared
# with the last accepted ones (bench/detection-baseline.txt).
#
#   bench/detection.sh            (make detection-check)  build release, measure, compare
#   bench/detection.sh --update   accept what was measured as the new baseline (say why in the commit)
#   bench/detection.sh --no-build use the release build already in .build/release
#
# What it measures, each with the agent's own commands:
#   - the simulator exports the README quotes (6 machines × 8 h at 1 s, seeds 7 and 8), evaluated
#     with the machines' own agent.conf (`evaluate --config`) after a 10-minute (600 rows) and a
#     2-hour (7200 rows) calibration;
#   - seed 7 again with the README's own command (`--run-signal running --settle-rows 600`: no
#     agent.conf, compressors scored through their stops);
#   - SKAB (`evaluate --dataset ../shared/data/skab --calibration-rows 400`) and the few-shot table
#     (`evaluate --few-shot`), when ../shared/data is there (team material, not in the repository;
#     SKAB=DIR points elsewhere).
# Evaluation is deterministic: on the same tree, every count repeats exactly. Any change is
# reported per file. The check fails when a total got worse (F1 lower or FAR higher), and also on
# a trade (one better, one worse): a change of the detector that moves these figures has to be
# accepted on purpose, with --update and the reason in its commit message. Exports are cached in
# bench-out/detection/ (about a minute each to write).
set -euo pipefail
cd "$(dirname "$0")/.."
update=0 build=1
for a in "$@"; do
    case "$a" in
        --update) update=1 ;;
        --no-build) build=0 ;;
        *) echo "usage: bench/detection.sh [--update] [--no-build]" >&2; exit 2 ;;
    esac
done
swift=${SWIFT:-swift}
out=bench-out/detection
baseline=bench/detection-baseline.txt
mkdir -p "$out"
log() { echo "detection: $*" >&2; }

if [ "$build" = 1 ]; then
    log "building release (scripts/build-release.sh)"
    SWIFT="$swift" scripts/build-release.sh > "$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; exit 1; }
fi
bin=.build/release/edge-agent
[ -x "$bin" ] || { echo "detection: $bin is missing (run without --no-build)" >&2; exit 1; }

measured="$out/measured.txt"
: > "$measured"
# record NAME JSON → one line per file and one for the total: "NAME FILE tp fp fn tn"
record() {
    python3 - "$1" "$2" >> "$measured" <<'EOF'
import json, sys
name, path = sys.argv[1], sys.argv[2]
doc = json.load(open(path))
for f in doc["files"]:
    print(name, f["file"], f["tp"], f["fp"], f["fn"], f["tn"])
t = doc["total"]
print(name, "TOTAL", t["tp"], t["fp"], t["fn"], t["tn"])
EOF
}

for seed in 7 8; do
    dir="$out/sim$seed"
    if [ ! -s "$dir/manifest.json" ]; then
        log "exporting seed $seed (6 machines × 8 h at 1 s) to $dir"
        rm -rf "$dir"
        "$bin" simulate --export "$dir" --machines 6 --hours 8 --step 1s --seed "$seed" > "$out/export-$seed.log"
    fi
    conf="$out/sim$seed.conf"
    printf '[[bus]]\nname = "sim"\ntype = "tcp"\nhost = "127.0.0.1"\nport = 1502\n\n' > "$conf"
    "$bin" simulate --machines 6 --seed "$seed" --print-config >> "$conf"
    for rows in 600 7200; do
        log "seed $seed, calibration $rows rows"
        "$bin" evaluate --dataset "$dir" --config "$conf" --calibration-rows "$rows" --json > "$out/sim$seed-$rows.json"
        record "sim$seed-k$rows" "$out/sim$seed-$rows.json"
        if [ "$seed" = 7 ]; then
            log "seed 7, calibration $rows rows, the README's command"
            "$bin" evaluate --dataset "$dir" --calibration-rows "$rows" --run-signal running --settle-rows 600 --json > "$out/readme7-$rows.json"
            record "readme7-k$rows" "$out/readme7-$rows.json"
        fi
    done
done

skab=${SKAB:-../shared/data/skab}
if [ -d "$skab" ]; then
    log "SKAB, calibration 400 rows"
    "$bin" evaluate --dataset "$skab" --calibration-rows 400 --json > "$out/skab.json"
    record "skab-k400" "$out/skab.json"
    log "SKAB few-shot table"
    "$bin" evaluate --dataset "$skab" --few-shot --json > "$out/few-shot.json"
    python3 -c '
import json, sys
for r in json.load(open(sys.argv[1])):
    m = r["method"]
    row = m[1:m.index(")")] if m.startswith("(") else "deviation"
    print("few-shot-k%d" % r["k"], row, r["f1"], r["far"])
' "$out/few-shot.json" >> "$measured"
else
    log "no $skab here: SKAB left out of the comparison"
fi

if [ "$update" = 1 ]; then
    {
        echo "# bench/detection.sh --update on $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD)"
        echo "# name file TP FP FN TN (evaluation is deterministic: these repeat exactly on the same tree)"
        if [ ! -d "$skab" ] && [ -f "$baseline" ]; then grep -E '^(skab|few-shot)-' "$baseline" || true; fi
        cat "$measured"
    } > "$baseline.new"
    mv "$baseline.new" "$baseline"
    log "baseline written: $baseline"
fi

python3 - "$baseline" "$measured" <<'EOF'
import sys
def load(path):
    rows = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        name, file, *values = line.split()
        rows[(name, file)] = tuple(float(v) for v in values)
    return rows
def metrics(c):
    if len(c) == 2:  # a few-shot row: F1 and FAR as evaluate --json prints them
        return c[0], c[1]
    tp, fp, fn, tn = c
    f1 = tp / (tp + (fp + fn) / 2) if tp + fp + fn else 1.0
    far = 100 * fp / (fp + tn) if fp + tn else 0.0
    return round(f1, 3), round(far, 1)
def shown(c):
    f1, far = metrics(c)
    return f"{f1:.4f} / {far:.3f}" if len(c) == 2 else f"{f1:.3f} / {far:.1f}"
base, now = load(sys.argv[1]), load(sys.argv[2])
worse = []
print(f"{'set':<14} {'file':<24} {'F1 / FAR% (baseline)':<22} {'F1 / FAR% (now)':<18} verdict")
for key in now:
    name, file = key
    if key not in base:
        print(f"{name:<14} {file:<24} {'(none)':<22} {shown(now[key]):<18} new")
        continue
    if now[key] == base[key] and file != "TOTAL" and not name.startswith("few-shot"):
        continue
    b, n = metrics(base[key]), metrics(now[key])
    if now[key] == base[key]:
        verdict = "same"
    elif n[0] >= b[0] and n[1] <= b[1]:
        verdict = "better" if n != b else "same (counts moved)"
    elif n[0] <= b[0] and n[1] >= b[1]:
        verdict = "WORSE"
    else:
        verdict = "TRADE"
    if (file == "TOTAL" or name.startswith("few-shot")) and verdict in ("WORSE", "TRADE"):
        worse.append(name)
    print(f"{name:<14} {file:<24} {shown(base[key]):<22} {shown(now[key]):<18} {verdict}")
for key in base:
    if key not in now and (key[1] == "TOTAL" or key[0].startswith("few-shot")):
        print(f"{key[0]:<14} {'TOTAL':<24} not measured here")
moved = [k[0] for k in now if k in base and now[k] != base[k] and (k[1] == "TOTAL" or k[0].startswith("few-shot"))]
if moved and not worse:
    print("detection: figures moved for the better; accept them with --update and update the docs that quote them", file=sys.stderr)
if worse:
    print(f"detection: {', '.join(worse)} changed for the worse or traded; accept on purpose with --update", file=sys.stderr)
    sys.exit(1)
EOF
