#!/usr/bin/env python3
"""bench/resident-symbols.py PID BINARY [--order FILE] [--dump OUT]

Which symbols of a running program's own file lie on resident pages (/proc/PID/pagemap, bit 63
"present", readable without root), for the static agent: resident KiB per section; for .text, how much is inside
the region the linker filled from the order file (scripts/edge-agent.order, placed first) and how
much after it (functions the list lacks, or their cold neighbours, each fault mapping up to 64 KB);
code bytes of the functions on resident pages by Swift module (read from the mangled name).
BINARY is the unstripped file the process runs (its symbol table). --dump writes one line per
symbol on a resident page: section, "ordered"/"cold" (.text), address, size, in the order file
(O) or not (-), mangled name. bench/text-pages.py gives the same per input object from a link map.
"""
import argparse, bisect, collections, os, re, struct, subprocess, sys

PAGE = os.sysconf("SC_PAGE_SIZE")

def segments(path):
    out = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True, check=True).stdout
    return [(int(f[1], 16), int(f[2], 16), int(f[4], 16)) for f in (l.split() for l in out.splitlines()) if f and f[0] == "LOAD"]

def sections(path):
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True, check=True).stdout
    secs = []
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if m and "A" in m.group(5):
            a, s = int(m.group(2), 16), int(m.group(4), 16)
            if a and s: secs.append((a, s, m.group(1)))
    return sorted(secs)

def symbols(path):
    out = subprocess.run(["nm", "-S", "-n", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4:
            syms.append((int(f[0], 16), int(f[1], 16), f[3]))
    # one entry per address (the first name)
    syms.sort()
    return syms

def module(name):
    m = re.match(r"\$s(\d+)", name)
    if m:
        n = int(m.group(1)); return name[2 + len(m.group(1)):2 + len(m.group(1)) + n]
    if name.startswith("$ss") or name.startswith("$sS"): return "Swift"
    if name.startswith("_Z"): return "C++"
    if name.startswith("sqlite3") : return "sqlite(?)"
    return "C/other"

def resident_pages(pid, binary):
    real = os.path.realpath(f"/proc/{pid}/exe")
    segs = segments(binary)
    pages = set()
    with open(f"/proc/{pid}/maps") as fh, open(f"/proc/{pid}/pagemap", "rb") as pm:
        for line in fh:
            f = line.split()
            if len(f) < 6 or os.path.realpath(f[5]) != real: continue
            start, end = (int(x, 16) for x in f[0].split("-")); off = int(f[2], 16)
            seg = next((s for s in segs if s[0] <= off < s[0] + max(s[2], PAGE) or (s[0] & ~(PAGE - 1)) == off), None)
            if seg is None: continue
            vbase = (seg[1] - (seg[0] - off))
            n = (end - start) // PAGE
            pm.seek(start // PAGE * 8); data = pm.read(n * 8)
            for i in range(n):
                (e,) = struct.unpack_from("<Q", data, i * 8)
                if e >> 63: pages.add((vbase + i * PAGE) // PAGE)
    return pages

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pid", type=int); ap.add_argument("binary")
    ap.add_argument("--order"); ap.add_argument("--dump")
    a = ap.parse_args()
    pages = resident_pages(a.pid, a.binary)
    secs = sections(a.binary)
    sec_starts = [s[0] for s in secs]
    def sec_of(addr):
        i = bisect.bisect_right(sec_starts, addr) - 1
        return secs[i][2] if i >= 0 and addr < secs[i][0] + secs[i][1] else "?"
    by_sec = collections.Counter(sec_of(p * PAGE) for p in pages)
    print(f"resident pages of the binary: {len(pages)} = {len(pages) * PAGE // 1024} KiB")
    for s, n in by_sec.most_common(): print(f"  {s:28s} {n * PAGE // 1024:7d} KiB")
    syms = symbols(a.binary)
    text = next(s for s in secs if s[2] == ".text")
    order = set()
    if a.order:
        order = set(l.strip() for l in open(a.order) if l.strip())
    # ordered region: from .text start up to the last ordered symbol
    last_ordered = text[0]
    for addr, size, name in syms:
        if text[0] <= addr < text[0] + text[1] and name in order: last_ordered = max(last_ordered, addr + size)
    inside = sum(1 for p in pages if text[0] <= p * PAGE < last_ordered)
    outside = sum(1 for p in pages if last_ordered <= p * PAGE < text[0] + text[1])
    print(f".text {text[1] / 1e6:.2f} MB, ordered region {(last_ordered - text[0]) / 1e6:.2f} MB: resident inside {inside * PAGE // 1024} KiB, after it {outside * PAGE // 1024} KiB")
    # symbols on resident pages, by module and section
    by_mod = collections.Counter(); res_syms = []
    for addr, size, name in syms:
        if size == 0: continue
        p0, p1 = addr // PAGE, (addr + size - 1) // PAGE
        if any(p in pages for p in range(p0, p1 + 1)):
            s = sec_of(addr)
            res_syms.append((s, addr, size, name))
            if s == ".text": by_mod[module(name)] += size
    print("code bytes of functions on resident .text pages, by module (KB):")
    for m, b in by_mod.most_common(20): print(f"  {m:30s} {b / 1e3:8.1f}")
    outside_syms = [(s, ad, sz, n) for s, ad, sz, n in res_syms if s == ".text" and ad >= last_ordered]
    print(f"functions on resident .text pages after the ordered region: {len(outside_syms)}, {sum(x[2] for x in outside_syms) / 1e3:.1f} KB of code; not in the order file: {sum(1 for x in outside_syms if x[3] not in order)}")
    if a.dump:
        with open(a.dump, "w") as out:
            for s, ad, sz, n in res_syms:
                where = "ordered" if s == ".text" and ad < last_ordered else ("cold" if s == ".text" else "")
                out.write(f"{s}\t{where}\t{ad:x}\t{sz}\t{'O' if n in order else '-'}\t{n}\n")

main()
