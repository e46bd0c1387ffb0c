'use strict';
// interstice — the Node.js package of Interstice, an embeddable, durable,
// deterministic WebAssembly runtime. See README.md and docs/api.md.
const { native } = require('./native');
const { IntersticeError, CallbackError, statuses } = require('./errors');
const { open, Database, Table } = require('./database');
const { openLog, Log, Record, validateLog, inspectLog, repairLog } = require('./log');
const { decodeRecord, decodeRow, recordToJSON, encodeRow } = require('./records');
const flatbuffers = require('flatbuffers');

const v = native.versions();

module.exports = {
  open,
  openLog,
  validateLog,
  inspectLog,
  repairLog,
  decodeRecord,
  decodeRow,
  recordToJSON,
  encodeRow,
  /**
   * The FlatBuffers classes flatc generated from fbs/ (lib/fb) and the
   * flatbuffers runtime, to read or build records and rows by hand.
   */
  fb: Object.freeze({
    flatbuffers,
    ...require('./fb/interstice/fb/transaction'),
    ...require('./fb/interstice/fb/mutation'),
    ...require('./fb/interstice/fb/module-record'),
    ...require('./fb/interstice/fb/row'),
    ...require('./fb/interstice/fb/value'),
    ...require('./fb/interstice/fb/value-type'),
    ...require('./fb/interstice/fb/tx-kind'),
    ...require('./fb/interstice/fb/op'),
    ...require('./fb/interstice/fb/module-schema'),
    ...require('./fb/interstice/fb/snapshot'),
  }),
  IntersticeError,
  CallbackError,
  statuses,
  Database,
  Table,
  Log,
  Record,
  /** The library's version ('0.5.0'), its ABI version, and the header's the addon was built with. */
  version: Object.freeze({ library: v.version, abi: v.abiVersion, header: v.headerVersion, headerAbi: v.headerAbiVersion }),
  /** Log levels of the log option's callback (INTERSTICE_LOG_*). */
  LOG_LEVELS: Object.freeze({ DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 }),
};
