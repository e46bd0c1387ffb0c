'use strict';
// 01-open: opening runtimes, every option, versions, errors.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { interstice: ist, wasm, tmpdir, cacheDir, pkg } = require('./helpers');

const mem = (o = {}) => ist.open(null, { compilationCacheDir: cacheDir, ...o });

test('version: the library matches the header the addon was compiled with', () => {
  assert.equal(ist.version.abi, ist.version.headerAbi);
  assert.equal(ist.version.library, ist.version.header);
  assert.match(ist.version.library, /^\d+\.\d+\.\d+$/);
});

test('open(null) and open() are in memory', (t) => {
  for (const db of [ist.open(), ist.open(null), mem()]) {
    assert.equal(db.inMemory, true);
    assert.equal(db.dir, null);
    assert.equal(db.open, true);
    assert.equal(db.lastLsn, 0);
    assert.deepEqual(db.logStats, { writes: 0, fdatasyncs: 0, records: 0, gathers: 0 });
    assert.equal(db.replayStats.durable, false);
    db.close();
    assert.equal(db.open, false);
    db.close(); // idempotent
  }
});

test('every option is accepted with a valid value', (t) => {
  const dir = tmpdir(t);
  const db = ist.open(dir, {
    sync: 'interval', syncIntervalMs: 10, recovery: 'truncateTail', segmentSize: 1 << 20, snapshotEvery: 1000,
    callDeadlineMs: 2000, memoryLimitPages: 512, compilationCacheDir: cacheDir, snapshotEveryBytes: 1 << 20,
    keepSnapshots: 3, retainSegments: 2, log: () => {}, onProgress: () => {},
  });
  assert.equal(db.inMemory, false);
  assert.equal(db.dir, dir);
  db.close();
  ist.open(null, { callDeadlineMs: Infinity, sync: 'none', recovery: 'strict' }).close();
  for (const sync of ['always', 'interval', 'none']) ist.open(null, { sync }).close();
});

test('argument errors are TypeErrors (or RangeErrors) naming the option, thrown before native code', () => {
  const cases = [
    [() => ist.open(42), TypeError, /interstice\.open: dir must be a non-empty string, got number 42/],
    [() => ist.open(''), TypeError, /dir must be a non-empty string/],
    [() => ist.open(null, 'x'), TypeError, /options must be an object, got the string "x"/],
    [() => ist.open(null, { bogus: 1 }), TypeError, /unknown option "bogus"/],
    [() => ist.open(null, { sync: 'sometimes' }), TypeError, /option "sync" must be one of "always", "interval", "none"/],
    [() => ist.open(null, { recovery: 'auto' }), TypeError, /option "recovery" must be one of "truncateTail", "strict", "readOnly"/],
    [() => ist.open(null, { segmentSize: 100 }), RangeError, /option "segmentSize" must be between 1024 and 1073741824, got 100/],
    [() => ist.open(null, { segmentSize: 1.5 }), TypeError, /option "segmentSize" must be a non-negative integer/],
    [() => ist.open(null, { callDeadlineMs: -1 }), TypeError, /option "callDeadlineMs" must be a non-negative integer/],
    [() => ist.open(null, { callDeadlineMs: 0 }), RangeError, /option "callDeadlineMs" must be between 1 and 86400000/],
    [() => ist.open(null, { memoryLimitPages: 70000 }), RangeError, /option "memoryLimitPages"/],
    [() => ist.open(null, { keepSnapshots: 0 }), RangeError, /option "keepSnapshots"/],
    [() => ist.open(null, { syncIntervalMs: 0 }), RangeError, /option "syncIntervalMs"/],
    [() => ist.open(null, { compilationCacheDir: 7 }), TypeError, /option "compilationCacheDir" must be a non-empty string/],
    [() => ist.open(null, { log: 'yes' }), TypeError, /option "log" must be a function, got the string "yes"/],
    [() => ist.open(null, { onProgress: {} }), TypeError, /option "onProgress" must be a function/],
    [() => ist.open(null, { snapshotEvery: 10 }), TypeError, /option "snapshotEvery" needs a data directory/],
    [() => ist.open(null, { snapshotEveryBytes: 10 }), TypeError, /option "snapshotEveryBytes" needs a data directory/],
  ];
  for (const [fn, type, re] of cases) assert.throws(fn, (e) => e instanceof type && re.test(e.message), String(re));
});

