'use strict';
// 02-call: modules, reducer calls (sync and async), results, errors, logs,
// callbacks that throw.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const { interstice: ist, wasm, tmpdir, cacheDir, nowish } = require('./helpers');

const mem = (o = {}) => ist.open(null, { compilationCacheDir: cacheDir, ...o });

test('loadModule from a path and from bytes; modules; describe', () => {
  const db = mem();
  assert.equal(db.loadModule(wasm('counter')), 'counter');
  assert.equal(db.loadModule(fs.readFileSync(wasm('noop'))), 'noop');
  assert.equal(db.loadModule(new Uint8Array(fs.readFileSync(wasm('counter')))), 'counter'); // same code: a no-op
  const mods = db.modules;
  assert.deepEqual(mods.map((m) => m.name), ['counter', 'noop']);
  assert.equal(mods[0].version, '1.0.0');
  assert.match(mods[0].wasmSha256, /^[0-9a-f]{64}$/);
  const d = db.describe('counter');
  assert.equal(d.name, 'counter');
  assert.deepEqual(d.tables.map((x) => x.name), ['counters']);
  assert.deepEqual(d.reducers.map((r) => r.name).sort(), ['add', 'remove', 'reset']);
  assert.deepEqual(d.reducers.find((r) => r.name === 'add').params, [{ name: 'name', type: 'string' }, { name: 'by', type: 'i64' }]);
  assert.throws(() => db.describe('nope'), { code: 'INTERSTICE_E_NOT_FOUND' });
  db.close();
});

test('loadModule errors: bad bytes, a missing file, wrong argument types', (t) => {
  const db = mem();
  assert.throws(() => db.loadModule(Buffer.from('not wasm at all')), { code: 'INTERSTICE_E_INVALID_MODULE', status: 16 });
  assert.throws(() => db.loadModule(tmpdir(t) + '/missing.wasm'), (e) => e.code === 'INTERSTICE_E_NOT_FOUND' || e.code === 'INTERSTICE_E_IO');
  assert.throws(() => db.loadModule(42), /Database\.loadModule: wasm must be a Buffer, a TypedArray, a DataView or an ArrayBuffer, got number 42/);
  assert.throws(() => db.loadModule(Buffer.alloc(0)), /Database\.loadModule: wasm must not be empty/);
  assert.throws(() => db.loadModule(''), /wasm must be a non-empty string/);
  db.close();
});

test('call: JSON array, JSON object, FlatBuffers Row; the result', () => {
  const db = mem();
  db.loadModule(wasm('counter'));
  const r1 = db.call('counter', 'add', ['a', 5]);
  assert.deepEqual(nowish(r1), { lsn: 2, timestamp: 'now', mutations: 1, cascade: [], cascadeError: null });
  const r2 = db.call('counter', 'add', { name: 'a', by: -2 });
  assert.equal(r2.lsn, 3);
  assert.equal(r2.mutations, 1);
  const r3 = db.call('counter', 'add', ist.encodeRow(['a', 10n], ['string', 'i64']));
  assert.equal(r3.lsn, 4);
  assert.equal(db.lastLsn, 4);
  assert.deepEqual(db.table('counter', 'counters').get('a'), { name: 'a', value: 13 });
  db.close();
});

test('call: 64-bit integers travel exactly as BigInt (JSON) and in Rows', () => {
  const db = mem();
  db.loadModule(wasm('alltypes'));
  const max = 18446744073709551615n;
  db.call('alltypes', 'put', [1, true, 4294967295, max, -2147483648, -9223372036854775808n, 1.5, 0.1, 's', Buffer.from([1, 2]), null, [1, 2], ['x', null], [[1], []], [Buffer.from('z')], null]);
  const row = db.table('alltypes', 'vals').get(1);
  assert.equal(row.u32, 4294967295);
  assert.equal(row.s, 's');
  assert.equal(row.by, 'AQI=');
  assert.deepEqual(row.ls, ['x', null]);
  db.call('alltypes', 'put_ikey', ist.encodeRow([-9223372036854775808n, 'min'], ['i64', 'string']));
  assert.equal(db.table('alltypes', 'ikeys').count(), 1);
  db.close();
});

