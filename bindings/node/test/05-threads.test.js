'use strict';
// 05-threads: worker_threads (the addon is context-aware: one library per
// process, state per environment).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { Worker } = require('worker_threads');
const { interstice: ist, wasm, tmpdir, cacheDir, pkg } = require('./helpers');

const workerSource = `
const { parentPort, workerData } = require('worker_threads');
const ist = require(workerData.pkg);
(async () => {
  const db = ist.open(workerData.dir, { compilationCacheDir: workerData.cacheDir });
  db.loadModule(workerData.wasm);
  const events = [];
  db.subscribe('counter', 'counters', { onInsert: (r) => events.push(r.name), onUpdate: (r) => events.push(r.name) });
  for (let i = 0; i < workerData.n; i++) db.call('counter', 'add', [workerData.name, 1]);
  const rs = await Promise.all(Array.from({ length: workerData.n }, () => db.callAsync('counter', 'add', [workerData.name, 1])));
  const row = db.table('counter', 'counters').get(workerData.name);
  db.close();
  parentPort.postMessage({ value: row.value, events: events.length, lsns: rs.length, version: ist.version.library });
})().catch((e) => parentPort.postMessage({ error: e.stack }));
`;

function runWorker(data) {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerSource, { eval: true, workerData: { pkg, cacheDir, wasm: wasm('counter'), ...data } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited ${code}`)); });
  });
}

test('four workers and the main thread use runtimes at the same time', async (t) => {
  const main = ist.open(null, { compilationCacheDir: cacheDir });
  main.loadModule(wasm('counter'));
  const dir = tmpdir(t);
  const jobs = [
    runWorker({ name: 'w1', n: 50, dir: null }),
    runWorker({ name: 'w2', n: 50, dir: null }),
    runWorker({ name: 'w3', n: 30, dir: path.join(dir, 'a') }),
    runWorker({ name: 'w4', n: 30, dir: path.join(dir, 'b') }),
  ];
  for (let i = 0; i < 200; i++) main.call('counter', 'add', ['main', 1]);
  const out = await Promise.all(jobs);
  for (const [i, r] of out.entries()) {
    assert.equal(r.error, undefined, r.error);
    const n = [50, 50, 30, 30][i];
    assert.equal(r.value, 2 * n);
    assert.equal(r.events, 2 * n, 'every event reached the worker’s own callbacks');
    assert.equal(r.version, ist.version.library);
  }
  assert.equal(main.table('counter', 'counters').get('main').value, 200);
  main.close();
});

test('a durable directory is locked across threads: a worker cannot open what main holds', async (t) => {
  const dir = tmpdir(t);
  const db = ist.open(dir, { compilationCacheDir: cacheDir });
  const r = await runWorker({ name: 'x', n: 1, dir });
  assert.match(r.error, /INTERSTICE_E_LOCKED|lock/i);
  db.close();
});

test('terminating a worker with calls in flight leaves the process and the main runtime working', async () => {
  const src = `
    const { parentPort, workerData } = require('worker_threads');
    const ist = require(workerData.pkg);
    const db = ist.open(null, { compilationCacheDir: workerData.cacheDir });
    db.loadModule(workerData.wasm);
    for (let i = 0; i < 64; i++) db.callAsync('alltypes', 'work', [i, 200000]);
    parentPort.postMessage('busy');
    for (;;) db.call('alltypes', 'work', [1000, 1000]);
  `;
  const w = new Worker(src, { eval: true, workerData: { pkg, cacheDir, wasm: wasm('alltypes') } });
  await new Promise((resolve) => w.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const code = await w.terminate();
  assert.equal(code, 1);
  const db = ist.open(null, { compilationCacheDir: cacheDir });
  db.loadModule(wasm('alltypes'));
  assert.equal((await db.callAsync('alltypes', 'work', [1, 10])).mutations, 1);
  db.close();
});
