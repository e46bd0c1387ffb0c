'use strict';
// 07-signals: the signal hazard (README "Signals"). Each run is a child
// process with SIGUSR2 and SIGINT listeners that spawns child processes
// (SIGCHLD) and makes sync and async calls, while this test floods it with
// SIGUSR2 (a bash loop of kill) and sends it SIGINTs. Every run must exit 0
// with its counts (0 crashes) within its time bound (0 hangs).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { spawn } = require('child_process');
const { wasm, tmpdir, cacheDir } = require('./helpers');

const RUNS = Number(process.env.INTERSTICE_SIGNAL_RUNS || 20);
const RUN_MS = 1200;
const BOUND_MS = 30000; // a run that has not exited by then hung

function run(dir, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'signal-child.js'), dir, wasm('alltypes'), wasm('noop'), cacheDir, String(RUN_MS)],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    let flood = null;
    let ints = null;
    let hung = false;
    const bound = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, BOUND_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      if (flood === null && out.includes('ready\n')) {
        flood = spawn('bash', ['-c', `while kill -USR2 ${child.pid} 2>/dev/null; do :; done`], { stdio: 'ignore' });
        ints = setInterval(() => { try { process.kill(child.pid, 'SIGINT'); } catch { /* exited */ } }, 25);
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code, signal) => {
      clearTimeout(bound);
      clearInterval(ints);
      if (flood) flood.kill('SIGKILL');
      const last = out.trim().split('\n').pop();
      let counts = null;
      try { counts = JSON.parse(last); } catch { /* no counts: it crashed */ }
      resolve({ code, signal, hung, counts, err });
    });
  });
}

test(`signals: ${RUNS} runs under a SIGUSR2 flood, SIGINTs and SIGCHLDs: 0 crashes, 0 hangs`, async (t) => {
  const base = tmpdir(t);
  const results = [];
  // two runs at a time; every fifth run restores the mask after every call
  // (INTERSTICE_NODE_SIGMASK=call) instead of when the loop turns
  for (let i = 0; i < RUNS; i += 2) {
    const pair = [i, i + 1].filter((k) => k < RUNS).map((k) =>
      run(path.join(base, `run${k}`), k % 5 === 4 ? { INTERSTICE_NODE_SIGMASK: 'call' } : {}).then((r) => ({ k, ...r })));
    results.push(...await Promise.all(pair));
  }
  const bad = results.filter((r) => r.hung || r.code !== 0 || !r.counts);
  assert.deepEqual(bad.map((r) => `run ${r.k}: ${r.hung ? 'HUNG' : `exit ${r.code} ${r.signal}`}: ${r.err.slice(0, 600)}`), []);
  for (const r of results) {
    assert.ok(r.counts.usr2 > 0, `run ${r.k} received SIGUSR2s`);
    assert.ok(r.counts.int > 0, `run ${r.k} received SIGINTs`);
    assert.ok(r.counts.children > 0, `run ${r.k} reaped children`);
    assert.ok(r.counts.sync > 0 && r.counts.async > 0, `run ${r.k} made calls`);
    assert.equal(r.counts.rows, r.counts.async / 2, `run ${r.k}: every async durable call committed`);
    assert.doesNotMatch(r.err, /fatal error|traceback|SIGSEGV/);
  }
  const sum = (k) => results.reduce((a, r) => a + r.counts[k], 0);
  t.diagnostic(`${results.length} runs: ${sum('usr2')} SIGUSR2, ${sum('int')} SIGINT, ${sum('children')} children, ${sum('sync')} sync + ${sum('async')} async calls`);
});

// The JS thread's signal mask around calls, read from /proc (bit n-1 of
// SigBlk is signal n).
const probe = `
const fs = require('fs');
const ist = require(process.env.PKG);
const blk = () => BigInt('0x' + fs.readFileSync('/proc/thread-self/status', 'utf8').match(/SigBlk:\\s*(\\S+)/)[1]);
const before = blk();
const db = ist.open(null, { compilationCacheDir: process.env.CACHE });
db.loadModule(process.env.NOOP);
db.run('noop', 'noop');
const during = blk();
const child = BigInt('0x' + require('child_process').execSync('grep SigBlk /proc/self/status').toString().split(/\\s+/)[1]);
setImmediate(() => {
  console.log(JSON.stringify({ before: String(before), during: String(during), child: String(child), after: String(blk()) }));
  db.close();
});
`;

function maskAfterCall(mode) {
  const { execFileSync } = require('child_process');
  const env = { ...process.env, PKG: path.resolve(__dirname, '..'), CACHE: cacheDir, NOOP: wasm('noop') };
  if (mode) env.INTERSTICE_NODE_SIGMASK = mode;
  else delete env.INTERSTICE_NODE_SIGMASK;
  const m = JSON.parse(execFileSync(process.execPath, ['-e', probe], { env, encoding: 'utf8' }));
  return Object.fromEntries(Object.entries(m).map(([k, x]) => [k, BigInt(x)]));
}
const bit = (sig) => 1n << BigInt(require('os').constants.signals[sig] - 1);

test('deferred mask: asynchronous signals blocked after a call, restored when the loop turns; children start clean', () => {
  const m = maskAfterCall(undefined);
  for (const sig of ['SIGINT', 'SIGUSR2', 'SIGCHLD', 'SIGTERM', 'SIGWINCH']) assert.equal(m.during & bit(sig), bit(sig), `${sig} blocked during the JS turn`);
  for (const sig of ['SIGURG', 'SIGSEGV', 'SIGBUS', 'SIGFPE']) assert.equal(m.during & bit(sig), 0n, `${sig} never blocked`);
  assert.equal(m.after, m.before, 'the previous mask is back once the loop turned');
  assert.equal(m.child, 0n, 'a child process starts with an empty mask');
});

test('INTERSTICE_NODE_SIGMASK=call restores the mask after every call', () => {
  const m = maskAfterCall('call');
  assert.equal(m.during, m.before);
  assert.equal(m.after, m.before);
});
