#!/usr/bin/env python3
"""bench/text-pages.py — which pages of a running program's own file are resident.

    bench/text-pages.py PID [--binary UNSTRIPPED] [--map LINKMAP] [--idle SECONDS] [--runs] [--top N]

Reads /proc/PID/maps and /proc/PID/pagemap (root: page frame numbers) for every mapping of the
process's executable and reports, per ELF section and (with --map, an lld or gold link map of the
same link) per input object, the KiB mapped, resident and privately copied (relocated data).
It also counts the page-cache folios behind the resident pages (/proc/kpageflags): the kernel
maps a whole large folio at once. --idle S clears the process's accessed bits
(/proc/PID/clear_refs), waits S seconds and reports, per mapping, the KiB referenced meanwhile
(smaps): what the steady state really touches. --runs lists the runs of resident code with the
objects in each, which shows scattered chunks. --binary names an unstripped copy of the
executable for section names when the running one is stripped (it must be the same link).
"""
import argparse
import bisect
import collections
import os
import re
import struct
import subprocess
import sys
import time

PAGE = os.sysconf("SC_PAGE_SIZE")


def load_segments(path):
    """PT_LOAD program headers: (file offset, vaddr, filesz)."""
    out = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True, check=True).stdout
    segs = []
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            segs.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))
    return segs


def load_sections(path):
    """Allocated sections: (vaddr, size, name), sorted."""
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True, check=True).stdout
    secs = []
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if m and "A" in m.group(5):
            addr, size = int(m.group(2), 16), int(m.group(4), 16)
            if addr and size:
                secs.append((addr, size, m.group(1)))
    secs.sort()
    return secs


