#!/usr/bin/env node
// bench.js — the Node.js package side by side with its peers, in one run
// (make bench-node). Each figure is measured in a fresh child process
// (bench/node/measure.js); the two sides of a ratio alternate 3 times (6 for durable sync calls) and
// each side is read by its best run, as bench-c reads C and Go.
//
//   node bench/node/bench.js --wasm build/wasm/noop.wasm --c-bench build/tests/c/bench_noop [--out FILE]
//
// Prints a Markdown section (and appends it to FILE with --out):
//   noop call from Node vs the same call from C          target: Node <= 2x C
//   noop call from Node vs @extism/extism's noop export  target: faster
//   durable calls from Node vs better-sqlite3 WAL FULL   targets: sync >= 1x, concurrent callAsync >= 5x
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const root = path.resolve(__dirname, '..', '..');
const wasm = path.resolve(arg('wasm', path.join(root, 'build', 'wasm', 'noop.wasm')));
const cBench = path.resolve(arg('c-bench', path.join(root, 'build', 'tests', 'c', 'bench_noop')));
const out = arg('out');
const ROUNDS = Number(arg('rounds', 3));
const started = Date.now();

function measure(what, env = {}) {
  const text = execFileSync(process.execPath, [path.join(__dirname, 'measure.js'), what, wasm], {
    encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20,
  });
  return JSON.parse(text.trim().split('\n').pop());
}

function cNoop() {
  const text = execFileSync(cBench, ['--noop-only', wasm], { encoding: 'utf8' });
  const m = /c_noop_call (\d+) ns/.exec(text);
  if (!m) throw new Error(`bench_noop printed no figure: ${text}`);
  return { ns: Number(m[1]) };
}

/** best runs a (and b) ROUNDS times, alternating; returns the best of each. */
function alternate(a, b, pick, rounds = ROUNDS) {
  const as = [];
  const bs = [];
  for (let i = 0; i < rounds; i++) {
    as.push(a());
    if (b) bs.push(b());
  }
  return [as.reduce(pick), b ? bs.reduce(pick) : null, as, bs];
}
const fastest = (x, y) => (y.ns < x.ns ? y : x);
const most = (x, y) => (y.ops > x.ops ? y : x);

const rows = [];
const notes = [];
function row(name, mine, peer, ratio, target) {
  const met = target === null ? 'informative' : ratio >= target ? 'met' : '**below target**';
  rows.push(`| ${name} | ${mine} | ${peer} | ${ratio.toFixed(2)}x | ${target === null ? 'none' : `≥ ${target.toFixed(2)}x`} | ${met} |`);
}
const ns = (x) => `${Math.round(x.ns)} ns/call`;
const ops = (x) => (x.ops >= 10000 ? `${(x.ops / 1000).toFixed(1)}k ops/s` : `${Math.round(x.ops)} ops/s`);

// 1. noop call vs C. bench_noop's interstice_call asks for no result: db.run
// is that call; db.call also has the library build the result JSON.
const [run, c, runRuns, cRuns] = alternate(() => measure('noop-run'), cNoop, fastest);
row('noop call from Node vs from C (target: Node ≤ 2x C)', `${ns(run)} (db.run: the LSN, as C gets)`, `${ns(c)} (interstice_call from C, no result)`, c.ns / run.ns, 0.5);
notes.push(`noop call, ${ROUNDS} alternating runs: Node db.run ${runRuns.map((r) => Math.round(r.ns)).join(', ')} ns; C ${cRuns.map((r) => Math.round(r.ns)).join(', ')} ns (each the best of 5 batches of 200k calls)`);
const [node, c2] = alternate(() => measure('noop'), cNoop, fastest);
row('noop call from Node with the full result vs from C', `${ns(node)} (db.call: lsn, timestamp, mutations, cascade)`, ns(c2), c2.ns / node.ns, null);
notes.push('db.call asks interstice_call for its result JSON (built in Go, copied to C memory by two cgo calls, parsed here); the difference to db.run is that cost');
const [perCall] = alternate(() => measure('noop-run', { INTERSTICE_NODE_SIGMASK: 'call' }), null, fastest);
row('noop db.run, signal mask restored after every call, vs from C', `${ns(perCall)} (INTERSTICE_NODE_SIGMASK=call)`, ns(c), c.ns / perCall.ns, null);
const [unsafe] = alternate(() => measure('noop-run', { INTERSTICE_NODE_SIGMASK: 'off' }), null, fastest);
row('noop db.run without any signal mask (unsafe floor) vs from C', `${ns(unsafe)} (INTERSTICE_NODE_SIGMASK=off)`, ns(c), c.ns / unsafe.ns, null);
notes.push(`one block/restore pair of the signal mask (two rt_sigprocmask) costs ${Math.round(run.sigmaskPairNs)} ns here; the default (deferred) mode pays it once per event-loop turn`);
const [asyncNoop] = alternate(() => measure('noop-async'), null, fastest);
row('noop callAsync from Node (8 in flight) vs sync db.call', `${ns(asyncNoop)} (db.callAsync)`, ns(node), node.ns / asyncNoop.ns, null);

