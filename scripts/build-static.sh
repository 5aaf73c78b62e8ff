#!/usr/bin/env bash
# scripts/build-static.sh — the static agent: Swift runtime and libraries linked in, only
# libc, libstdc++, libm, libsqlite3 and libmodbus loaded at run time (`make release-static`,
# and what bench/footprint.sh measures). Output: .build-static/release/edge-agent.
#
#   scripts/build-static.sh [extra swift build arguments, e.g. -Xlinker -Map=FILE]
#
# Optimized for size (-Osize, every Swift module, dependencies included): 516 KB less than -O
# (19,812,520 → 19,296,424 bytes stripped at commit d78ab71). The agent's hot path is system
# calls and SQLite more than Swift code: at 98 sensors × 10 Hz one run each measured 1.10 % of a
# core with -Osize and 1.00 % with -O, within this shared machine's noise. The dynamic build
# (`make release`, what `make install` installs and the component benchmarks measure) stays -O.
#
# Two linker options on top of `--static-swift-stdlib`, each measured on the stripped binary
# (bench/footprint.sh; figures of 2026-11-29, commit a936a1a):
#   --no-export-dynamic  The toolchain's static-stdlib-args.lnk says -export-dynamic, which puts
#                        every symbol of our modules and dependencies in .dynsym/.dynstr (about
#                        1.0 MB) for nobody: the agent loads no plug-ins. The price: a stripped
#                        binary's crash backtrace shows addresses instead of names; keep the
#                        unstripped binary (or `objcopy --only-keep-debug`) to symbolicate them.
#   --icf=safe           gold folds functions with identical code whose address is never taken
#                        (generic specializations, thunks): about 0.28 MB.
# Not used: -no-pie would drop .rela.dyn (1.1 MB, read once at start-up) but gives up address
# space layout randomization of the executable; lld (-use-ld=lld) would pack those relocations
# (-z pack-relative-relocs) but resolves a symbol that libFoundation.a also defines from
# libFoundation.a, which drags Foundation and ICU back in (62 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
swift=${SWIFT:-swift}
exec "$swift" build -c release --static-swift-stdlib --scratch-path .build-static --product edge-agent \
    -Xswiftc -Osize -Xlinker --no-export-dynamic -Xlinker --icf=safe "$@"
