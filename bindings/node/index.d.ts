// Type definitions for interstice (bindings/node). The reference is docs/api.md.

/// <reference types="node" />

/** When an appended record (a committed call) reaches disk. Default 'always'. */
export type SyncPolicy = 'always' | 'interval' | 'none';
/** What opening does with a damaged log. Default 'truncateTail'. */
export type RecoveryMode = 'truncateTail' | 'strict' | 'readOnly';
/** Bytes accepted wherever the library takes binary input. */
export type Bytes = Buffer | ArrayBufferView | ArrayBuffer;
/** A row or a key as JSON gives it: an object keyed by column name. */
export type Row = { [column: string]: unknown };

export interface OpenOptions {
  /** Default 'always': a call returns after its record is fdatasynced (group commit). */
  sync?: SyncPolicy;
  /** fdatasync period under sync 'interval', in ms. Default 100. */
  syncIntervalMs?: number;
  /** Default 'truncateTail'. 'readOnly': rebuild and read; calls, loads and snapshots fail. */
  recovery?: RecoveryMode;
  /** Log segment size in bytes, 1024 .. 2^30. Default 64 MiB. */
  segmentSize?: number;
  /** Snapshot in the background after this many transactions (durable only). Default 0: off. */
  snapshotEvery?: number;
  /** Also snapshot after this many bytes of row data (durable only). Default 0: off. */
  snapshotEveryBytes?: number;
  /** Snapshots kept. Default 2. */
  keepSnapshots?: number;
  /** Sealed log segments kept at least. Default 0: never delete any. */
  retainSegments?: number;
  /** Wall-clock budget of one transaction in ms, 1 .. 86400000, or Infinity (no deadline). Default 5000. */
  callDeadlineMs?: number;
  /** Max 64 KiB pages per module instance, 1 .. 65536. Default 256 (16 MiB). */
  memoryLimitPages?: number;
  /** Directory caching compiled modules. Default: $INTERSTICE_COMPILATION_CACHE_DIR, else an in-memory cache shared by the process. */
  compilationCacheDir?: string;
  /** Guest log lines, stdout (INFO) and stderr (WARN). Default: discarded. */
  log?: (level: number, module: string, message: string) => void;
  /** Replay progress during open: bytes of log read so far and in total. */
  onProgress?: (done: number, total: number) => void;
}

export interface LogOptions {
  sync?: SyncPolicy;
  syncIntervalMs?: number;
  recovery?: RecoveryMode;
  segmentSize?: number;
  retainSegments?: number;
}

export interface CascadeRun {
  module: string;
  reducer: string;
  depth: number;
  lsn: number;
  error: string | null;
}

export interface CallResult {
  /** The committed transaction's LSN; for a call that changed nothing (no record, no fdatasync), the last committed one. */
  lsn: number;
  /** When it ran, in nanoseconds since the Unix epoch (wall clock, strictly increasing). A JS
   *  number holds it to about 0.25 µs (it is above 2^53): use `lsn` to identify a transaction. */
  timestamp: number;
  /** Row mutations it committed. */
  mutations: number;
  /** Subscriber reducers its events ran (each its own transaction). */
  cascade: CascadeRun[];
  /** The first subscriber failure (a failed subscriber does not fail the call). */
  cascadeError: string | null;
}

/** Call arguments: by position, by parameter name, or an encoded Row. */
export type CallArgs = unknown[] | { [param: string]: unknown } | Bytes | undefined;

export interface ModuleInfo {
  name: string;
  version: string;
  wasmSha256: string;
}

export interface TableEvent {
  op: 'insert' | 'update' | 'delete';
  module: string;
  table: string;
  row: Row | null;
  oldRow: Row | null;
  lsn: number;
  /** When the transaction ran (ns since the Unix epoch; precise to about 0.25 µs as a number). */
  timestamp: number;
}

export interface SubscribeHandlers {
  onInsert?: (row: Row, event: TableEvent) => void;
  onUpdate?: (row: Row, oldRow: Row, event: TableEvent) => void;
  onDelete?: (oldRow: Row, event: TableEvent) => void;
}

export interface ReplayStats {
  durable: boolean;
  readOnly: boolean;
  snapshotLsn: number;
  snapshotRows: number;
  snapshotsSkipped: string[];
  records: number;
  mutations: number;
  lastLsn: number;
  durationNs: number;
  tornTail: boolean;
  lastSnapshotError: string | null;
}

export interface LogStats {
  writes: number;
  fdatasyncs: number;
  records: number;
  gathers: number;
}

export class Database {
  private constructor();
  /** The data directory, or null in memory. */
  readonly dir: string | null;
  readonly inMemory: boolean;
  /** False after close(). */
  readonly open: boolean;
  loadModule(wasm: Bytes | string): string;
  readonly modules: ModuleInfo[];
  describe(module: string): any;
  call(module: string, reducer: string, args?: CallArgs): CallResult;
  /** call() returning only the LSN (no result JSON is built: the fastest call). */
  run(module: string, reducer: string, args?: CallArgs): number;
  callAsync(module: string, reducer: string, args?: CallArgs): Promise<CallResult>;
  table(module: string, name: string): Table;
  subscribe(module: string, table: string, handlers: SubscribeHandlers): () => boolean;
  snapshot(): number;
  readonly replayStats: ReplayStats;
  readonly logStats: LogStats;
  readonly lastLsn: number;
  close(): void;
}

