#!/usr/bin/env node
// measure.js WHAT NOOP_WASM — one figure of bench.js, in its own process;
// prints one JSON line. WHAT:
//   noop            db.call('noop', 'noop') in memory: best of 5 batches of 200k (as tests/c/bench_noop.c)
//   noop-run        db.run('noop', 'noop'): the same call without the result JSON (as bench_noop's call)
//   noop-async      db.callAsync('noop', 'noop'), 8 in flight
//   extism          await plugin.call('noop') of @extism/extism on a noop export
//   extism-raw      the same export called directly through V8's WebAssembly
//   durable-sync    db.call('noop', 'insert', ...) on a data directory, sync=always
//   durable-async   16 db.callAsync in flight on a data directory
//   sqlite          better-sqlite3, WAL, synchronous=FULL, one-row insert transactions
//   sqlite-workers  the same from 8 worker_threads, one connection each
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const [what, wasmPath] = process.argv.slice(2);
const root = path.resolve(__dirname, '..', '..');
const now = () => Number(process.hrtime.bigint());
const pkgVersion = (name) => JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', name, 'package.json'), 'utf8')).version;
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const tmp = () => fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'istn-bench-'));

// (module (func (export "noop") (result i32) i32.const 0)): Extism calls
// exports of type () -> i32 and reads the i32 as the call's status.
const NOOP_WASM = Buffer.from('0061736d01000000' + '0105016000017f' + '03020100' + '070801046e6f6f700000' + '0a0601040041000b', 'hex');

function best(batches, n, fn) {
  for (let i = 0; i < n / 10; i++) fn();
  let b = Infinity;
  for (let k = 0; k < batches; k++) {
    const t0 = now();
    for (let i = 0; i < n; i++) fn();
    b = Math.min(b, (now() - t0) / n);
  }
  return b;
}

async function bestAsync(batches, n, inFlight, fn) {
  let b = Infinity;
  for (let k = 0; k <= batches; k++) {
    const t0 = now();
    let next = 0;
    const lane = async () => { while (next++ < n) await fn(); };
    await Promise.all(Array.from({ length: inFlight }, lane));
    if (k > 0) b = Math.min(b, (now() - t0) / n); // batch 0 warms up
  }
  return b;
}

async function main() {
  switch (what) {
    case 'noop':
    case 'noop-run': {
      const ist = require(path.join(root, 'bindings', 'node'));
      const { native } = require(path.join(root, 'bindings', 'node', 'lib', 'native'));
      const db = ist.open(null); // the defaults, as bench_noop's NULL options
      db.loadModule(wasmPath);
      const ns = what === 'noop' ? best(5, 200000, () => db.call('noop', 'noop')) : best(5, 200000, () => db.run('noop', 'noop'));
      db.close();
      return emit({ ns, sigmaskPairNs: native.sigmaskBench(200000) });
    }
    case 'noop-async': {
      const ist = require(path.join(root, 'bindings', 'node'));
      const db = ist.open(null);
      db.loadModule(wasmPath);
      const ns = await bestAsync(3, 40000, 8, () => db.callAsync('noop', 'noop'));
      db.close();
      return emit({ ns });
    }
    case 'extism': {
      const createPlugin = require('@extism/extism');
      const plugin = await createPlugin({ wasm: [{ data: NOOP_WASM }] }, { useWasi: false });
      const n = 50000;
      for (let i = 0; i < 5000; i++) await plugin.call('noop');
      let b = Infinity;
      for (let k = 0; k < 5; k++) {
        const t0 = now();
        for (let i = 0; i < n; i++) await plugin.call('noop');
        b = Math.min(b, (now() - t0) / n);
      }
      await plugin.close();
      return emit({ ns: b, version: `@extism/extism ${pkgVersion('@extism/extism')}` });
    }
    case 'extism-raw': {
      const { instance } = await WebAssembly.instantiate(NOOP_WASM);
      const f = instance.exports.noop;
      return emit({ ns: best(5, 2000000, () => f()) });
    }
    case 'durable-sync':
    case 'durable-async': {
      const ist = require(path.join(root, 'bindings', 'node'));
      const dir = tmp();
      const db = ist.open(dir);
      db.loadModule(wasmPath);
      db.call('noop', 'insert', [999999999, 'warm', 0]);
      const base = db.logStats;
      let id = 0;
      let t0;
      let n;
      if (what === 'durable-sync') {
        n = 4000;
        t0 = now();
        for (let i = 0; i < n; i++) db.call('noop', 'insert', [id++, 'n', i]);
      } else {
        n = 8000;
        t0 = now();
        if (process.env.BENCH_ALL_AT_ONCE) {
          // every call queued at once: the library's executor batches them
          await Promise.all(Array.from({ length: n }, () => db.callAsync('noop', 'insert', [id++, 'n', 0])));
        } else {
          // BENCH_IN_FLIGHT lanes, each awaiting its call before the next
          let next = 0;
          const lane = async () => { while (next++ < n) await db.callAsync('noop', 'insert', [id++, 'n', 0]); };
          await Promise.all(Array.from({ length: Number(process.env.BENCH_IN_FLIGHT || 16) }, lane));
        }
      }
      const secs = (now() - t0) / 1e9;
      const s = db.logStats;
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
      return emit({ ops: n / secs, records: s.records - base.records, fdatasyncs: s.fdatasyncs - base.fdatasyncs });
    }
    case 'sqlite': {
      const Database = require('better-sqlite3');
      const dir = tmp();
      const db = new Database(path.join(dir, 'bench.db'));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec('CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT, value INTEGER)');
      const ins = db.prepare('INSERT INTO kv (id, name, value) VALUES (?, ?, ?)');
      ins.run(999999999, 'warm', 0);
      const n = 4000;
      const t0 = now();
      for (let i = 0; i < n; i++) ins.run(i, 'n', i); // autocommit: one transaction each
      const secs = (now() - t0) / 1e9;
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
      return emit({ ops: n / secs, version: pkgVersion('better-sqlite3') });
    }
    case 'sqlite-workers': {
      const { Worker } = require('worker_threads');
      const dir = tmp();
      const file = path.join(dir, 'bench.db');
      const Database = require('better-sqlite3');
      const setup = new Database(file);
      setup.pragma('journal_mode = WAL');
      setup.exec('CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT, value INTEGER)');
      setup.close();
      const per = 250;
      const src = `
        const { workerData, parentPort } = require('worker_threads');
        const Database = require(workerData.mod);
        const db = new Database(workerData.file, { timeout: 5000 });
        db.pragma('synchronous = FULL');
        const ins = db.prepare('INSERT INTO kv (id, name, value) VALUES (?, ?, ?)');
        for (let i = 0; i < workerData.per; i++) ins.run(workerData.base + i, 'n', i);
        db.close();
        parentPort.postMessage('done');`;
      const t0 = now();
      await Promise.all(Array.from({ length: 8 }, (_, w) => new Promise((resolve, reject) => {
        const wk = new Worker(src, { eval: true, workerData: { mod: require.resolve('better-sqlite3'), file, per, base: w * 1000000 } });
        wk.once('message', resolve);
        wk.once('error', reject);
      })));
      const secs = (now() - t0) / 1e9;
      fs.rmSync(dir, { recursive: true, force: true });
      return emit({ ops: (8 * per) / secs });
    }
    default:
      throw new Error(`measure.js: unknown figure ${what}`);
  }
}

main().catch((e) => {
  process.stderr.write(`measure.js ${what}: ${e.stack}\n`);
  process.exit(1);
});
