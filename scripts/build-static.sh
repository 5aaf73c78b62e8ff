#!/usr/bin/env bash
# scripts/build-static.sh — the static agent: Swift runtime and libraries linked in, only
# libc, libstdc++, libm, libsqlite3 and libmodbus loaded at run time (`make release-static`,
# what `make install` installs and bench/footprint.sh measures). Output: .build-static/release/edge-agent.
#
#   scripts/build-static.sh [extra swift build arguments, e.g. -Xlinker -Map=FILE]
#   PACK_RELOCATIONS=0 scripts/build-static.sh     # for a target with glibc older than 2.36
#
# Optimized for size (-Osize, every Swift module, dependencies included): 516 KB less than -O
# (19,812,520 → 19,296,424 bytes stripped at commit d78ab71). The agent's hot path is system
# calls and SQLite more than Swift code: at 98 sensors × 10 Hz one run each measured 1.10 % of a
# core with -Osize and 1.00 % with -O, within this shared machine's noise. The dynamic build
# (`make release`, what the component benchmarks measure) stays -O.
#
# Laid out for a small resident set (docs/performance.md): the kernel maps a program's code in
# 64 KB chunks, so what counts is how many chunks the executed functions are spread over.
#   -function-sections   every Swift function in a section of its own (C and C++ too), so that
#                        the linker can place each one;
#   lld (-use-ld=lld) with --symbol-ordering-file=scripts/edge-agent.order: the functions
#                        `edge-agent run` executes (scripts/hot-symbols.sh lists them with
#                        callgrind) first and together, and scripts/edge-agent-text.ld puts the
#                        unnamed ones beside them. Objects compiled without function sections
#                        (the Swift runtime's Swift.o, _Concurrency.o, FoundationEssentials')
#                        move as a whole when one of their functions is listed;
#   -z pack-relative-relocs  the 1.1 MB of PIE relocations (.rela.dyn, read once by the loader)
#                        as a 9 KB bitmap (.relr.dyn). Needs glibc 2.36 or later on the target
#                        (the binary then requires GLIBC_ABI_DT_RELR; it required 2.35 before);
#                        PACK_RELOCATIONS=0 leaves them unpacked.
#   -disable-autolink-library Foundation, FoundationInternationalization (as scripts/build-
#                        release.sh does): TOMLKit's `import struct Foundation.Data` puts
#                        libFoundation.a on the link line, and lld, unlike gold, resolved a symbol
#                        from it that FoundationEssentials also defines, which dragged Foundation
#                        and ICU in (62 MB). Without the entries libFoundation.a is not linked at
#                        all; code that needed it would fail to link, naming the symbol.
#   --no-export-dynamic  The toolchain's static-stdlib-args.lnk says -export-dynamic, which puts
#                        every symbol of our modules and dependencies in .dynsym/.dynstr (about
#                        1.0 MB) for nobody: the agent loads no plug-ins. The price: a stripped
#                        binary's crash backtrace shows addresses instead of names; keep the
#                        unstripped binary (or `objcopy --only-keep-debug`) to symbolicate them.
#   --icf=safe           folds functions with identical code whose address is never taken
#                        (generic specializations, thunks).
# Not used: -no-pie would also drop the relocations but gives up address space layout
# randomization of the executable.
set -euo pipefail
cd "$(dirname "$0")/.."
swift=${SWIFT:-swift}
flags=(-Xswiftc -Osize -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcxx -ffunction-sections)
for library in Foundation FoundationInternationalization; do
    flags+=(-Xswiftc -Xfrontend -Xswiftc -disable-autolink-library -Xswiftc -Xfrontend -Xswiftc "$library")
done
flags+=(-Xswiftc -use-ld=lld -Xlinker --no-export-dynamic -Xlinker --icf=safe
    -Xlinker --symbol-ordering-file="$PWD/scripts/edge-agent.order" -Xlinker --no-warn-symbol-ordering
    -Xlinker -T -Xlinker "$PWD/scripts/edge-agent-text.ld")
if [ "${PACK_RELOCATIONS:-1}" != 0 ]; then flags+=(-Xlinker -z -Xlinker pack-relative-relocs); fi
exec "$swift" build -c release --static-swift-stdlib --scratch-path .build-static --product edge-agent "${flags[@]}" "$@"
