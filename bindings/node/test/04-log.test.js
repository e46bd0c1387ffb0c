'use strict';
// 04-log: the standalone log, records decoded with flatbuffers and the
// generated classes, the golden vectors, validate / inspect / repair.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { interstice: ist, tmpdir, copyDir, root } = require('./helpers');

const { flatbuffers, Transaction, Mutation, TxKind, Op } = ist.fb;

/** txn builds an encoded Transaction with one insert of row into m.t. */
function txn({ module = 'host', reducer = 'note', kind = TxKind.External, timestamp = 1n, row = null } = {}) {
  const b = new flatbuffers.Builder(128);
  b.forceDefaults(true); // the log needs an lsn field, even 0 (it writes the assigned LSN there)
  const mods = b.createString(module);
  const red = b.createString(reducer);
  let muts = 0;
  if (row) {
    const rowVec = Mutation.createRowVector(b, row);
    const mm = b.createString(module);
    const tt = b.createString('t');
    Mutation.startMutation(b);
    Mutation.addOp(b, Op.Insert);
    Mutation.addModule(b, mm);
    Mutation.addTableName(b, tt);
    Mutation.addRow(b, rowVec);
    muts = Transaction.createMutationsVector(b, [Mutation.endMutation(b)]);
  }
  Transaction.startTransaction(b);
  Transaction.addLsn(b, 0n);
  Transaction.addTimestamp(b, timestamp);
  Transaction.addKind(b, kind);
  Transaction.addModule(b, mods);
  Transaction.addReducer(b, red);
  if (muts) Transaction.addMutations(b, muts);
  b.finish(Transaction.endTransaction(b));
  return Buffer.from(b.asUint8Array());
}

test('append, appendJson, appendBatch, firstLsn/lastLsn, stats, replay', (t) => {
  const dir = tmpdir(t);
  const log = ist.openLog(dir);
  assert.equal(log.dir, dir);
  assert.equal(log.firstLsn, 0);
  assert.equal(log.lastLsn, 0);
  const row = ist.encodeRow(['k', 42n], ['string', 'i64']);
  assert.equal(log.append(txn({ row, timestamp: 5n })), 1);
  assert.equal(log.appendJson({ kind: 'External', timestamp: 6, module: 'host', reducer: 'json', args: ['x', 1], mutations: [] }), 2);
  assert.equal(log.appendJson('{"timestamp":7,"module":"host","reducer":"text"}'), 3);
  assert.equal(log.appendBatch([txn({ reducer: 'b1', timestamp: 8n }), txn({ reducer: 'b2', timestamp: 9n })]), 4);
  assert.equal(log.appendBatch([]), 0);
  assert.equal(log.firstLsn, 1);
  assert.equal(log.lastLsn, 5);
  const st = log.stats;
  assert.equal(st.records, 5);
  assert.ok(st.fdatasyncs >= 4 && st.fdatasyncs <= 5, `one fdatasync per append, one for the batch: ${st.fdatasyncs}`);
  log.sync();
  log.rotate();
  assert.equal(log.append(txn({ reducer: 'after-rotate', timestamp: 10n })), 6);

  const recs = [...log.replay()];
  assert.deepEqual(recs.map((r) => r.lsn), [1, 2, 3, 4, 5, 6]);
  assert.ok(recs[0] instanceof ist.Record);
  const first = recs[0].decode();
  assert.equal(first.lsn, 1);
  assert.equal(first.timestamp, 5);
  assert.equal(first.kind, 'External');
  assert.deepEqual(first.mutations, [{ op: 'Insert', module: 'host', table: 't', row: ['k', 42n], oldRow: null }]);
  assert.equal(first.moduleRecord, null);
  assert.equal(recs[0].transaction.lsn(), 1n); // the generated accessor
  assert.equal(recs[1].toCanonicalJSON(), '{"lsn":2,"timestamp":6,"kind":"External","module":"host","reducer":"json","args":["x",1],"mutations":[]}');
  assert.deepEqual(ist.decodeRecord(recs[1].payload).args, ['x', 1n]);
  assert.deepEqual(recs.slice(3).map((r) => r.decode().reducer), ['b1', 'b2', 'after-rotate']);
  assert.deepEqual([...log.replay({ fromLsn: 5 })].map((r) => r.lsn), [5, 6]);
  assert.deepEqual([...log.replay({ fromLsn: 2, chunkRecords: 1 })].map((r) => r.lsn), [2, 3, 4, 5, 6]);
  assert.deepEqual([...log.replay({ chunkBytes: 1 })].map((r) => r.lsn), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...log.replay({ fromLsn: 7 })], []);
  // the C library renders each record the same way
  log.close();
  log.close(); // idempotent
  assert.equal(log.open, false);
  assert.throws(() => log.lastLsn, { code: 'INTERSTICE_E_CLOSED' });
  assert.throws(() => log.append(txn()), { code: 'INTERSTICE_E_CLOSED' });

  const re = ist.openLog(dir, { recovery: 'readOnly' });
  assert.equal(re.lastLsn, 6);
  assert.throws(() => re.append(txn()), { code: 'INTERSTICE_E_READ_ONLY' });
  re.close();
});