def load_linkmap(path):
    """Input sections from a link map, lld's or gold's (GNU ld's): (vaddr, size, object), sorted."""
    with open(path, errors="replace") as fh:
        head = fh.readline()
    if "VMA" in head and "LMA" in head:
        return load_lld_map(path)
    rows = []
    pending = None
    rx = re.compile(r"^\s*(\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
    with open(path, errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\n")
            m = rx.match(line)
            if m and m.group(4) and not m.group(4).startswith("0x"):
                addr, size, obj = int(m.group(2), 16), int(m.group(3), 16), m.group(4).strip()
                if addr and size and ("(" in obj or obj.endswith(".o") or obj.endswith(".a")):
                    rows.append((addr, size, shorten(obj)))
                pending = None
            elif re.match(r"^\s*\S+$", line):
                pending = line.strip()
            elif pending is not None:
                m2 = re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
                if m2:
                    addr, size = int(m2.group(1), 16), int(m2.group(2), 16)
                    if addr and size:
                        rows.append((addr, size, shorten(m2.group(3).strip())))
                pending = None
    rows.sort()
    return rows


def load_lld_map(path):
    rows = []
    rx = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+(\S.*)$")
    out = ""
    with open(path, errors="replace") as fh:
        column = fh.readline().index(" In ") + 1  # names starting left of it are output sections
        for line in fh:
            m = rx.match(line)
            if m and m.start(3) < column:
                out = m.group(3)
            if out.startswith((".debug", ".comment", ".symtab", ".strtab", ".shstrtab")):
                continue  # not loaded: its offsets overlap the addresses of loaded sections
            if m and ":(" in m.group(3):
                addr, size = int(m.group(1), 16), int(m.group(2), 16)
                if addr and size:
                    rows.append((addr, size, shorten(m.group(3).split(":(")[0].strip())))
    rows.sort()
    return rows


def shorten(obj):
    """libswiftCore.a(Swift.o) stays; .build paths become Module.build/file.o -> Module."""
    m = re.search(r"([^/]+\.a)\(([^)]+)\)", obj)
    if m:
        return f"{m.group(1)}({m.group(2)})"
    m = re.search(r"/([^/]+)\.build/[^/]+$", obj)
    if m:
        return m.group(1)
    return os.path.basename(obj)


def find(rows, addr):
    i = bisect.bisect_right(rows, (addr, float("inf"), "")) - 1
    if i >= 0 and rows[i][0] <= addr < rows[i][0] + rows[i][1]:
        return rows[i][2]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pid", type=int)
    ap.add_argument("--binary")
    ap.add_argument("--map")
    ap.add_argument("--idle", type=float, default=0)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--runs", action="store_true", help="list the runs of resident .text pages")
    a = ap.parse_args()

    exe = os.path.realpath(f"/proc/{a.pid}/exe")
    elf = a.binary or exe
    segs = load_segments(elf)
    secs = load_sections(elf)
    objs = load_linkmap(a.map) if a.map else []

    maps = []
    with open(f"/proc/{a.pid}/maps") as fh:
        for line in fh:
            f = line.split()
            if len(f) >= 6 and os.path.realpath(f[5]) == exe:
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                maps.append((lo, hi, f[1], int(f[2], 16)))

    pages = []  # (vaddr in ELF, pfn, perms)
    with open(f"/proc/{a.pid}/pagemap", "rb") as pm:
        for lo, hi, perms, off in maps:
            pm.seek(lo // PAGE * 8)
            data = pm.read((hi - lo) // PAGE * 8)
            for i in range((hi - lo) // PAGE):
                (e,) = struct.unpack_from("<Q", data, i * 8)
                fileoff = off + i * PAGE
                va = None
                for so, sv, sz in segs:
                    if so <= fileoff < so + sz:
                        va = sv + fileoff - so
                if va is None:
                    continue
                present = bool(e >> 63)
                anon = not (e >> 61) & 1  # bit 61: file-page or shared-anon
                pages.append((va, e & ((1 << 55) - 1) if present else 0, present, anon, perms))

    accessed = set()
    referenced = {}
    if a.idle > 0:
        # clear_refs 1 clears the accessed bits of the process's pages (it does not unmap any);
        # smaps then counts, per mapping, the pages accessed since.
        with open(f"/proc/{a.pid}/clear_refs", "w") as fh:
            fh.write("1")
        time.sleep(a.idle)
        cur = None
        with open(f"/proc/{a.pid}/smaps") as fh:
            for line in fh:
                f = line.split()
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    cur = (f[0], f[1], f[5] if len(f) > 5 else "[anon]")
                elif f and f[0] == "Referenced:" and cur:
                    referenced[cur] = int(f[1])

    folio = collections.Counter()
    sizes = collections.Counter()
    kib = PAGE // 1024
    try:
        with open("/proc/kpageflags", "rb") as kf:
            heads = 0
            for va, pfn, present, anon, perms in pages:
                if present and pfn:
                    kf.seek(pfn * 8)
                    (fl,) = struct.unpack("<Q", kf.read(8))
                    if fl >> 15 & 1:
                        folio["head of a large folio"] += 1
                        n = 1
                        while True:
                            kf.seek((pfn + n) * 8)
                            (t,) = struct.unpack("<Q", kf.read(8))
                            if not t >> 16 & 1:
                                break
                            n += 1
                        sizes[n * kib] += 1
                    elif fl >> 16 & 1:
                        folio["tail of a large folio"] += 1
                    else:
                        folio["order-0 page"] += 1
    except OSError as e:
        folio[f"unreadable: {e}"] = 0

    kib = PAGE // 1024
    by_sec = collections.defaultdict(lambda: [0, 0, 0, 0])
    by_obj = collections.defaultdict(lambda: [0, 0, 0])
    for va, pfn, present, anon, perms in pages:
        name = find(secs, va) or "(between sections)"
        s = by_sec[name]
        s[0] += 1
        s[1] += present
        s[2] += present and anon
        s[3] += present and pfn in accessed
        if objs and name.startswith(".text"):
            o = by_obj[find(objs, va) or "(unattributed)"]
            o[0] += 1
            o[1] += present
            o[2] += present and pfn in accessed

    tot = [sum(v[i] for v in by_sec.values()) for i in range(4)]
    print(f"pid {a.pid} {exe}: mapped {tot[0]*kib} KiB, resident {tot[1]*kib} KiB "
          f"(private copies {tot[2]*kib} KiB)")
    print("folios behind resident pages: " + ", ".join(f"{k} {v}" for k, v in folio.items()))
    print("large folios by size: " + ", ".join(f"{k} KiB: {v}" for k, v in sorted(sizes.items())))
    print(f"{'section':<28}{'mapped KiB':>12}{'resident':>10}{'private':>9}")
    for name, v in sorted(by_sec.items(), key=lambda kv: -kv[1][1]):
        print(f"{name:<28}{v[0]*kib:>12}{v[1]*kib:>10}{v[2]*kib:>9}")
    if referenced:
        print(f"\nKiB referenced during {a.idle:g} s (smaps after clear_refs), by mapping:")
        agg = collections.Counter()
        for (rng, perms, path), kb in referenced.items():
            key = ("this program " + perms) if os.path.realpath(path) == exe else os.path.basename(path) if path.startswith("/") else path
            agg[key] += kb
        for k, kb in agg.most_common():
            if kb:
                print(f"  {k:<40}{kb:>8}")
    if a.runs:
        print("\nresident runs of .text (KiB by object)")
        print_runs(pages, secs, objs, kib)
    if objs:
        print(f"\n.text by input object (top {a.top} by resident)")
        print(f"{'object':<60}{'mapped KiB':>11}{'resident':>10}")
        for name, v in sorted(by_obj.items(), key=lambda kv: -kv[1][1])[: a.top]:
            print(f"{name[:59]:<60}{v[0]*kib:>11}{v[1]*kib:>10}")


def print_runs(pages, secs, objs, kib):
    """Contiguous runs of resident .text pages, each with the objects it covers."""
    run = []
    def flush():
        if run:
            names = collections.Counter(find(objs, va) or "?" for va in run) if objs else collections.Counter()
            top = ", ".join(f"{n} {c * kib}" for n, c in names.most_common(4))
            print(f"  {run[0]:#10x}-{run[-1] + PAGE:#10x} {len(run) * kib:>6} KiB  {top}")
    for va, pfn, present, anon, perms in pages:
        if present and (find(secs, va) or "").startswith(".text"):
            if run and va != run[-1] + PAGE:
                flush()
                run.clear()
            run.append(va)
    flush()


if __name__ == "__main__":
    sys.exit(main())
