'use strict';
// database.js — open(), Database and Table: the runtime API.
const v = require('./validate');
const { native, scratch } = require('./native');
const { parseResult, camel } = require('./result');

const kHandle = Symbol('interstice.handle');
const kDb = Symbol('interstice.db');

const OPEN_OPTIONS = ['sync', 'syncIntervalMs', 'recovery', 'segmentSize', 'snapshotEvery', 'callDeadlineMs',
  'memoryLimitPages', 'compilationCacheDir', 'snapshotEveryBytes', 'keepSnapshots', 'retainSegments', 'log',
  'onProgress'];

const OPS = ['insert', 'update', 'delete'];
const DAY_MS = 24 * 60 * 60 * 1000;

function openOptions(dir, opts) {
  const fn = 'interstice.open';
  const o = v.options(fn, opts, OPEN_OPTIONS);
  const durableOnly = ['snapshotEvery', 'snapshotEveryBytes'];
  if (dir === null) {
    for (const k of durableOnly) {
      if (o[k] !== undefined && o[k] !== 0) throw new TypeError(`${fn}: option "${k}" needs a data directory (dir is null: in memory)`);
    }
  }
  let callDeadlineMs;
  let noDeadline = 0;
  if (o.callDeadlineMs === Infinity) {
    noDeadline = 1;
  } else {
    callDeadlineMs = v.uint(fn, 'callDeadlineMs', o.callDeadlineMs, 1, DAY_MS);
  }
  return {
    sync: v.oneOf(fn, 'sync', o.sync, v.SYNC),
    syncIntervalMs: v.uint(fn, 'syncIntervalMs', o.syncIntervalMs, 1, 2 ** 32 - 1),
    recovery: v.oneOf(fn, 'recovery', o.recovery, v.RECOVERY),
    segmentSize: v.uint(fn, 'segmentSize', o.segmentSize, 1024, 2 ** 30),
    snapshotEvery: v.uint(fn, 'snapshotEvery', o.snapshotEvery),
    callDeadlineMs,
    noDeadline,
    memoryLimitPages: v.uint(fn, 'memoryLimitPages', o.memoryLimitPages, 1, 65536),
    compilationCacheDir: v.optString(fn, 'compilationCacheDir', o.compilationCacheDir ?? (process.env.INTERSTICE_COMPILATION_CACHE_DIR || undefined)),
    snapshotEveryBytes: v.uint(fn, 'snapshotEveryBytes', o.snapshotEveryBytes),
    keepSnapshots: v.uint(fn, 'keepSnapshots', o.keepSnapshots, 1, 2 ** 32 - 1),
    retainSegments: v.uint(fn, 'retainSegments', o.retainSegments, 0, 2 ** 32 - 1),
    log: v.optFunc(fn, 'log', o.log),
    onProgress: v.optFunc(fn, 'onProgress', o.onProgress),
  };
}

/** callArgs converts call arguments: undefined, an array, an object or bytes. */
function callArgs(fn, args) {
  if (args === undefined || args === null) return undefined;
  if (v.isBytes(args)) return args;
  if (typeof args === 'object') return v.toJSONText(fn, 'args', args);
  throw new TypeError(`${fn}: args must be an array (by position), an object (by name), a Buffer (an encoded Row) or undefined, got ${v.describe(args)}`);
}

function result(r) {
  if (r === undefined) return { lsn: scratch[0], timestamp: scratch[1], mutations: scratch[2], cascade: [], cascadeError: null };
  return parseResult(r);
}

/**
 * Database is an open runtime: loaded modules, their tables, and (with a
 * data directory) the durable log behind them. Create it with open().
 */
class Database {
  constructor(handle, dir) {
    this[kHandle] = handle;
    this.dir = dir;
    this.inMemory = dir === null;
    this.open = true;
    Object.defineProperty(this, 'dir', { writable: false });
    Object.defineProperty(this, 'inMemory', { writable: false });
  }

  /** loadModule(wasm: Buffer | path string) -> the module's name. */
  loadModule(wasm) {
    const fn = 'Database.loadModule';
    if (typeof wasm === 'string') v.path(fn, 'wasm', wasm);
    else v.bytes(fn, 'wasm', wasm);
    return native.loadModule(this[kHandle], wasm);
  }

  /** modules -> [{name, version, wasmSha256}] in load order. */
  get modules() {
    return JSON.parse(native.moduleList(this[kHandle])).map((m) => ({ name: m.name, version: m.version, wasmSha256: m.wasm_sha256 }));
  }

  /** describe(module) -> the module's schema (its describe, as JSON). */
  describe(module) {
    v.name('Database.describe', 'module', module);
    return JSON.parse(native.describe(this[kHandle], module));
  }

  /** call(module, reducer, args?) -> {lsn, timestamp, mutations, cascade, cascadeError}. */
  call(module, reducer, args) {
    const fn = 'Database.call';
    if (typeof module !== 'string' || module.length === 0) v.name(fn, 'module', module);
    if (typeof reducer !== 'string' || reducer.length === 0) v.name(fn, 'reducer', reducer);
    const a = args === undefined ? undefined : callArgs(fn, args);
    return result(native.call(this[kHandle], module, reducer, a));
  }

  /**
   * run(module, reducer, args?) -> the LSN. call() without the rest of the
   * result: the library then builds, copies and parses no result JSON, which
   * is most of the cost of a small call from JS.
   */
  run(module, reducer, args) {
    const fn = 'Database.run';
    if (typeof module !== 'string' || module.length === 0) v.name(fn, 'module', module);
    if (typeof reducer !== 'string' || reducer.length === 0) v.name(fn, 'reducer', reducer);
    return native.call(this[kHandle], module, reducer, args === undefined ? undefined : callArgs(fn, args), true);
  }