// 2. noop call vs Extism
const [run2, extism] = alternate(() => measure('noop-run'), () => measure('extism'), fastest);
row('noop call from Node vs @extism/extism noop export (target: faster)', `${ns(run2)} (db.run)`, `${ns(extism)} (await plugin.call('noop'), ${extism.version})`, extism.ns / run2.ns, 1);
const [node2, extism2] = alternate(() => measure('noop'), () => measure('extism'), fastest);
row('noop call from Node with the full result vs @extism/extism', `${ns(node2)} (db.call)`, ns(extism2), extism2.ns / node2.ns, null);
const [extismRaw] = alternate(() => measure('extism-raw'), null, fastest);
notes.push(`the same noop export called directly through V8's WebAssembly, no SDK: ${extismRaw.ns.toFixed(1)} ns (Extism's cost is its SDK's per-call work)`);

// 3. durable calls vs better-sqlite3 WAL synchronous=FULL
// Both sides are one fdatasync per call, so the ratio sits near parity and
// the disk's drift moves it: more alternating rounds for this one.
const [dsync, sqlite] = alternate(() => measure('durable-sync'), () => measure('sqlite'), most, 2 * ROUNDS);
row('durable calls, sync, 1 caller vs better-sqlite3 WAL FULL (target ≥ 1x)', `${ops(dsync)} (db.call, sync=always)`, `${ops(sqlite)} (better-sqlite3 ${sqlite.version} WAL synchronous=FULL, 1-row transactions)`, dsync.ops / sqlite.ops, 1);
notes.push(`durable sync calls: ${dsync.records} records in ${dsync.fdatasyncs} fdatasyncs`);
const [dasync, sqlite2] = alternate(() => measure('durable-async'), () => measure('sqlite'), most);
row('durable calls, 16 concurrent callAsync vs better-sqlite3 WAL FULL (target ≥ 5x)', `${ops(dasync)} (db.callAsync, 16 in flight)`, `${ops(sqlite2)} (better-sqlite3, one connection: its writes are synchronous)`, dasync.ops / sqlite2.ops, 5);
notes.push(`16 concurrent callAsync: ${(dasync.records / dasync.fdatasyncs).toFixed(1)} records per fdatasync (${dasync.records} records, ${dasync.fdatasyncs} fdatasyncs)`);
const [dasync8] = alternate(() => measure('durable-async', { BENCH_IN_FLIGHT: '8' }), null, most);
row('durable calls, 8 concurrent callAsync vs better-sqlite3', `${ops(dasync8)} (8 in flight)`, ops(sqlite2), dasync8.ops / sqlite2.ops, null);
const [dasync64] = alternate(() => measure('durable-async', { BENCH_IN_FLIGHT: '64' }), null, most);
row('durable calls, 64 concurrent callAsync vs better-sqlite3', `${ops(dasync64)} (64 in flight)`, ops(sqlite2), dasync64.ops / sqlite2.ops, null);
notes.push(`64 concurrent callAsync: ${(dasync64.records / dasync64.fdatasyncs).toFixed(1)} records per fdatasync`);
const [allAtOnce] = alternate(() => measure('durable-async', { BENCH_ALL_AT_ONCE: '1' }), null, most);
row('durable calls, 8000 callAsync queued at once vs better-sqlite3', `${ops(allAtOnce)} (no JS round trip between calls)`, ops(sqlite2), allAtOnce.ops / sqlite2.ops, null);
const cFull = execFileSync(cBench, [wasm], { encoding: 'utf8' });
const c8 = Number((/c_durable_call_8threads (\d+)/.exec(cFull) || [])[1]);
const c1 = Number((/c_durable_call_1thread (\d+)/.exec(cFull) || [])[1]);
row('durable calls, 16 concurrent callAsync vs the same calls from 8 C threads (this machine\'s ceiling)', ops(dasync), `${ops({ ops: c8 })} (bench_noop, interstice_call_json, 8 threads)`, dasync.ops / c8, null);
row('durable calls, sync, 1 caller vs the same from 1 C thread', ops(dsync), `${ops({ ops: c1 })} (bench_noop, 1 thread)`, dsync.ops / c1, null);
const [sqlite8] = alternate(() => measure('sqlite-workers'), null, most);
notes.push(`better-sqlite3 from 8 worker_threads, one connection each (busy_timeout 5 s): ${ops(sqlite8)}; the 1-connection figure is the peer above`);

const seconds = Math.round((Date.now() - started) / 1000);
const md = [
  '',
  '## Node.js (bench/node)',
  '',
  `Produced by \`make bench-node\` (\`node bench/node/bench.js --wasm ${path.relative(root, wasm)} --c-bench ${path.relative(root, cBench)}\`) on ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC, ${os.platform()}/${os.arch()}, ${os.cpus().length} CPUs, node ${process.version}; the run took ${seconds}s.`,
  `Each figure is a fresh process; the two sides of a ratio alternate ${ROUNDS} times (${2 * ROUNDS} for durable sync calls, 4000 calls a side) and each side is read by its best run. The ratio is computed so that > 1 means Interstice is better.`,
  '',
  '| benchmark | Interstice | peer | ratio | target | |',
  '|---|---|---|---|---|---|',
  ...rows,
  '',
  'Notes:',
  '',
  ...notes.map((n) => `- ${n}`),
  '',
].join('\n');
process.stdout.write(md);
if (out) fs.appendFileSync(path.resolve(out), md);
