#!/usr/bin/env bash
# scripts/build-release.sh — the release build (`make release`, what `make bench` measures
# beside the static build that `make install` installs): `swift build -c release` without autolinking Foundation and
# FoundationInternationalization into the agent.
#
#   scripts/build-release.sh [extra swift build arguments]
#
# TOMLKit says `import struct Foundation.Data`, so every object that imports it, directly or
# through Configuration, carries autolink entries for libFoundation and
# libFoundationInternationalization (which loads ICU), and the Swift driver puts them before any
# `--as-needed`: the dynamic agent loaded libFoundation, FoundationInternationalization and
# _FoundationICU though nothing calls them. Without the entries it loads only
# FoundationEssentials (TOMLKit's Data and Calendar, our JSON coding): peak RSS at 98 sensors ×
# 10 Hz 25,848 KiB instead of 31,372 KiB (one run each, commit d78ab71). Should code of ours or of
# a dependency ever need Foundation itself, the link fails and names the symbol; edge-bench links
# Foundation by name for TestSupport (Package.swift).
#
# A plain `swift build -c release` still works and links Foundation as before; the two builds
# share .build, so switching between them recompiles.
set -euo pipefail
cd "$(dirname "$0")/.."
no_autolink=()
for library in Foundation FoundationInternationalization; do
    no_autolink+=(-Xswiftc -Xfrontend -Xswiftc -disable-autolink-library -Xswiftc -Xfrontend -Xswiftc "$library")
done
exec "${SWIFT:-swift}" build -c release "${no_autolink[@]}" "$@"
