#!/usr/bin/env node
// bench.js — the Node.js package side by side with its peers, in one run
// (make bench-node). Each figure is measured in a fresh child process
// (bench/node/measure.js); the two sides of a ratio alternate 3 times and
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
function alternate(a, b, pick) {
  const as = [];
  const bs = [];
  for (let i = 0; i < ROUNDS; i++) {
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

// 1. noop call: Node (default signal mask: deferred) vs C
const [node, c, nodeRuns, cRuns] = alternate(() => measure('noop'), cNoop, fastest);
row('noop call from Node vs from C (target: Node ≤ 2x C)', `${ns(node)} (db.call, full result)`, `${ns(c)} (interstice_call from C)`, c.ns / node.ns, 0.5);
notes.push(`noop call, ${ROUNDS} alternating runs: Node ${nodeRuns.map((r) => Math.round(r.ns)).join(', ')} ns; C ${cRuns.map((r) => Math.round(r.ns)).join(', ')} ns (best of 5 batches of 200k calls each)`);
const [perCall] = alternate(() => measure('noop', { INTERSTICE_NODE_SIGMASK: 'call' }), null, fastest);
row('noop call from Node, signal mask restored after every call, vs from C', `${ns(perCall)} (INTERSTICE_NODE_SIGMASK=call)`, ns(c), c.ns / perCall.ns, null);
const [unsafe] = alternate(() => measure('noop', { INTERSTICE_NODE_SIGMASK: 'off' }), null, fastest);
row('noop call from Node without any signal mask (unsafe floor) vs from C', `${ns(unsafe)} (INTERSTICE_NODE_SIGMASK=off)`, ns(c), c.ns / unsafe.ns, null);
notes.push(`one block/restore pair of the signal mask (two rt_sigprocmask) costs ${Math.round(node.sigmaskPairNs)} ns here; the deferred mode pays it once per event-loop turn`);
const [asyncNoop] = alternate(() => measure('noop-async'), null, fastest);
row('noop callAsync from Node (8 in flight) vs sync call', `${ns(asyncNoop)} (db.callAsync)`, ns(node), node.ns / asyncNoop.ns, null);

// 2. noop call vs Extism
const [node2, extism] = alternate(() => measure('noop'), () => measure('extism'), fastest);
row('noop call from Node vs @extism/extism noop export (target: faster)', `${ns(node2)} (db.call)`, `${ns(extism)} (await plugin.call('noop'), ${extism.version})`, extism.ns / node2.ns, 1);
const [node3, extismSync] = alternate(() => measure('noop'), () => measure('extism-raw'), fastest);
row('noop call from Node vs the same export called by V8 directly (floor)', `${ns(node3)} (db.call)`, `${ns(extismSync)} (WebAssembly export, no SDK)`, extismSync.ns / node3.ns, null);

// 3. durable calls vs better-sqlite3 WAL synchronous=FULL
const [dsync, sqlite] = alternate(() => measure('durable-sync'), () => measure('sqlite'), most);
row('durable calls, sync, 1 caller vs better-sqlite3 WAL FULL (target ≥ 1x)', `${ops(dsync)} (db.call, sync=always)`, `${ops(sqlite)} (better-sqlite3 ${sqlite.version} WAL synchronous=FULL, 1-row transactions)`, dsync.ops / sqlite.ops, 1);
notes.push(`durable sync calls: ${dsync.records} records in ${dsync.fdatasyncs} fdatasyncs`);
const [dasync, sqlite2] = alternate(() => measure('durable-async', { UV_THREADPOOL_SIZE: '16' }), () => measure('sqlite'), most);
row('durable calls, 16 concurrent callAsync vs better-sqlite3 WAL FULL (target ≥ 5x)', `${ops(dasync)} (db.callAsync, 16 in flight, UV_THREADPOOL_SIZE=16)`, `${ops(sqlite2)} (better-sqlite3, one connection: its writes are synchronous)`, dasync.ops / sqlite2.ops, 5);
notes.push(`16 concurrent callAsync: ${(dasync.records / dasync.fdatasyncs).toFixed(1)} records per fdatasync (${dasync.records} records, ${dasync.fdatasyncs} fdatasyncs)`);
const [dasync4] = alternate(() => measure('durable-async'), null, most);
row('durable calls, 16 concurrent callAsync, default threadpool (4) vs better-sqlite3', `${ops(dasync4)} (UV_THREADPOOL_SIZE unset)`, ops(sqlite2), dasync4.ops / sqlite2.ops, null);
notes.push(`with the default threadpool of 4: ${(dasync4.records / dasync4.fdatasyncs).toFixed(1)} records per fdatasync`);
const [sqlite8] = alternate(() => measure('sqlite-workers'), null, most);
notes.push(`better-sqlite3 from 8 worker_threads, one connection each (busy_timeout 5 s): ${ops(sqlite8)}; the 1-connection figure is the peer above`);

const seconds = Math.round((Date.now() - started) / 1000);
const md = [
  '',
  '## Node.js (bench/node)',
  '',
  `Produced by \`make bench-node\` (\`node bench/node/bench.js --wasm ${path.relative(root, wasm)} --c-bench ${path.relative(root, cBench)}\`) on ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC, ${os.platform()}/${os.arch()}, ${os.cpus().length} CPUs, node ${process.version}; the run took ${seconds}s.`,
  'Each figure is a fresh process; the two sides of a ratio alternate 3 times and each side is read by its best run. The ratio is computed so that > 1 means Interstice is better.',
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