  /** callAsync(module, reducer, args?) -> Promise of the call() result; queued in the library, no thread waits. */
  callAsync(module, reducer, args) {
    const fn = 'Database.callAsync';
    try {
      v.name(fn, 'module', module);
      v.name(fn, 'reducer', reducer);
      return native.callAsync(this[kHandle], module, reducer, callArgs(fn, args)).then(parseResult);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** table(module, name) -> Table. Throws INTERSTICE_E_NOT_FOUND for an unknown table. */
  table(module, name) {
    v.name('Database.table', 'module', module);
    v.name('Database.table', 'name', name);
    native.count(this[kHandle], module, name); // fails now, not at the first read
    return new Table(this, module, name);
  }

  /**
   * subscribe(module, table, {onInsert, onUpdate, onDelete}) -> unsubscribe().
   * onInsert(row, event), onUpdate(row, oldRow, event), onDelete(oldRow, event).
   */
  subscribe(module, table, handlers) {
    const fn = 'Database.subscribe';
    v.name(fn, 'module', module);
    v.name(fn, 'table', table);
    const h = v.options(fn, handlers, ['onInsert', 'onUpdate', 'onDelete'], 'handlers');
    const onInsert = v.optFunc(fn, 'onInsert', h.onInsert);
    const onUpdate = v.optFunc(fn, 'onUpdate', h.onUpdate);
    const onDelete = v.optFunc(fn, 'onDelete', h.onDelete);
    const mask = (onInsert ? 1 : 0) | (onUpdate ? 2 : 0) | (onDelete ? 4 : 0);
    if (mask === 0) throw new TypeError(`${fn}: handlers needs at least one of onInsert, onUpdate, onDelete`);
    const dispatch = (op, newJson, oldJson, lsn, timestamp) => {
      const row = newJson === null ? null : JSON.parse(newJson);
      const oldRow = oldJson === null ? null : JSON.parse(oldJson);
      const event = { op: OPS[op], module, table, row, oldRow, lsn, timestamp };
      if (op === 0) onInsert(row, event);
      else if (op === 1) onUpdate(row, oldRow, event);
      else onDelete(oldRow, event);
    };
    const handle = this[kHandle];
    const key = native.subscribe(handle, module, table, mask, dispatch);
    return function unsubscribe() {
      return native.unsubscribe(handle, key);
    };
  }

  /** snapshot() -> the LSN the snapshot covers (durable runtimes only). */
  snapshot() {
    return native.snapshot(this[kHandle]);
  }

  /** replayStats -> what opening did to rebuild the state. */
  get replayStats() {
    return camel(JSON.parse(native.replayStats(this[kHandle])));
  }

  /** logStats -> {writes, fdatasyncs, records, gathers} of the log since open. */
  get logStats() {
    return JSON.parse(native.logStats(this[kHandle]));
  }

  /** lastLsn -> the LSN of the last committed transaction (0: none). */
  get lastLsn() {
    return native.lastLsn(this[kHandle]);
  }

  /** close() waits for a running call, flushes the log and releases the directory. Idempotent. */
  close() {
    native.close(this[kHandle]);
    this.open = false;
  }
}

/** Table reads one table of a module: get, count and a chunked iterator. */
class Table {
  constructor(db, module, name) {
    this[kDb] = db;
    this.module = module;
    this.name = name;
  }

  /** get(key) -> the row (an object keyed by column) or undefined. */
  get(key) {
    const fn = 'Table.get';
    let text;
    if (typeof key === 'string' || typeof key === 'boolean' || typeof key === 'bigint' || (typeof key === 'number' && Number.isFinite(key)) || v.isBytes(key)) {
      text = v.toJSONText(fn, 'key', key);
    } else {
      throw new TypeError(`${fn}: key must be a string, a finite number, a bigint, a boolean or a Buffer, got ${v.describe(key)}`);
    }
    const row = native.getJson(this[kDb][kHandle], this.module, this.name, text);
    return row === null ? undefined : JSON.parse(row);
  }

  /** count() -> the number of committed rows. */
  count() {
    return native.count(this[kDb][kHandle], this.module, this.name);
  }

  /**
   * rows({chunkRows = 256, chunkBytes = 1 MiB}) -> an iterator over the rows in
   * primary-key order, read chunkRows at a time (never the whole table at once).
   */
  * rows(opts) {
    const fn = 'Table.rows';
    const o = v.options(fn, opts, ['chunkRows', 'chunkBytes']);
    const chunkRows = v.uint(fn, 'chunkRows', o.chunkRows, 1) ?? 256;
    const chunkBytes = v.uint(fn, 'chunkBytes', o.chunkBytes, 1) ?? 1 << 20;
    const scan = native.scanOpen(this[kDb][kHandle], this.module, this.name);
    try {
      for (;;) {
        const chunk = native.scanNext(scan, chunkRows, chunkBytes);
        if (chunk === null) return;
        yield* JSON.parse(chunk);
      }
    } finally {
      native.scanClose(scan);
    }
  }

  [Symbol.iterator]() {
    return this.rows();
  }
}

/**
 * open(dir, options) -> Database. dir null or undefined: in memory (nothing
 * is written). Any existing log in dir is replayed.
 */
function open(dir, options) {
  if (dir === undefined) dir = null;
  if (dir !== null) v.path('interstice.open', 'dir', dir);
  const o = openOptions(dir, options);
  return new Database(native.open(dir, o), dir);
}

module.exports = { open, Database, Table, kHandle };
