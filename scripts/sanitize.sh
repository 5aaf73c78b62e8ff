#!/usr/bin/env bash
# make sanitize: the whole test suite under ThreadSanitizer, then under AddressSanitizer
# (with LeakSanitizer), each in its own build folder (.build-tsan, .build-asan).
#
# Sanitizer reports of the test process and of every program the tests start (edge-agent,
# edge-bench, all built with the sanitizer) go to files in $SANITIZE_LOGS (default
# .build-sanitize/), not to stderr, so they cannot fill a pipe a test is reading. At the end
# the reports are printed and counted; the target fails when there is any, or a test fails.
# Known leaks outside our code are suppressed in scripts/lsan-suppressions.txt (with reasons).
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
logs=$(realpath -m "${SANITIZE_LOGS:-.build-sanitize}")
rm -rf "$logs"; mkdir -p "$logs"
status=0

echo "== ThreadSanitizer (swift test --sanitize=thread --build-path .build-tsan)"
TSAN_OPTIONS="log_path=$logs/tsan ${TSAN_OPTIONS:-}" \
    $SWIFT test --sanitize=thread --build-path .build-tsan > "$logs/tsan-tests.txt" 2>&1 || status=1
grep -E "^(✔|✘) Test run|error:" "$logs/tsan-tests.txt" | tail -3

echo "== AddressSanitizer (swift test --sanitize=address --build-path .build-asan)"
ASAN_OPTIONS="log_path=$logs/asan detect_leaks=1 ${ASAN_OPTIONS:-}" \
LSAN_OPTIONS="suppressions=$PWD/scripts/lsan-suppressions.txt print_suppressions=0 ${LSAN_OPTIONS:-}" \
    $SWIFT test --sanitize=address --build-path .build-asan > "$logs/asan-tests.txt" 2>&1 || status=1
grep -E "^(✔|✘) Test run|error:" "$logs/asan-tests.txt" | tail -3

reports=$(find "$logs" -name 'tsan.*' -o -name 'asan.*' | sort)
count=0
for report in $reports; do
    count=$((count + 1))
    echo "---- $report"
    cat "$report"
done
echo "sanitizer reports: $count (test logs: $logs/tsan-tests.txt, $logs/asan-tests.txt)"
[ "$count" -eq 0 ] || status=1
exit $status
