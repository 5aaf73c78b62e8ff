#!/usr/bin/env python3
"""bench/callgrind-rows.py BEFORE AFTER [--top N] [--callees PATTERN]

Compares two callgrind profiles of `edge-agent run` (scripts/hot-symbols.sh --profile FILE) per
completed row: every profile is divided by its own number of calls to the scoring stage's
`ScoringEngine.completeRow` (one per machine and poll cycle), so runs that scored different
numbers of rows compare. Prints the inclusive instructions (Ir) of `completeRow` per row, then the
functions whose own (self) Ir per row grew most. --callees PATTERN lists, for the function whose
mangled name contains PATTERN, its self Ir and its callees' inclusive Ir per row in both.
Names are mangled in the profile (callgrind --demangle=no) and demangled here with
`swift demangle`; a specialization renamed between the builds shows as one gone and one new.
"""
import argparse
import collections
import re
import subprocess

ROW = "ScoringEngineV11completeRow"


def load(path, callees_of=None):
    """Self Ir and calls per function, inclusive Ir per callee, rows; callees of a pattern."""
    names, selfc, calls, incl = {}, collections.Counter(), collections.Counter(), collections.Counter()
    under, under_self = collections.Counter(), 0
    fn = cfn = None
    pending = None

    def name(s):
        m = re.match(r"\((\d+)\)(?: (.*))?", s)
        if not m:
            return s
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), m.group(1))

    with open(path) as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("fn="):
                fn = name(line[3:])
            elif line.startswith("cfn="):
                cfn = name(line[4:])
            elif line.startswith("calls="):
                pending = int(line[6:].split()[0])
            elif line and (line[0].isdigit() or line[0] in "+-*"):
                fields = line.split()
                ir = int(fields[1]) if len(fields) > 1 else 0
                if pending is not None:
                    calls[cfn] += pending
                    incl[cfn] += ir
                    if callees_of and callees_of in fn:
                        under[cfn] += ir
                    pending = None
                else:
                    selfc[fn] += ir
                    if callees_of and callees_of in fn:
                        under_self += ir
    # A profile from scripts/hot-symbols.sh --profile names each malloc call by its callers
    # (malloc'caller'...): only the function itself (the name before the first ') counts.
    rows = sum(v for k, v in calls.items() if ROW in k.split("'")[0])
    row_incl = sum(v for k, v in incl.items() if ROW in k.split("'")[0])
    for k in [k for k in selfc if k.startswith("malloc'")]:
        selfc["malloc"] += selfc.pop(k)
    return selfc, calls, rows, row_incl, under, under_self


def demangle(keys):
    text = "\n".join(k.split(" [")[0] for k in keys)
    out = subprocess.run(["swift", "demangle", "--simplified"], input=text, capture_output=True, text=True).stdout
    return out.splitlines()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--callees")
    a = ap.parse_args()
    b, bc, br, bi, bu, bus = load(a.before, a.callees)
    m, mc, mr, mi, mu, mus = load(a.after, a.callees)
    if not br or not mr:
        raise SystemExit("bench/callgrind-rows.py: no call to ScoringEngine.completeRow in a profile")
    print(f"rows completed: before {br}, after {mr}")
    print(f"completeRow inclusive Ir per row: before {bi / br:.0f}, after {mi / mr:.0f} ({(mi / mr) / (bi / br) - 1:+.1%})")
    grown = sorted(set(b) | set(m), key=lambda k: -(m[k] / mr - b[k] / br))[:a.top]
    print("self Ir per row that grew most (before -> after; calls per row):")
    for k, n in zip(grown, demangle(grown)):
        print(f"  {m[k] / mr - b[k] / br:+8.0f}  ({b[k] / br:7.0f} -> {m[k] / mr:7.0f}; {bc[k] / br:6.2f} -> {mc[k] / mr:6.2f})  {n[:120]}")
    if a.callees:
        for label, under, own, rows in (("before", bu, bus, br), ("after", mu, mus, mr)):
            print(f"{label}: {a.callees} self {own / rows:.0f} Ir per row; callees, inclusive Ir per row:")
            top = [k for k, _ in under.most_common(a.top)]
            for k, n in zip(top, demangle(top)):
                print(f"  {under[k] / rows:8.0f}  {n[:120]}")


main()
