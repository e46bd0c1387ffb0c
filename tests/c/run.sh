#!/bin/sh
# run.sh TEST... — runs the C test programs built in $BUILD/tests/c from the
# repository root, each in its own temporary directory, and reports timing.
set -u
BUILD=${BUILD:-build}
WASM=${WASM:-$BUILD/wasm}
export WASM VECTORS=${VECTORS:-tests/vectors}
fail=0
for t in "$@"; do
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/istc-run-XXXXXX")
  start=$(date +%s.%N)
  if TMPDIR=$tmp "$BUILD/tests/c/$t" > "$tmp/out" 2>&1; then
    status=ok
  else
    status=FAIL; fail=1
  fi
  end=$(date +%s.%N)
  printf '%-20s %s (%.2fs)\n' "$t" "$status" "$(echo "$end - $start" | bc)"
  if [ $status = FAIL ]; then sed 's/^/    /' "$tmp/out"; fi
  rm -rf "$tmp"
done
exit $fail
