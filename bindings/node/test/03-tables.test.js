'use strict';
// 03-tables: get, count, the chunked iterator, subscriptions.
const test = require('node:test');
const assert = require('node:assert/strict');
const { interstice: ist, wasm, cacheDir, nowish } = require('./helpers');

const mem = (o = {}) => ist.open(null, { compilationCacheDir: cacheDir, ...o });

function filled(n) {
  const db = mem();
  db.loadModule(wasm('noop'));
  for (let i = 0; i < n; i++) db.call('noop', 'insert', [n - i, `name${n - i}`, (n - i) * 10]); // inserted in reverse
  return db;
}

test('get, count, and a missing key', () => {
  const db = filled(5);
  const kv = db.table('noop', 'kv');
  assert.equal(kv.module, 'noop');
  assert.equal(kv.name, 'kv');
  assert.equal(kv.count(), 5);
  assert.deepEqual(kv.get(3), { id: 3, name: 'name3', value: 30 });
  assert.deepEqual(kv.get(3n), { id: 3, name: 'name3', value: 30 });
  assert.equal(kv.get(99), undefined);
  assert.throws(() => kv.get('3'), { code: 'INTERSTICE_E_TYPE' });
  db.close();
});

test('get key argument errors', () => {
  const db = filled(1);
  const kv = db.table('noop', 'kv');
  for (const bad of [undefined, null, {}, [1], NaN, Infinity, () => 1]) {
    assert.throws(() => kv.get(bad), /Table\.get: key must be a string, a finite number, a bigint, a boolean or a Buffer/);
  }
  db.close();
});

test('table() of an unknown module or table fails at once', () => {
  const db = filled(1);
  assert.throws(() => db.table('noop', 'nope'), { code: 'INTERSTICE_E_NOT_FOUND' });
  assert.throws(() => db.table('nope', 'kv'), { code: 'INTERSTICE_E_NOT_FOUND' });
  assert.throws(() => db.table('noop'), /Database\.table: name must be a non-empty string, got undefined/);
  db.close();
});

test('for...of streams every row in primary-key order, chunk by chunk', () => {
  const db = filled(300);
  const kv = db.table('noop', 'kv');
  const ids = [];
  for (const row of kv) ids.push(row.id);
  assert.deepEqual(ids, Array.from({ length: 300 }, (_, i) => i + 1));
  const small = [...kv.rows({ chunkRows: 7 })];
  assert.equal(small.length, 300);
  assert.deepEqual(small[299], { id: 300, name: 'name300', value: 3000 });
  assert.equal([...kv.rows({ chunkBytes: 1 })].length, 300, 'a byte limit below one row still yields one row per chunk');
  assert.throws(() => kv.rows({ chunkRows: 0 }).next(), RangeError);
  assert.throws(() => kv.rows({ pageSize: 3 }).next(), /Table\.rows: unknown option "pageSize"/);
  db.close();
});

test('breaking out of the iterator closes the scan; rows committed meanwhile may show', () => {
  const db = filled(50);
  const kv = db.table('noop', 'kv');
  let n = 0;
  for (const row of kv.rows({ chunkRows: 4 })) {
    if (row.id === 10) db.call('noop', 'insert', [1000, 'late', 1]); // after the current key: seen
    if (++n === 20) break;
  }
  assert.equal(n, 20);
  const all = [...kv];
  assert.equal(all.length, 51);
  assert.equal(all[50].id, 1000);
  db.close();
});

test('every column type reads back', () => {
  const db = mem();
  db.loadModule(wasm('alltypes'));
  db.call('alltypes', 'put', { id: 7, b: false, u32: 7, u64: 123456789012345n, i32: -7, i64: -70, f32: 0.5, f64: -1e-300, s: 'héllo ✓', by: Buffer.from('hi'), opt: 'o', li: [-1, 0, 1], ls: [null], ll: [[1, 2], [3]], lb: [], of: 2.25 });
  assert.deepEqual(db.table('alltypes', 'vals').get(7), {
    id: 7, b: false, u32: 7, u64: 123456789012345, i32: -7, i64: -70, f32: 0.5, f64: -1e-300, s: 'héllo ✓', by: 'aGk=', opt: 'o', li: [-1, 0, 1], ls: [null], ll: [[1, 2], [3]], lb: [], of: 2.25,
  });
  db.call('alltypes', 'put_bkey', [Buffer.from([0, 255]), 5]);
  assert.deepEqual(db.table('alltypes', 'bkeys').get(Buffer.from([0, 255])), { k: 'AP8=', v: 5 });
  db.close();
});

