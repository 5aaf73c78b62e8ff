#!/usr/bin/env bash
# bench/footprint.sh — release binary size, dynamic and with --static-swift-stdlib, stripped.
#
#   bench/footprint.sh [--skip-static]
#
# Builds the static variant in its own scratch path (.build-static, gitignored) so it never
# disturbs .build. Prints `key=value` lines; the linked libraries go to bench-out/footprint/.
set -euo pipefail
skip_static=0
[ "${1:-}" = "--skip-static" ] && skip_static=1
swift=${SWIFT:-swift}
out=bench-out/footprint
rm -rf "$out"; mkdir -p "$out"

size_of() { stat -c %s "$1"; }

dynamic=.build/release/edge-agent
[ -x "$dynamic" ] || { echo "bench/footprint.sh: build first (swift build -c release)" >&2; exit 1; }
strip -o "$out/edge-agent.dynamic.stripped" "$dynamic"
echo "dynamic_bytes=$(size_of "$dynamic")"
echo "dynamic_stripped_bytes=$(size_of "$out/edge-agent.dynamic.stripped")"
ldd "$dynamic" > "$out/ldd-dynamic.txt" 2>&1 || true
# Shared libraries the dynamic binary needs, and what they add up to on disk.
libs=$(awk '/=> \// { print $3 }' "$out/ldd-dynamic.txt")
lib_bytes=0
for l in $libs; do lib_bytes=$((lib_bytes + $(stat -L -c %s "$l"))); done
echo "dynamic_libraries=$(awk '/=>/ { print $1 }' "$out/ldd-dynamic.txt" | sed 's/\.so.*//' | tr '\n' ' ' | sed 's/ $//')"
echo "dynamic_libraries_bytes=$lib_bytes"
if grep -q 'libFoundation\.so' "$out/ldd-dynamic.txt"; then echo "links_foundation=yes"; else echo "links_foundation=no"; fi
if grep -qi 'icu' "$out/ldd-dynamic.txt"; then echo "links_icu=yes"; else echo "links_icu=no"; fi
# Modules (Sources/<target>) with a file that says `import Foundation` (FoundationEssentials does not pull ICU).
echo "foundation_importers=$(grep -rlE '^\s*(@preconcurrency\s+)?import\s+Foundation\s*$' Sources | cut -d/ -f2 | sort -u | tr '\n' ' ' | sed 's/ $//')"
# Dependencies (their Swift sources, docs excluded) with an import of Foundation or one of its types
# (some only in an #if branch not taken where FoundationEssentials exists): these can link Foundation and ICU.
echo "foundation_dependencies=$(for d in .build/checkouts/*/; do
    grep -rlE --include='*.swift' '^\s*(@_implementationOnly |@preconcurrency |internal |package |public )?import (struct |class |enum |func |protocol )?Foundation(\.[A-Za-z]+)?\s*$' "$d" 2>/dev/null |
        grep -v '/Tests/\|/Benchmarks/\|/Examples/\|Package.swift' | awk -F/ 'NR == 1 { print $3 }'
done | sort -u | tr '\n' ' ' | sed 's/ $//')"
echo "foundation_essentials_importers=$(grep -rlE '^\s*import\s+FoundationEssentials' Sources | cut -d/ -f2 | sort -u | tr '\n' ' ' | sed 's/ $//')"

if [ "$skip_static" = 1 ]; then
    if [ -x .build-static/release/edge-agent ]; then
        echo "static_note=from an earlier build in .build-static (not rebuilt: --skip-static)"
    else
        echo "static_note=not built (--skip-static; make bench builds it)"
        exit 0
    fi
else
    # The link map names, for each archive member linked, the object and symbol that pulled it in:
    # the first libFoundation.a member tells which call of ours brought Foundation (and ICU) back.
    # The same command as `make release-static` (its linker options are explained there).
    # The map is written next to the binary: when the binary is up to date SwiftPM does not link
    # again, and the map of the link that made it is still the right one.
    SWIFT="$swift" scripts/build-static.sh -Xlinker -Map="$PWD/.build-static/edge-agent.map" > "$out/static-build.log" 2>&1 ||
        { echo "bench/footprint.sh: static build failed, see $out/static-build.log" >&2; tail -20 "$out/static-build.log" >&2; exit 1; }