test('log argument and option errors', (t) => {
  const dir = tmpdir(t);
  assert.throws(() => ist.openLog(), /interstice\.openLog: dir must be a non-empty string, got undefined/);
  assert.throws(() => ist.openLog(dir, { segmentSize: 10 }), /option "segmentSize" must be between 1024/);
  assert.throws(() => ist.openLog(dir, { snapshotEvery: 1 }), /unknown option "snapshotEvery"/);
  assert.throws(() => ist.openLog(dir, { sync: 'never' }), /option "sync" must be one of/);
  const log = ist.openLog(dir, { sync: 'none', segmentSize: 4096, retainSegments: 1, syncIntervalMs: 5 });
  assert.throws(() => log.append('x'), /Log\.append: payload must be a Buffer/);
  assert.throws(() => log.append(Buffer.alloc(0)), /Log\.append: payload must not be empty/);
  assert.throws(() => log.append(Buffer.from('not a flatbuffer')), { code: 'INTERSTICE_E_BAD_ARGUMENT' });
  assert.throws(() => log.appendJson(5), /Log\.appendJson: record must be an object or JSON text/);
  assert.throws(() => log.appendJson('{"kind":"Bogus"}'), { code: 'INTERSTICE_E_BAD_ARGUMENT' });
  assert.throws(() => log.appendBatch('x'), /Log\.appendBatch: payloads must be an array/);
  assert.throws(() => log.appendBatch([txn(), 5]), /Log\.appendBatch: payloads\[1\] must be a Buffer/);
  assert.throws(() => [...log.replay({ fromLsn: -1 })], /option "fromLsn" must be a non-negative integer/);
  assert.throws(() => ist.openLog(dir), { code: 'INTERSTICE_E_LOCKED' });
  log.close();
});