test('subscribe: insert, update and delete events with rows, LSN and timestamp; unsubscribe', () => {
  const db = mem();
  db.loadModule(wasm('counter'));
  const events = [];
  const unsubscribe = db.subscribe('counter', 'counters', {
    onInsert: (row, e) => events.push(['insert', row, e]),
    onUpdate: (row, old, e) => events.push(['update', row, old, e]),
    onDelete: (old, e) => events.push(['delete', old, e]),
  });
  db.call('counter', 'add', ['a', 1]);
  db.call('counter', 'add', ['a', 2]);
  db.call('counter', 'remove', ['a']);
  assert.deepEqual(events.map((e) => e[0]), ['insert', 'update', 'delete']);
  assert.deepEqual(events[0][1], { name: 'a', value: 1 });
  assert.deepEqual(nowish(events[0][2]), { op: 'insert', module: 'counter', table: 'counters', row: { name: 'a', value: 1 }, oldRow: null, lsn: 2, timestamp: 'now' });
  assert.deepEqual(events[1][1], { name: 'a', value: 3 });
  assert.deepEqual(events[1][2], { name: 'a', value: 1 });
  assert.equal(events[1][3].lsn, 3);
  assert.deepEqual(events[2][1], { name: 'a', value: 3 });
  assert.equal(events[2][2].row, null);
  assert.equal(unsubscribe(), true);
  assert.equal(unsubscribe(), false);
  db.call('counter', 'add', ['b', 1]);
  assert.equal(events.length, 3);
  db.close();
});

test('subscribe to some events only; argument errors', () => {
  const db = mem();
  db.loadModule(wasm('counter'));
  const seen = [];
  db.subscribe('counter', 'counters', { onDelete: (old) => seen.push(old.name) });
  db.call('counter', 'add', ['a', 1]);
  db.call('counter', 'remove', ['a']);
  assert.deepEqual(seen, ['a']);
  assert.throws(() => db.subscribe('counter', 'counters', {}), /Database\.subscribe: handlers needs at least one of onInsert, onUpdate, onDelete/);
  assert.throws(() => db.subscribe('counter', 'counters', { onInsert: 1 }), /option "onInsert" must be a function/);
  assert.throws(() => db.subscribe('counter', 'counters', { onChange() {} }), /unknown option "onChange"/);
  assert.throws(() => db.subscribe('counter', 'counters'), TypeError);
  assert.throws(() => db.subscribe('counter', 'nope', { onInsert() {} }), { code: 'INTERSTICE_E_NOT_FOUND' });
  db.close();
});

test('events of async calls arrive on the JS thread in commit order, before each promise settles', async () => {
  const db = mem();
  db.loadModule(wasm('counter'));
  const lsns = [];
  db.subscribe('counter', 'counters', { onInsert: (r, e) => lsns.push(e.lsn), onUpdate: (r, o, e) => lsns.push(e.lsn) });
  const settled = [];
  const ps = [];
  for (let i = 0; i < 40; i++) {
    ps.push(db.callAsync('counter', 'add', [`k${i % 5}`, 1]).then((r) => {
      assert.ok(lsns.includes(r.lsn), `the event of lsn ${r.lsn} came before its promise resolved`);
      settled.push(r.lsn);
    }));
    if (i % 10 === 0) db.call('counter', 'add', ['sync', 1]); // sync calls interleave
  }
  await Promise.all(ps);
  assert.equal(lsns.length, 44);
  assert.deepEqual(lsns, [...lsns].sort((a, b) => a - b), 'events in commit (LSN) order');
  assert.equal(new Set(lsns).size, 44);
  db.close();
});

test('an unsubscribe before delivery drops the queued events of async calls', async () => {
  const db = mem();
  db.loadModule(wasm('counter'));
  let n = 0;
  const un = db.subscribe('counter', 'counters', { onInsert: () => n++ });
  const p = db.callAsync('counter', 'add', ['x', 1]);
  un();
  await p;
  assert.equal(n, 0);
  db.close();
});