fi
static=.build-static/release/edge-agent
[ -s .build-static/edge-agent.map ] && [ ! .build-static/edge-agent.map -ot "$static" ] && cp .build-static/edge-agent.map "$out/static.map"
strip -o "$out/edge-agent.static.stripped" "$static"
echo "static_bytes=$(size_of "$static")"
echo "static_stripped_bytes=$(size_of "$out/edge-agent.static.stripped")"
ldd "$static" > "$out/ldd-static.txt" 2>&1 || true
echo "static_libraries=$(awk '/=>/ { print $1 }' "$out/ldd-static.txt" | sed 's/\.so.*//' | tr '\n' ' ' | sed 's/ $//')"
# ICU's data table inside the static binary (symbol icudtNN_dat, brought in by Foundation's
# internationalization layer), and the defined symbols of ICU's code (C++ namespace icu_NN).
icu_hex=$(nm --defined-only -S "$static" 2>/dev/null | awk '$4 ~ /^icudt[0-9]+_dat$/ && !h { h = $2 } END { print h }')
echo "static_icu_data_bytes=$(( 16#${icu_hex:-0} ))"
echo "static_icu_symbols=$(nm --defined-only -C "$static" 2>/dev/null | grep -c ' icu_[0-9]*::' || true)"
echo "static_foundation_symbols=$(nm --defined-only "$static" 2>/dev/null | grep -c ' \$s10Foundation' || true)"
# How current scripts/edge-agent.order is: the functions it lists that this binary no longer
# defines (renamed, respecialized or removed since scripts/hot-symbols.sh made the list). Their
# successors are not listed either, so they sit among the cold code and each maps its 64 KB
# around it (docs/performance.md, "The margin at 511961f": 268 missing cost 0.5 MB of RSS).
# Names with a space or parenthesis are callgrind's own entries, not symbols.
nm --defined-only "$static" 2>/dev/null | awk '{ print $3 }' | sort -u > "$out/static-symbols.txt"
grep -v '[ (]' scripts/edge-agent.order | sort -u > "$out/order-listed.txt"
comm -23 "$out/order-listed.txt" "$out/static-symbols.txt" > "$out/order-missing.txt"
order_listed=$(wc -l < "$out/order-listed.txt") order_missing=$(wc -l < "$out/order-missing.txt")
echo "static_order_listed=$order_listed"
echo "static_order_missing=$order_missing"
if [ $((order_missing * 100)) -gt "$order_listed" ]; then
    echo "bench/footprint.sh: $order_missing of the $order_listed functions in scripts/edge-agent.order are not in this binary" \
        "(list in $out/order-missing.txt): the order file is stale, regenerate it with scripts/hot-symbols.sh" >&2
fi
# The map is lld's (scripts/build-static.sh links with lld): one line per output section, input
# section (`path/object.o:(.text.name)`, `lib.a(member.o):(.text)`) and symbol, columns VMA, LMA,
# size, alignment, then the name.
if [ -s "$out/static.map" ]; then
    pulled_by=$(grep -m1 '/libFoundation\.a(' "$out/static.map" | sed -E 's/.*\/(libFoundation\.a\([^)]*\)).*/\1/' || true)
    echo "static_foundation_pulled_by=${pulled_by:-nothing (libFoundation.a not linked)}"
fi
# What each module of ours, each dependency and each static library adds: bytes of the input
# sections the linker kept in loaded sections (code, data, unwind tables; debug info and symbol
# tables excluded), from the link map, largest first (after identical-code folding).
if [ -s "$out/static.map" ]; then
    awk 'function hex(h,   i, c, v) { v = 0; h = tolower(h)
             for (i = 1; i <= length(h); i++) { c = index("0123456789abcdef", substr(h, i, 1)) - 1; v = v * 16 + c }
             return v }
         NR == 1 { next }
         NF == 5 && $5 !~ /:\(/ { out = $5; next }
         out ~ /^\.(debug|comment|symtab|strtab|shstrtab|note|gnu_debug)/ { next }
         NF == 5 && $5 ~ /:\(/ {
             f = $5; sub(/:\(.*/, "", f)
             if (match(f, /\/[^\/]+\.build\//)) c = substr(f, RSTART + 1, RLENGTH - 8)
             else if (match(f, /\/[^\/]+\.a\(/)) c = substr(f, RSTART + 1, RLENGTH - 2)
             else { n = split(f, p, "/"); c = p[n] }
             size[c] += hex($3)
         }
         END { for (c in size) printf "%d %s\n", size[c], c }' "$out/static.map" | sort -rn > "$out/static-by-component.txt"
    echo "static_by_component=$(head -16 "$out/static-by-component.txt" | awk '{ printf "%s%s:%d", (NR > 1 ? "," : ""), $2, $1 }')"
fi
# The largest sections of the stripped static binary.
size -A "$out/edge-agent.static.stripped" | awk 'NR > 2 && $1 != "Total" && $2 > 1000000 { printf "%s:%d ", $1, $2 } END { print "" }' |
    sed 's/ $//' | sed 's/^/static_big_sections=/'