const vectors = path.join(root, 'tests', 'vectors');
// The vectors this build writes (segment format 2), then the frozen ones of
// format 1 (tests/vectors/vectors.go).
for (const name of ['basic', 'torn_tail', 'corrupt_middle', 'torn_batch', 'basic_v1', 'torn_tail_v1', 'corrupt_middle_v1']) {
  test(`golden vector ${name}: replay decodes to expected.jsonl, validate matches expected_validate.json`, (t) => {
    const dir = path.join(vectors, name, 'log');
    const expected = fs.readFileSync(path.join(vectors, name, 'expected.jsonl'), 'utf8').split('\n').filter(Boolean);
    const want = JSON.parse(fs.readFileSync(path.join(vectors, name, 'expected_validate.json'), 'utf8'));
    const log = ist.openLog(dir, { recovery: 'readOnly' }); // never modifies the committed fixture
    const got = [];
    const run = () => { for (const r of log.replay({ chunkRecords: 4 })) got.push(r); };
    if (name.startsWith('corrupt_middle')) {
      assert.throws(run, (e) => e instanceof ist.IntersticeError && e.code === 'INTERSTICE_E_CORRUPT' && e.message.includes(want.problem.segment));
    } else {
      run();
    }
    log.close();
    assert.equal(got.length, expected.length);
    got.forEach((r, i) => {
      assert.equal(r.toCanonicalJSON(), expected[i], `lsn ${r.lsn}`);
      assert.equal(r.lsn, i + 1);
    });
    const rep = ist.validateLog(dir);
    assert.equal(rep.records, want.records);
    assert.equal(rep.firstLsn, want.first_lsn);
    assert.equal(rep.lastLsn, want.last_lsn);
    assert.equal(rep.segments, want.segments);
    assert.equal(rep.tornTail, want.torn_tail);
    if (want.torn) {
      assert.equal(rep.torn.segment, want.torn.segment);
      assert.equal(rep.torn.offset, want.torn.offset);
      assert.equal(rep.torn.lsn, want.torn.lsn);
      assert.equal(typeof rep.torn.reason, 'string');
    } else {
      assert.equal(rep.torn, null);
    }
    if (want.problem) {
      assert.equal(rep.problem.status, ist.statuses.INTERSTICE_E_CORRUPT);
      assert.equal(rep.problem.segment, want.problem.segment);
      assert.equal(rep.problem.offset, want.problem.offset);
      assert.equal(rep.problem.lsn, want.problem.lsn);
    } else {
      assert.equal(rep.problem, null);
    }
  });
}

test('the JS canonical JSON equals the C renderer on every golden record', () => {
  const { native } = require('../lib/native');
  const log = ist.openLog(path.join(vectors, 'basic', 'log'), { recovery: 'readOnly' });
  let n = 0;
  for (const r of log.replay()) {
    assert.equal(ist.recordToJSON(r.payload), native.recordToJson(r.payload));
    n++;
  }
  log.close();
  assert.equal(n, 15);
});

test('goFloat formats like Go strconv (g, shortest) and goString escapes like encoding/json', () => {
  const { goFloat, goString } = require('../lib/records');
  const cases = [[0, '0'], [-0, '-0'], [1.5, '1.5'], [100000, '100000'], [1e6, '1e+06'], [1234567, '1.234567e+06'],
    [0.0001, '0.0001'], [0.00001, '1e-05'], [1e-300, '1e-300'], [3.141592653589793, '3.141592653589793'],
    [-0.25, '-0.25'], [1e21, '1e+21'], [123456, '123456'], [NaN, '"NaN"'], [Infinity, '"Infinity"'], [-Infinity, '"-Infinity"']];
  for (const [f, s] of cases) assert.equal(goFloat(f, 64), s, String(f));
  assert.equal(goFloat(0.1, 32), '0.1');
  assert.equal(goFloat(Math.fround(3.3), 32), '3.3');
  assert.equal(goFloat(16777216, 32), '1.6777216e+07');
  assert.equal(goString(Buffer.from('a"\\<>&\b\f\n\r\t\x01\u2028é')), '"a\\"\\\\\\u003c\\u003e\\u0026\\b\\f\\n\\r\\t\\u0001\\u2028é"');
  assert.equal(goString(Buffer.from([0x61, 0xff, 0xc3])), '"a\\ufffd\\ufffd"');
  assert.equal(goString(Buffer.from([0xed, 0xa0, 0x80])), '"\\ufffd\\ufffd\\ufffd"'); // a surrogate is invalid UTF-8
});