test('a durable directory is replayed on open; replayStats and onProgress report it', (t) => {
  const dir = tmpdir(t);
  let db = ist.open(dir, { compilationCacheDir: cacheDir });
  db.loadModule(wasm('counter'));
  for (let i = 0; i < 20; i++) db.call('counter', 'add', ['n', 1]);
  assert.equal(db.lastLsn, 21);
  const stats = db.logStats;
  assert.equal(stats.records, 21);
  assert.ok(stats.fdatasyncs >= 1);
  db.close();
  const progress = [];
  db = ist.open(dir, { compilationCacheDir: cacheDir, onProgress: (done, total) => progress.push([done, total]) });
  const rs = db.replayStats;
  assert.equal(rs.durable, true);
  assert.equal(rs.records, 21);
  assert.equal(rs.lastLsn, 21);
  assert.equal(rs.tornTail, false);
  assert.ok(progress.length >= 1, 'onProgress was called');
  const [done, total] = progress[progress.length - 1];
  assert.equal(done, total);
  assert.ok(total > 0);
  assert.deepEqual(db.table('counter', 'counters').get('n'), { name: 'n', value: 20 });
  assert.equal(db.lastLsn, 21);
  db.close();
});

test('an onProgress callback that throws fails open and releases the directory', (t) => {
  const dir = tmpdir(t);
  const db = ist.open(dir, { compilationCacheDir: cacheDir });
  db.loadModule(wasm('counter'));
  db.close();
  assert.throws(() => ist.open(dir, { onProgress: () => { throw new Error('stop here'); } }), /stop here/);
  ist.open(dir).close(); // not LOCKED
});

test('IntersticeError: a second open of a durable dir is INTERSTICE_E_LOCKED', (t) => {
  const dir = tmpdir(t);
  const db = ist.open(dir);
  assert.throws(() => ist.open(dir), (e) => {
    assert.ok(e instanceof ist.IntersticeError);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'IntersticeError');
    assert.equal(e.code, 'INTERSTICE_E_LOCKED');
    assert.equal(e.status, 28);
    assert.equal(e.status, ist.statuses.INTERSTICE_E_LOCKED);
    assert.equal(typeof e.detail, 'number');
    assert.match(e.message, /lock/i);
    return true;
  });
  db.close();
});

test('readOnly recovery rebuilds the state and refuses writes with INTERSTICE_E_READ_ONLY', (t) => {
  const dir = tmpdir(t);
  let db = ist.open(dir, { compilationCacheDir: cacheDir });
  db.loadModule(wasm('counter'));
  db.call('counter', 'add', ['a', 3]);
  db.close();
  db = ist.open(dir, { recovery: 'readOnly', compilationCacheDir: cacheDir });
  assert.equal(db.replayStats.readOnly, true);
  assert.deepEqual(db.table('counter', 'counters').get('a'), { name: 'a', value: 3 });
  assert.throws(() => db.call('counter', 'add', ['a', 1]), { code: 'INTERSTICE_E_READ_ONLY', status: 24 });
  assert.throws(() => db.snapshot(), { code: 'INTERSTICE_E_READ_ONLY' });
  const other = ist.open(dir, { recovery: 'readOnly' }); // read-only takes no lock
  other.close();
  db.close();
});

test('readOnly on a missing directory is INTERSTICE_E_NOT_FOUND', (t) => {
  assert.throws(() => ist.open(path.join(tmpdir(t), 'nope'), { recovery: 'readOnly' }), { code: 'INTERSTICE_E_NOT_FOUND', status: 2 });
});

test('a closed runtime refuses every operation with INTERSTICE_E_CLOSED', () => {
  const db = mem();
  db.loadModule(wasm('counter'));
  const table = db.table('counter', 'counters');
  db.close();
  const closed = { code: 'INTERSTICE_E_CLOSED', status: 10 };
  assert.throws(() => db.call('counter', 'add', ['a', 1]), closed);
  assert.throws(() => db.loadModule(wasm('noop')), closed);
  assert.throws(() => db.modules, closed);
  assert.throws(() => db.describe('counter'), closed);
  assert.throws(() => db.lastLsn, closed);
  assert.throws(() => table.get('a'), closed);
  assert.throws(() => table.count(), closed);
  assert.throws(() => [...table], closed);
  assert.throws(() => db.subscribe('counter', 'counters', { onInsert() {} }), closed);
  return assert.rejects(db.callAsync('counter', 'add', ['a', 1]), closed);
});

