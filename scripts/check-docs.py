#!/usr/bin/env python3
"""Checks the documentation: every relative link in README.md, BENCHMARKS.md and docs/*.md
points to a file that exists and, for `file.md#anchor`, to a heading of that file (GitHub's
anchor rules). Prints the number of table rows and fenced code blocks. Exit 1 on a broken link.
Usage: scripts/check-docs.py (from anywhere in the repository)."""
import glob, os, re, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(root)
files = ["README.md", "BENCHMARKS.md"] + sorted(glob.glob("docs/*.md"))

def lines_outside_fences(path):
    fence = False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            fence = not fence
            continue
        if not fence:
            yield line.rstrip("\n")

def anchors(path):
    seen, out = {}, set()
    for line in lines_outside_fences(path):
        m = re.match(r"^#{1,6} (.*)$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out

broken, checked = [], 0
for f in files:
    for line in lines_outside_fences(f):
        for target in re.findall(r"\]\(([^)\s]+)\)", re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z]+:", target):
                continue
            checked += 1
            path, _, frag = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
            if not os.path.exists(dest):
                broken.append(f"{f}: {target}: no file {dest}")
            elif frag and dest.endswith(".md") and frag not in anchors(dest):
                broken.append(f"{f}: {target}: no heading #{frag} in {dest}")

md = ["README.md"] + sorted(glob.glob("docs/*.md"))
rows = sum(1 for f in md for l in open(f, encoding="utf-8") if l.startswith("|"))
fences = sum(1 for f in md for l in open(f, encoding="utf-8") if l.startswith("```"))
print(f"links checked: {checked}, broken: {len(broken)}")
print(f"README.md + docs/*.md: {rows} table rows, {fences // 2} fenced code blocks")
for b in broken:
    print("BROKEN", b)
sys.exit(1 if broken else 0)