test('call errors: not found, wrong types, reducer failure, trap; nothing is applied', () => {
  const db = mem();
  db.loadModule(wasm('alltypes'));
  db.loadModule(wasm('trapper'));
  assert.throws(() => db.call('nope', 'x'), { code: 'INTERSTICE_E_NOT_FOUND', status: 2 });
  assert.throws(() => db.call('alltypes', 'nope'), { code: 'INTERSTICE_E_NOT_FOUND' });
  assert.throws(() => db.call('alltypes', 'remove', ['not a number']), { code: 'INTERSTICE_E_TYPE', status: 9 });
  assert.throws(() => db.call('alltypes', 'remove', Buffer.from([1, 2, 3])), { code: 'INTERSTICE_E_BAD_ARGUMENT' });
  assert.throws(() => db.call('alltypes', 'fail', ['it went wrong']), (e) => {
    assert.equal(e.code, 'INTERSTICE_E_REDUCER_FAILED');
    assert.equal(e.status, 12);
    assert.equal(e.guestMessage, 'it went wrong');
    assert.ok(e.message.startsWith('it went wrong (module alltypes, reducer fail)'), e.message);
    return true;
  });
  const before = db.lastLsn;
  assert.throws(() => db.call('trapper', 'insert3_trap', [100]), (e) => {
    assert.equal(e.code, 'INTERSTICE_E_TRAP');
    assert.equal(e.status, 3);
    assert.equal(e.guestMessage, null); // a real trap: no words of the guest
    return true;
  });
  assert.throws(() => db.call('trapper', 'insert3_panic', [100]), (e) => {
    assert.equal(e.code, 'INTERSTICE_E_REDUCER_FAILED'); // the SDK turns a panic into a failure
    assert.equal(e.guestMessage, 'panic: trapper: deliberate panic');
    return true;
  });
  assert.equal(db.table('trapper', 'rows').count(), 0);
  assert.equal(db.lastLsn, before);
  db.close();
});

test('run: the call without the result details returns the LSN', () => {
  const db = mem();
  db.loadModule(wasm('counter'));
  assert.equal(db.run('counter', 'add', ['a', 1]), 2);
  assert.equal(db.run('counter', 'add', { name: 'a', by: 1 }), 3);
  assert.equal(db.run('counter', 'add', ist.encodeRow(['a', 1n], ['string', 'i64'])), 4);
  assert.equal(db.table('counter', 'counters').get('a').value, 3);
  assert.throws(() => db.run('counter', 'reset', ['nobody']), { code: 'INTERSTICE_E_REDUCER_FAILED' });
  assert.throws(() => db.run('counter', 5), /Database\.run: reducer must be a non-empty string, got number 5/);
  db.subscribe('counter', 'counters', { onUpdate() { throw new Error('x'); } });
  assert.throws(() => db.run('counter', 'add', ['a', 1]), (e) => e instanceof ist.CallbackError && e.result.lsn === 5 && e.committed);
  db.close();
});

test('call argument errors are TypeErrors naming the argument', () => {
  const db = mem();
  db.loadModule(wasm('counter'));
  assert.throws(() => db.call(1, 'add'), /Database\.call: module must be a non-empty string, got number 1/);
  assert.throws(() => db.call('counter', ''), /Database\.call: reducer must be a non-empty string/);
  assert.throws(() => db.call('counter', 'add', 'text'), /Database\.call: args must be an array \(by position\), an object \(by name\), a Buffer \(an encoded Row\) or undefined, got the string "text"/);
  assert.throws(() => db.call('counter', 'add', 5), TypeError);
  const cyclic = [];
  cyclic.push(cyclic);
  assert.throws(() => db.call('counter', 'add', cyclic), /Database\.call: args cannot be written as JSON/);
  return assert.rejects(db.callAsync('counter', 7), /Database\.callAsync: reducer must be a non-empty string/);
});

test('callAsync resolves with the result and rejects with IntersticeError', async () => {
  const db = mem();
  db.loadModule(wasm('counter'));
  const r = await db.callAsync('counter', 'add', ['a', 1]);
  assert.deepEqual(nowish(r), { lsn: 2, timestamp: 'now', mutations: 1, cascade: [], cascadeError: null });
  await assert.rejects(db.callAsync('counter', 'reset', ['missing']),
    { code: 'INTERSTICE_E_REDUCER_FAILED', guestMessage: 'no counter "missing"' });
  await assert.rejects(db.callAsync('counter', 'nope'), { code: 'INTERSTICE_E_NOT_FOUND' });
  const r2 = await db.callAsync('counter', 'add', ist.encodeRow(['a', 2n], ['string', 'i64']));
  assert.equal(r2.lsn, 3);
  assert.equal(db.table('counter', 'counters').get('a').value, 3);
  db.close();
});

test('64 concurrent callAsync on a durable runtime: all acknowledged, fewer fdatasyncs than calls', async (t) => {
  const db = ist.open(tmpdir(t), { compilationCacheDir: cacheDir });
  db.loadModule(wasm('noop'));
  const base = db.logStats;
  const results = await Promise.all(Array.from({ length: 64 }, (_, i) => db.callAsync('noop', 'insert', [i, `n${i}`, i])));
  const lsns = results.map((r) => r.lsn).sort((a, b) => a - b);
  assert.equal(new Set(lsns).size, 64);
  assert.equal(lsns[63] - lsns[0], 63);
  const s = db.logStats;
  assert.equal(s.records - base.records, 64);
  assert.ok(s.fdatasyncs - base.fdatasyncs < 64, `fdatasyncs ${s.fdatasyncs - base.fdatasyncs} < 64 calls (group commit)`);
  assert.equal(db.table('noop', 'kv').count(), 64);
  db.close();
});

