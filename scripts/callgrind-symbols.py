#!/usr/bin/env python3
"""scripts/callgrind-symbols.py CALLGRIND_OUT OBJECT_PATH — the functions of OBJECT_PATH that a
callgrind profile saw executed, one symbol a line, most instructions (self cost) first; functions
run once (start-up) come last, in the order callgrind first met them, each followed by its other
names (aliases from identical code folding). Used by scripts/hot-symbols.sh.
"""
import collections
import os
import re
import subprocess
import sys


def aliases(binary):
    """Every name of each function address in BINARY's symbol table: the linker's identical code
    folding leaves several names on one function, and the profile reports only one of them,
    maybe not the one the next link keeps."""
    by_addr, addr_of = {}, {}
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split(None, 2)
        if len(f) == 3 and f[1] in "tTwW":
            addr = int(f[0], 16)
            by_addr.setdefault(addr, []).append(f[2])
            addr_of.setdefault(f[2], addr)
    return by_addr, addr_of


def main():
    path, target = sys.argv[1], os.path.realpath(sys.argv[2])
    obs, fns = {}, {}
    cost = collections.Counter()
    first = {}
    ob = fn = None
    after_calls = False
    rx = re.compile(r"^(c?ob|c?fn|fl|fi|fe|cfi|cfl)=\((\d+)\)(?: (.*))?$")
    with open(path, errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\n")
            m = rx.match(line)
            if m:
                kind, ident, name = m.groups()
                table = obs if kind.endswith("ob") else fns if kind.endswith("fn") else None
                if table is not None and name is not None:
                    table[ident] = name
                if kind == "ob":
                    ob = obs.get(ident)
                elif kind == "fn":
                    fn = (ob, fns.get(ident))
                    first.setdefault(fn, len(first))
                continue
            if line.startswith("calls="):
                after_calls = True
                continue
            if line and (line[0].isdigit() or line[0] in "+-*") and fn is not None:
                if after_calls:
                    after_calls = False  # inclusive cost of the call: not this function's own
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    cost[fn] += int(parts[1])
    # Code without a symbol shows up as a bare address ("0x..."): nothing to order by.
    keep = [k for k in first if k[0] and os.path.realpath(k[0]) == target and k[1] and not k[1].startswith("0x")]
    keep.sort(key=lambda k: (-cost[k], first[k]))
    by_addr, addr_of = aliases(target)
    seen = set()
    for _, name in keep:
        name = name.split("'")[0]  # callgrind's recursion marks ("'2")
        names = by_addr.get(addr_of[name], [name]) if name in addr_of else [name]
        for n in [name] + sorted(set(names) - {name}):
            if n not in seen:
                seen.add(n)
                print(n)


if __name__ == "__main__":
    main()
