#!/usr/bin/env python3
"""bench/malloc-rows.py PROFILE [PROFILE ...] [--top N]

The agent's `malloc` calls per completed row, by who asked for them, from callgrind profiles of
`edge-agent run` made by scripts/hot-symbols.sh --profile FILE (docs/performance.md), which has
callgrind keep every call of `malloc` with up to 40 of its callers (--separate-callers40=malloc).
Every profile is divided by its own number of calls to the scoring stage's
`ScoringEngine.completeRow` (one per machine and poll cycle), as bench/callgrind-rows.py does, so
runs of different lengths compare.

Each call's callers are read from the innermost out; the first one that names a group decides:
  smaps parsing   StartUpPages (the summaries' start-up-page release reads /proc/self/smaps)
  text            NumberText, Timestamp text, the summaries' HTML/JSON/CSV, JSONEncoder/JSONWriter,
                  PrometheusText, RuntimeStatus
  scoring         ScoringEngine.completeRow and what it calls
  writer          ReadingWriter's thread (its inserts, retention), RecordRetention
  reader          BufferDatabase (the summaries' and the warm-up's reads, alerts, models)
  other           none of these within 40 callers (start-up, polling, alerts, the runtimes)
writer and reader are split into the calls SQLite made (a frame of libsqlite3 between `malloc`
and the Swift caller) and the Swift code's own.
--top N lists, per profile, the N first callers outside the allocator, the Swift runtime and
standard library and SQLite that made the most calls per row.
"""
import argparse
import collections
import re
import subprocess

ROW = "ScoringEngineV11completeRow"
# The first of these found in a caller's demangled name decides the group.
GROUPS = [
    ("smaps parsing", re.compile(r"StartUpPages")),
    ("text", re.compile(r"NumberText|Timestamp\.append|\bPage\.|SummaryHTML|SummaryJSON|JSONEncoder|JSONWriter|"
                        r"PrometheusText|RuntimeStatus|CSV|Buckets")),
    ("scoring", re.compile(r"ScoringEngine\.completeRow")),
    ("writer", re.compile(r"ReadingWriter|\bWorker\.|RecordRetention")),
    ("reader", re.compile(r"BufferDatabase")),
]
# Frames not worth naming in --top: allocators, runtimes, the standard library, SQLite.
PLUMBING = re.compile(r"^(0x|swift_|_swift|__swift|\$ss|\$sS|_Zn|_ZN5swift|sqlite3|malloc|realloc|calloc|posix_memalign|_mid_memalign)")


def load(path):
    """malloc calls per caller chain (innermost first), objects of functions, rows completed."""
    names = {"fn": {}, "ob": {}}
    chains = collections.Counter()
    obj_of = {}
    ob = fn = cfn = None
    rows = 0
    pending = None

    def name(kind, s):
        m = re.match(r"\((\d+)\)(?: (.*))?", s)
        if not m:
            return s
        if m.group(2):
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), m.group(1))

    with open(path) as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("ob="):
                ob = name("ob", line[3:])
            elif line.startswith("cob="):
                name("ob", line[4:])
            elif line.startswith("fn="):
                fn = name("fn", line[3:])
                obj_of.setdefault(fn.split("'")[0], ob)
            elif line.startswith("cfn="):
                cfn = name("fn", line[4:])
            elif line.startswith("calls="):
                pending = int(line[6:].split()[0])
            elif pending is not None and line and (line[0].isdigit() or line[0] in "+-*"):
                if cfn.startswith("malloc'"):
                    # Callgrind marks recursion depth as 'N on a name: not a caller.
                    chains[tuple(f for f in cfn.split("'")[1:] if not f.isdigit())] += pending
                elif ROW in cfn and ROW not in fn:
                    rows += pending
                pending = None
    return chains, obj_of, rows


def attribute(chains, obj_of):
    """malloc calls per group, and per (first named caller, group)."""
    frames = sorted({f for chain in chains for f in chain})
    readable = dict(zip(frames, demangle(frames)))
    groups = collections.Counter()
    named = collections.Counter()
    for chain, calls in chains.items():
        via_sqlite = False
        group = "other"
        for f in chain:
            if f.startswith("sqlite3") or "libsqlite3" in (obj_of.get(f) or ""):
                via_sqlite = True
            hit = next((g for g, pattern in GROUPS if pattern.search(readable.get(f, f))), None)
            if hit:
                group = hit
                if hit in ("writer", "reader"):
                    group = ("SQLite " if via_sqlite else "Swift, ") + hit
                break
        first = next((f for f in chain if not PLUMBING.match(f)), chain[0] if chain else "?")
        groups[group] += calls
        named[(first, group)] += calls
    return groups, named


def demangle(keys):
    out = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(keys), capture_output=True, text=True).stdout
    return out.splitlines()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("profiles", nargs="+")
    ap.add_argument("--top", type=int, default=0)
    a = ap.parse_args()
    order = ["SQLite writer", "SQLite reader", "smaps parsing", "text", "scoring", "Swift, writer", "Swift, reader", "other"]
    results = []
    for path in a.profiles:
        chains, obj_of, rows = load(path)
        if not rows:
            raise SystemExit(f"bench/malloc-rows.py: no call to ScoringEngine.completeRow in {path}")
        if not chains:
            raise SystemExit(f"bench/malloc-rows.py: no malloc call with its callers in {path} "
                             "(made with scripts/hot-symbols.sh --profile, which asks callgrind for them?)")
        groups, named = attribute(chains, obj_of)
        results.append((path, rows, groups, named))
    width = max(len(g) for g in order)
    print(f"{'malloc calls per completed row':<{width}}" + "".join(f"  {p.split('/')[-1][-24:]:>24}" for p, *_ in results))
    print(f"{'rows completed':<{width}}" + "".join(f"  {r:>24}" for _, r, _, _ in results))
    for g in order:
        print(f"{g:<{width}}" + "".join(f"  {gr[g] / r:>24.2f}" for _, r, gr, _ in results))
    print(f"{'total':<{width}}" + "".join(f"  {sum(gr.values()) / r:>24.2f}" for _, r, gr, _ in results))
    for path, rows, _, named in results if a.top else []:
        print(f"\n{path}: the first callers above the allocator, malloc calls per row")
        top = named.most_common(a.top)
        for ((fn, group), v), text in zip(top, demangle([fn for (fn, _), _ in top])):
            print(f"  {v / rows:8.3f}  {group:<14} {text[:110]}")


main()