test('snapshot: durable runtimes write one; in memory it is INTERSTICE_E_UNSUPPORTED', (t) => {
  const dir = tmpdir(t);
  const db = ist.open(dir, { compilationCacheDir: cacheDir });
  db.loadModule(wasm('counter'));
  db.call('counter', 'add', ['a', 1]);
  assert.equal(db.snapshot(), 2);
  assert.ok(fs.readdirSync(`${dir}/snapshots`).length >= 1);
  db.close();
  const re = ist.open(dir, { compilationCacheDir: cacheDir });
  assert.equal(re.replayStats.snapshotLsn, 2);
  re.close();
  const m = mem();
  assert.throws(() => m.snapshot(), { code: 'INTERSTICE_E_UNSUPPORTED', status: 14 });
  m.close();
});

test('guest log lines reach the log option: levels, stdout as INFO, stderr as WARN', async () => {
  const lines = [];
  const db = mem({ log: (level, module, message) => lines.push([level, module, message]) });
  db.loadModule(wasm('alltypes'));
  lines.length = 0;
  db.call('alltypes', 'say', [3, 'hello']);
  assert.deepEqual(lines.find((l) => l[2] === 'hello'), [ist.LOG_LEVELS.ERROR, 'alltypes', 'hello']);
  assert.deepEqual(lines.find((l) => l[2] === 'out: hello'), [ist.LOG_LEVELS.INFO, 'alltypes', 'out: hello']);
  assert.deepEqual(lines.find((l) => l[2] === 'err: hello'), [ist.LOG_LEVELS.WARN, 'alltypes', 'err: hello']);
  lines.length = 0;
  const p = db.callAsync('alltypes', 'say', [0, 'from async']);
  assert.equal(lines.length, 0, 'an async call logs on the JS thread later, not now');
  await p;
  assert.deepEqual(lines.find((l) => l[2] === 'from async'), [ist.LOG_LEVELS.DEBUG, 'alltypes', 'from async']);
  db.close();
});

test('a subscription callback that throws: the call commits, then call() throws CallbackError', () => {
  const db = mem();
  db.loadModule(wasm('counter'));
  let calls = 0;
  db.subscribe('counter', 'counters', {
    onInsert() { calls++; throw new Error('first'); },
    onUpdate() { calls++; throw new Error('second'); },
  });
  let seen = 0;
  db.subscribe('counter', 'counters', { onInsert() { seen++; } }); // still runs after the throw
  assert.throws(() => db.call('counter', 'add', ['a', 1]), (e) => {
    assert.ok(e instanceof ist.CallbackError);
    assert.equal(e.committed, true);
    assert.equal(e.cause.message, 'first');
    assert.deepEqual(nowish(e.result), { lsn: 2, timestamp: 'now', mutations: 1, cascade: [], cascadeError: null });
    return true;
  });
  assert.equal(seen, 1);
  assert.deepEqual(db.table('counter', 'counters').get('a'), { name: 'a', value: 1 });
  assert.equal(db.lastLsn, 2);
  assert.throws(() => db.call('counter', 'add', ['a', 1]), (e) => e.cause.message === 'second');
  assert.equal(calls, 2);
  db.close();
});

test('a callback that throws under callAsync rejects with CallbackError after the commit', async () => {
  const lines = [];
  const db = mem({ log: (l, m, msg) => { lines.push(msg); if (msg === 'boom') throw new RangeError('log failed'); } });
  db.loadModule(wasm('alltypes'));
  await assert.rejects(db.callAsync('alltypes', 'say', [1, 'boom']), (e) => {
    assert.ok(e instanceof ist.CallbackError);
    assert.ok(e.cause instanceof RangeError);
    assert.equal(e.result.lsn, db.lastLsn);
    return true;
  });
  assert.ok(lines.includes('out: boom'), 'the other log lines were still delivered');
  assert.throws(() => db.call('alltypes', 'say', [1, 'boom']), ist.CallbackError);
  db.close();
});

test('calling the runtime from inside a callback is INTERSTICE_E_BUSY; reads work', () => {
  const db = mem();
  db.loadModule(wasm('counter'));
  const t = db.table('counter', 'counters');
  let busy;
  let count;
  db.subscribe('counter', 'counters', {
    onInsert() {
      count = t.count();
      try { db.call('counter', 'add', ['b', 1]); } catch (e) { busy = e; }
    },
  });
  db.call('counter', 'add', ['a', 1]);
  assert.equal(busy.code, 'INTERSTICE_E_BUSY');
  assert.equal(busy.status, 27);
  assert.equal(count, 1);
  assert.equal(t.get('b'), undefined);
  db.close();
});

test('a deadline stops a long call with INTERSTICE_E_TIMEOUT and rolls it back', () => {
  const db = mem({ callDeadlineMs: 50 });
  db.loadModule(wasm('alltypes'));
  assert.throws(() => db.call('alltypes', 'work', [1, 1e12]), { code: 'INTERSTICE_E_TIMEOUT', status: 4 });
  assert.equal(db.table('alltypes', 'vals').get(1), undefined);
  db.close();
});
