'use strict';
// log.js — the standalone transaction log: openLog(), Log, validateLog(),
// inspectLog(), repairLog().
const v = require('./validate');
const { native } = require('./native');
const { camel } = require('./result');
const records = require('./records');

const kHandle = Symbol('interstice.logHandle');

/** Record is one log record: its LSN and its payload (an encoded Transaction). */
class Record {
  constructor(lsn, payload) {
    this.lsn = lsn;
    this.payload = payload;
  }

  /** transaction -> the generated FlatBuffers accessor (lib/fb) over payload. */
  get transaction() {
    return records.transaction(this.payload);
  }

  /** decode() -> the record as a plain object (interstice.decodeRecord). */
  decode() {
    return records.decodeRecord(this.payload);
  }

  /** toCanonicalJSON() -> the canonical JSON text (interstice.recordToJSON). */
  toCanonicalJSON() {
    return records.recordToJSON(this.payload);
  }
}

/** Log is an open standalone log directory. Create it with openLog(). */
class Log {
  constructor(handle, dir) {
    this[kHandle] = handle;
    this.dir = dir;
    this.open = true;
  }

  /** append(payload) -> LSN. payload: an encoded Transaction with an lsn field. */
  append(payload) {
    v.bytes('Log.append', 'payload', payload);
    return native.logAppend(this[kHandle], payload);
  }

  /** appendJson(record) -> LSN. record: an object or JSON text in the canonical form. */
  appendJson(record) {
    const fn = 'Log.appendJson';
    let text;
    if (typeof record === 'string') text = record;
    else if (record !== null && typeof record === 'object' && !Array.isArray(record)) text = v.toJSONText(fn, 'record', record);
    else throw new TypeError(`${fn}: record must be an object or JSON text, got ${v.describe(record)}`);
    return native.logAppendJson(this[kHandle], text);
  }

  /** appendBatch(payloads) -> the first LSN; one write and one fdatasync for all. */
  appendBatch(payloads) {
    const fn = 'Log.appendBatch';
    if (!Array.isArray(payloads)) throw new TypeError(`${fn}: payloads must be an array of Buffers, got ${v.describe(payloads)}`);
    payloads.forEach((p, i) => v.bytes(fn, `payloads[${i}]`, p));
    return native.logAppendBatch(this[kHandle], payloads);
  }

  /** sync() writes and fdatasyncs everything appended so far. */
  sync() {
    native.logSync(this[kHandle]);
  }

  /** rotate() seals the active segment and starts a new one. */
  rotate() {
    native.logRotate(this[kHandle]);
  }

  /** firstLsn -> the first record's LSN (0: empty). */
  get firstLsn() {
    return native.logFirstLsn(this[kHandle]);
  }

  /** lastLsn -> the last acknowledged record's LSN (0: empty). */
  get lastLsn() {
    return native.logLastLsn(this[kHandle]);
  }

  /** stats -> {writes, fdatasyncs, records, gathers} since open. */
  get stats() {
    return JSON.parse(native.logLogStats(this[kHandle]));
  }

  /**
   * replay({fromLsn = 0, chunkRecords = 4096, chunkBytes = 8 MiB}) -> an
   * iterator of Records in LSN order, each checksum- and chain-verified. It
   * reads chunk by chunk; damage throws an IntersticeError (e.g.
   * INTERSTICE_E_CORRUPT) after the valid records before it were yielded.
   */
  * replay(opts) {
    const fn = 'Log.replay';
    const o = v.options(fn, opts, ['fromLsn', 'chunkRecords', 'chunkBytes']);
    let from = v.uint(fn, 'fromLsn', o.fromLsn) ?? 0;
    const chunkRecords = v.uint(fn, 'chunkRecords', o.chunkRecords, 1) ?? 4096;
    const chunkBytes = v.uint(fn, 'chunkBytes', o.chunkBytes, 1) ?? 8 << 20;
    for (;;) {
      const c = native.logReplay(this[kHandle], from, chunkRecords, chunkBytes);
      for (let i = 0; i < c.lsns.length; i++) yield new Record(c.lsns[i], c.payloads[i]);
      if (c.error) throw c.error;
      if (!c.more || c.lsns.length === 0) return;
      from = c.lsns[c.lsns.length - 1] + 1;
    }
  }

  /** close() writes and fdatasyncs queued records and closes the log. Idempotent. */
  close() {
    native.logClose(this[kHandle]);
    this.open = false;
  }
}

const LOG_OPEN = 'interstice.openLog';

/** openLog(dir, options) -> Log. Creates the directory's log if needed and recovers it. */
function openLog(dir, options) {
  v.path(LOG_OPEN, 'dir', dir);
  return new Log(native.logOpen(dir, v.logOptions(LOG_OPEN, options)), dir);
}

/** validateLog(dir, options) -> a report; never writes. Damage is in the report, not thrown. */
function validateLog(dir, options) {
  v.path('interstice.validateLog', 'dir', dir);
  return native.logValidate(dir, v.logOptions('interstice.validateLog', options));
}

/** inspectLog(dir, options) -> validate plus counts per kind, module, table and op. */
function inspectLog(dir, options) {
  v.path('interstice.inspectLog', 'dir', dir);
  return camel(JSON.parse(native.logInspect(dir, v.logOptions('interstice.inspectLog', options))),
    new Set(['by_kind', 'by_module', 'by_table', 'by_op']));
}

/** repairLog(dir, options) -> what was done; the log must not be open. */
function repairLog(dir, options) {
  v.path('interstice.repairLog', 'dir', dir);
  return camel(JSON.parse(native.logRepair(dir, v.logOptions('interstice.repairLog', options))));
}

module.exports = { openLog, Log, Record, validateLog, inspectLog, repairLog };