export class Table implements Iterable<Row> {
  private constructor();
  readonly module: string;
  readonly name: string;
  get(key: string | number | bigint | boolean | Bytes): Row | undefined;
  count(): number;
  rows(options?: { chunkRows?: number; chunkBytes?: number }): Generator<Row, void, undefined>;
  [Symbol.iterator](): Iterator<Row>;
}

export interface DecodedMutation {
  op: 'Insert' | 'Update' | 'Delete';
  module: string;
  table: string;
  row: unknown[] | null;
  oldRow: unknown[] | null;
}

export interface DecodedRecord {
  lsn: number;
  timestamp: number;
  kind: 'Reducer' | 'ModuleLoad' | 'Migration' | 'External';
  module: string;
  reducer: string;
  args: unknown[] | null;
  mutations: DecodedMutation[];
  moduleRecord: { name: string; version: string; schema: Buffer; wasmSha256: string } | null;
}

export class Record {
  private constructor();
  readonly lsn: number;
  /** The encoded Transaction (fbs/transaction.fbs). */
  readonly payload: Buffer;
  /** The generated FlatBuffers accessor over payload. */
  readonly transaction: any;
  decode(): DecodedRecord;
  toCanonicalJSON(): string;
}

export class Log {
  private constructor();
  readonly dir: string;
  readonly open: boolean;
  append(payload: Bytes): number;
  appendJson(record: object | string): number;
  /** Appends the payloads as one batch (consecutive LSNs, one write and one fdatasync): all or none, across crashes too. Returns the first LSN. */
  appendBatch(payloads: Bytes[]): number;
  sync(): void;
  rotate(): void;
  readonly firstLsn: number;
  readonly lastLsn: number;
  readonly stats: LogStats;
  replay(options?: { fromLsn?: number; chunkRecords?: number; chunkBytes?: number }): Generator<Record, void, undefined>;
  close(): void;
}

export interface ValidateReport {
  records: number;
  bytes: number;
  validBytes: number;
  firstLsn: number;
  lastLsn: number;
  segments: number;
  tornTail: boolean;
  torn: { segment: string; offset: number; lsn: number; reason: string } | null;
  problem: { status: number; segment: string; offset: number; lsn: number; reason: string } | null;
}

export function open(dir?: string | null, options?: OpenOptions): Database;
export function openLog(dir: string, options?: LogOptions): Log;
export function validateLog(dir: string, options?: LogOptions): ValidateReport;
export function inspectLog(dir: string, options?: LogOptions): any;
export function repairLog(dir: string, options?: LogOptions): {
  action: 'none' | 'truncated torn tail' | 'truncated at corruption';
  problem: any;
  brokenFiles: string[];
  movedSegments: string[];
  lastLsn: number;
};
export function decodeRecord(payload: Bytes): DecodedRecord;
export function recordToJSON(payload: Bytes): string;
export function decodeRow(bytes: Bytes): unknown[];
export function encodeRow(values: unknown[], types: string[]): Buffer;

/** The flatc-generated classes (lib/fb) and the flatbuffers runtime. */
export const fb: { flatbuffers: typeof import('flatbuffers'); [name: string]: any };

export class IntersticeError extends Error {
  constructor(status: number, message: string, detail?: number, guestMessage?: string | null);
  /** The status's name in interstice.h, e.g. 'INTERSTICE_E_NOT_FOUND'; 'INTERSTICE_E_UNKNOWN' for a code this package does not know. */
  readonly code: string;
  /** The numeric status of the C ABI. */
  readonly status: number;
  /** The finer reason (the Go core code), else 0. */
  readonly detail: number;
  /** The module's own words (a reducer's error text, a guest panic line); null when the failure did not come from the guest. */
  readonly guestMessage: string | null;
  static describe(status: number): string | undefined;
}

export class CallbackError extends Error {
  constructor(cause: unknown, result?: CallResult);
  readonly code: 'ERR_INTERSTICE_CALLBACK';
  readonly cause: unknown;
  /** Always true: the call committed. */
  readonly committed: true;
  /** The call's result (after run(): only {lsn}). */
  readonly result: CallResult | { lsn: number } | undefined;
}

/** Status codes by name, e.g. statuses.INTERSTICE_E_NOT_FOUND === 2. */
export const statuses: { readonly [name: string]: number };
export const version: { readonly library: string; readonly abi: number; readonly header: string; readonly headerAbi: number };
export const LOG_LEVELS: { readonly DEBUG: 0; readonly INFO: 1; readonly WARN: 2; readonly ERROR: 3 };
