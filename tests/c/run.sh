#!/bin/sh
# run.sh TEST... — runs the C test programs built in $BUILD/tests/c from the
# repository root, each in its own temporary directory, reports each one's
# time and ends with one line: "C tests: N passed, M failed (Ts)".
set -u
BUILD=${BUILD:-build}
WASM=${WASM:-$BUILD/wasm}
export WASM VECTORS=${VECTORS:-tests/vectors}
passed=0
failed=0
all_start=$(date +%s.%N)
for t in "$@"; do
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/istc-run-XXXXXX")
  start=$(date +%s.%N)
  if TMPDIR=$tmp "$BUILD/tests/c/$t" > "$tmp/out" 2>&1; then
    status=ok; passed=$((passed + 1))
  else
    status=FAIL; failed=$((failed + 1))
  fi
  end=$(date +%s.%N)
  printf '%-20s %s (%.2fs)\n' "$t" "$status" "$(awk "BEGIN{print $end - $start}")"
  if [ $status = FAIL ]; then sed 's/^/    /' "$tmp/out"; fi
  rm -rf "$tmp"
done
printf 'C tests: %d passed, %d failed (%.1fs)\n' "$passed" "$failed" "$(awk "BEGIN{print $(date +%s.%N) - $all_start}")"
[ "$failed" -eq 0 ]