test('statuses and IntersticeError cover the whole status block; unknown codes fall back', () => {
  assert.equal(ist.statuses.INTERSTICE_OK, 0);
  assert.equal(ist.statuses.INTERSTICE_E_BAD_ARGUMENT, 1);
  assert.equal(ist.statuses.INTERSTICE_E_CORRUPT, 20);
  assert.equal(Object.keys(ist.statuses).length, 26);
  for (const [name, status] of Object.entries(ist.statuses)) {
    const e = new ist.IntersticeError(status, 'm', 7);
    assert.equal(e.code, name);
    assert.equal(e.status, status);
    assert.equal(e.detail, 7);
    assert.equal(typeof ist.IntersticeError.describe(status), 'string');
  }
  const u = new ist.IntersticeError(99, 'from a newer library');
  assert.equal(u.code, 'INTERSTICE_E_UNKNOWN');
  assert.equal(u.status, 99);
  assert.equal(u.detail, 0);
  assert.equal(ist.IntersticeError.describe(99), undefined);
});

test('CallbackError carries the cause and the committed result', () => {
  const cause = new Error('boom');
  const e = new ist.CallbackError(cause, { lsn: 7 });
  assert.equal(e.name, 'CallbackError');
  assert.equal(e.code, 'ERR_INTERSTICE_CALLBACK');
  assert.equal(e.cause, cause);
  assert.equal(e.committed, true);
  assert.deepEqual(e.result, { lsn: 7 });
  assert.match(e.message, /committed \(lsn 7\); the transaction stands: boom/);
  assert.match(new ist.CallbackError(42).message, /: 42$/);
});

test('an ABI version mismatch is refused at load with a clear error', (t) => {
  // A fake libinterstice.so.1 whose interstice_abi_version() is 999, next to
  // a copy of the addon.
  const dir = tmpdir(t);
  fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
  fs.copyFileSync(path.join(pkg, 'build', 'Release', 'interstice.node'), path.join(dir, 'build', 'Release', 'interstice.node'));
  const src = path.join(dir, 'fake.c');
  fs.writeFileSync(src, 'int interstice_abi_version(void) { return 999; }\n');
  execFileSync('cc', ['-shared', '-fPIC', '-o', path.join(dir, 'build', 'Release', 'libinterstice.so.1'), src]);
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(dir, 'build', 'Release', 'interstice.node'))})`], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /ABI version mismatch: .*libinterstice\.so\.1 has ABI version 999, this addon was built for ABI version 1/);
  // and no library at all
  fs.rmSync(path.join(dir, 'build', 'Release', 'libinterstice.so.1'));
  const r2 = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(dir, 'build', 'Release', 'interstice.node'))})`], { encoding: 'utf8' });
  assert.match(r2.stderr, /interstice: cannot load .*libinterstice\.so\.1/);
});

test('the addon does not link libinterstice (no DT_NEEDED): it dlopens it with signals blocked', () => {
  const out = execFileSync('readelf', ['-d', path.join(pkg, 'build', 'Release', 'interstice.node')], { encoding: 'utf8' });
  assert.doesNotMatch(out, /libinterstice/);
  const lib = path.join(pkg, 'build', 'Release', 'libinterstice.so.1');
  assert.ok(fs.lstatSync(lib).isFile(), 'libinterstice.so.1 is a real file, not a symlink');
  assert.match(execFileSync('readelf', ['-d', lib], { encoding: 'utf8' }), /SONAME.*libinterstice\.so\.1/);
});

test('INTERSTICE_COMPILATION_CACHE_DIR is the default compilationCacheDir', (t) => {
  const dir = tmpdir(t);
  const r = spawnSync(process.execPath, ['-e', `const db = require(${JSON.stringify(pkg)}).open(); db.loadModule(${JSON.stringify(wasm('noop'))}); db.call('noop', 'noop'); db.close();`],
    { encoding: 'utf8', env: { ...process.env, INTERSTICE_COMPILATION_CACHE_DIR: dir } });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.readdirSync(dir).length > 0, 'the compiled module was cached there');
});