test('validate, inspect and repair work on a closed log directory', (t) => {
  const dir = copyDir(path.join(vectors, 'torn_tail', 'log'), path.join(tmpdir(t), 'log'));
  const before = ist.validateLog(dir);
  assert.equal(before.tornTail, true);
  const insp = ist.inspectLog(dir);
  assert.equal(insp.records, 15);
  assert.equal(insp.tornTail, true);
  assert.equal(insp.segments.length, 6);
  assert.equal(typeof insp.byModule.counter, 'number', 'data keys under by_module are kept verbatim');
  assert.ok(insp.byKind.Reducer > 0);
  const rep = ist.repairLog(dir);
  assert.equal(rep.action, 'truncated torn tail');
  assert.equal(rep.lastLsn, 15);
  assert.ok(rep.brokenFiles.length >= 1);
  assert.ok(fs.existsSync(path.join(dir, path.basename(rep.brokenFiles[0]))) || fs.existsSync(rep.brokenFiles[0]));
  const after = ist.validateLog(dir);
  assert.equal(after.tornTail, false);
  assert.equal(after.records, 15);
  assert.equal(ist.repairLog(dir).action, 'none');
  assert.throws(() => ist.validateLog(path.join(dir, 'missing')), { code: 'INTERSTICE_E_NOT_FOUND' });
  assert.throws(() => ist.validateLog(7), /interstice\.validateLog: dir must be a non-empty string/);
  const open = ist.openLog(dir);
  assert.throws(() => ist.repairLog(dir), { code: 'INTERSTICE_E_LOCKED' });
  open.close();
});

test('a runtime data directory is a log too: its records decode', (t) => {
  const dir = tmpdir(t);
  const { wasm, cacheDir } = require('./helpers');
  const db = ist.open(dir, { compilationCacheDir: cacheDir });
  db.loadModule(wasm('counter'));
  db.call('counter', 'add', ['z', 9]);
  db.close();
  const log = ist.openLog(path.join(dir, 'log'), { recovery: 'readOnly' });
  const recs = [...log.replay()].map((r) => r.decode());
  log.close();
  assert.equal(recs[0].kind, 'ModuleLoad');
  assert.equal(recs[0].moduleRecord.name, 'counter');
  assert.match(recs[0].moduleRecord.wasmSha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(recs[1].mutations, [{ op: 'Insert', module: 'counter', table: 'counters', row: ['z', 9n], oldRow: null }]);
  assert.deepEqual(recs[1].args, ['z', 9n]);
});

test('encodeRow / decodeRow round-trip every type; encodeRow refuses wrong values', () => {
  const types = ['bool', 'u32', 'u64', 'i32', 'i64', 'f32', 'f64', 'string', 'bytes', 'string?', 'list<i64>', 'list<list<i32>>', 'list<string?>', 'f64?'];
  const values = [true, 4294967295, 18446744073709551615n, -2147483648, -9223372036854775808n, 0.5, -1e-300, 'héllo', Buffer.from([0, 255]), null, [1n, -2n], [[1], []], ['a', null], 2.5];
  const row = ist.encodeRow(values, types);
  assert.ok(Buffer.isBuffer(row));
  assert.deepEqual(ist.decodeRow(row), [true, 4294967295, 18446744073709551615n, -2147483648, -9223372036854775808n, 0.5, -1e-300, 'héllo', Buffer.from([0, 255]), null, [1n, -2n], [[1], []], ['a', null], 2.5]);
  assert.throws(() => ist.encodeRow([1], ['u8']), /interstice\.encodeRow: unknown type "u8"/);
  assert.throws(() => ist.encodeRow([-1], ['u64']), /values\[0\] = -1 is out of range for u64/);
  assert.throws(() => ist.encodeRow([2 ** 31], ['i32']), RangeError);
  assert.throws(() => ist.encodeRow([1.5], ['i64']), /values\[0\] must be an integer/);
  assert.throws(() => ist.encodeRow([null], ['string']), /values\[0\] is null but its type is not optional/);
  assert.throws(() => ist.encodeRow(['x'], ['bytes']), /values\[0\] must be a Buffer or a Uint8Array/);
  assert.throws(() => ist.encodeRow([[1, 'x']], ['list<i64>']), /values\[0\]\[1\] must be an integer/);
  assert.throws(() => ist.encodeRow([1, 2], ['i64']), /types must be an array of 2 type strings/);
  assert.throws(() => ist.encodeRow('x', []), /values must be an array/);
});
