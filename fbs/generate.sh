#!/usr/bin/env bash
# generate.sh — regenerates the FlatBuffers code committed beside fbs/.
#
#   fbs/generate.sh          write the generated code into the tree
#   fbs/generate.sh --check  fail if the committed code differs from fresh output
#
# Outputs (one schema, three languages, all from Debian's flatc; the
# cluster's raft entries, fbs/cluster.fbs, for Go only):
#   Go          fbs/fb/                          (package fb)
#   Python      bindings/python/interstice/fb/   (package interstice.fb)
#   TypeScript  bindings/node/src/fb/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v flatc >/dev/null || { echo "generate: flatc not found (apt-get install flatbuffers-compiler)" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
schemas=(fbs/value.fbs fbs/schema.fbs fbs/transaction.fbs fbs/snapshot.fbs)
# cluster.fbs (the raft log's entries) is read by the Go cluster package
# alone: Go only.
flatc --go --go-namespace fb -o "$tmp/go" "${schemas[@]}" fbs/cluster.fbs
flatc --python -o "$tmp/py" "${schemas[@]}"
flatc --ts -o "$tmp/ts" "${schemas[@]}"
gofmt -w "$tmp/go/fb"
declare -A dest=(
  ["$tmp/go/fb"]=fbs/fb
  ["$tmp/py/interstice/fb"]=bindings/python/interstice/fb
  ["$tmp/ts/interstice/fb"]=bindings/node/src/fb
)
status=0
for src in "${!dest[@]}"; do
  dst=${dest[$src]}
  if [[ "${1:-}" == "--check" ]]; then
    if ! diff -r "$src" "$dst" >/dev/null 2>&1; then
      echo "generate: $dst is stale; run 'make generate' and commit the result" >&2
      diff -r "$src" "$dst" | head -20 >&2 || true
      status=1
    fi
  else
    rm -rf "$dst"; mkdir -p "$(dirname "$dst")"; cp -r "$src" "$dst"
  fi
done
exit $status
