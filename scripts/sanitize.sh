#!/usr/bin/env bash
# make sanitize: the whole test suite under ThreadSanitizer, then under AddressSanitizer
# (with LeakSanitizer), each in its own build folder (.build-tsan, .build-asan).
#
# Sanitizer reports of the test process and of every program the tests start (edge-agent,
# edge-bench, all built with the sanitizer) go to files in $SANITIZE_LOGS (default
# .build-sanitize/), not to stderr, so they cannot fill a pipe a test is reading. At the end
# the reports are printed and counted; the target fails on a report in our code (see the end)
# or a failed test.
# Reports caused by code outside ours are suppressed, with reasons, in
# scripts/tsan-suppressions.txt and scripts/lsan-suppressions.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
logs=$(realpath -m "${SANITIZE_LOGS:-.build-sanitize}")
rm -rf "$logs"; mkdir -p "$logs"
status=0

echo "== ThreadSanitizer (swift test --sanitize=thread --build-path .build-tsan)"
TSAN_OPTIONS="log_path=$logs/tsan suppressions=$PWD/scripts/tsan-suppressions.txt ${TSAN_OPTIONS:-}" \
    $SWIFT test --sanitize=thread --build-path .build-tsan > "$logs/tsan-tests.txt" 2>&1 || status=1
grep -E "^(✔|✘) Test run|error:" "$logs/tsan-tests.txt" | tail -3

echo "== AddressSanitizer (swift test --sanitize=address --build-path .build-asan)"
ASAN_OPTIONS="log_path=$logs/asan detect_leaks=1 ${ASAN_OPTIONS:-}" \
LSAN_OPTIONS="suppressions=$PWD/scripts/lsan-suppressions.txt print_suppressions=0 ${LSAN_OPTIONS:-}" \
    $SWIFT test --sanitize=address --build-path .build-asan > "$logs/asan-tests.txt" 2>&1 || status=1
grep -E "^(✔|✘) Test run|error:" "$logs/asan-tests.txt" | tail -3

# A report counts against us when it is a race or a memory error, or a leak with one of our
# source files (Sources/) in its stacks. Leaks only in Foundation/XCTest objects that the
# test code used (Data(contentsOf:), Process) are printed and counted apart.
reports=$(find "$logs" -name 'tsan.*' -o -name 'asan.*' | sort)
ours=0 outside=0
for report in $reports; do
    if grep -q "LeakSanitizer" "$report" && ! grep -q "ERROR: AddressSanitizer" "$report" && ! grep -q "/Sources/" "$report"; then
        outside=$((outside + 1))
        echo "---- $report (leaks outside our code: $(grep -c 'leak of' "$report") stacks, $(grep SUMMARY "$report"))"
        grep -A5 "^Direct leak" "$report" | grep -E "#[1-5] " | sed -E 's/ \(\/.*//; s/.*0x[0-9a-f]+ in //' | cut -c1-120 | sort | uniq -c | sort -rn | head -8
    else
        ours=$((ours + 1))
        echo "---- $report"
        cat "$report"
    fi
done
echo "sanitizer reports: $ours in our code, $outside leak reports outside it (test logs: $logs/tsan-tests.txt, $logs/asan-tests.txt)"
[ "$ours" -eq 0 ] || status=1
exit $status
