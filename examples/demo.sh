#!/usr/bin/env bash
# demo.sh — the whole Interstice story, end to end (run by `make demo`):
# load modules into a data directory, call reducers (each call is one
# durable transaction), crash a writer with SIGKILL, restart and replay the
# log without running WASM, snapshot, inspect and validate the log, and
# drive the same runtime from C through libinterstice.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/interstice
D=build/demo
rm -rf build/demo-c
rm -rf "$D"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# quote prints its arguments as a shell would need them typed, so that every
# printed command can be pasted: plain words bare, the rest in single quotes.
quote() {
  local a out=()
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=("$a"); else out+=("'${a//\'/\'\\\'\'}'"); fi
  done
  printf '%s' "${out[*]}"
}
run() { printf '$ %s\n' "$(quote "$@")"; "$@"; }

step "1. Load the counter and the lobby (+ lobbystats, which subscribes to lobby's players)"
run $B load $D build/wasm/counter.wasm
run $B load $D build/wasm/lobby.wasm
run $B load $D build/wasm/lobbystats.wasm

step "2. Call reducers: every call is fsynced to the log before it returns"
run $B call $D counter add '["visits", 3]'
run $B call $D counter add '{"name": "visits", "by": 4}'
run $B call $D lobby register '["ada"]'
run $B call $D lobby register '["grace"]'
run $B call $D lobby create_room '["arena", 4, ["ranked"]]'
run $B call $D lobby join '["ada", "arena"]'
printf '$ %s   # a bad call changes nothing\n' "$(quote $B call $D counter add '["visits", "not a number"]')"
$B call $D counter add '["visits", "not a number"]' || true

step "3. Crash: a writer is killed with SIGKILL in the middle of its calls"
# The writer runs in a process group of its own (setsid), so that one kill
# of that group, by the writer's pid, stops the loop and the call it is in.
setsid bash -c 'for i in $(seq 1 200); do "$0" call "$1" counter add "[\"crashes\", 1]" >/dev/null || exit; done' "$B" "$D" &
writer=$!
sleep 1.5
kill -9 -- "-$writer" 2>/dev/null || true
{ wait "$writer"; } 2>/dev/null || true
echo "writer $writer and its running call killed with SIGKILL"

step "4. Restart: replay the log (no WASM runs) and show the state"
run $B tables $D
run $B scan $D counter counters
run $B scan $D lobby players --json
run $B scan $D lobbystats activity

step "5. Snapshot, one more call, and restart from snapshot + log suffix"
run $B snapshot $D
run $B call $D counter add '["visits", 1]'
run $B tables $D

step "6. The log: validate, inspect, dump the last records as JSON"
run $B log validate $D/log
run $B log inspect $D/log
last=$($B log validate --json $D/log | grep -o '"\(LastLSN\|last_lsn\)": *[0-9]*' | grep -o '[0-9]*$' | head -1)
run $B log dump --json --from $((last - 1)) $D/log

step "7. The same runtime from C (examples/c/counter.c through libinterstice.so)"
run make -s example-c
run build/examples/counter build/wasm/counter.wasm build/demo-c
run build/examples/counter build/wasm/counter.wasm build/demo-c   # restarts: replays, no load
