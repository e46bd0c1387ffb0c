'use strict';
// interstice — the Node.js package of Interstice, an embeddable, durable,
// deterministic WebAssembly runtime. See README.md and docs/api.md.
const { native } = require('./native');
const { IntersticeError, CallbackError, statuses } = require('./errors');
const { open, Database, Table } = require('./database');
const { openLog, Log, Record, validateLog, inspectLog, repairLog } = require('./log');
const { decodeRecord, decodeRow, recordToJSON } = require('./records');

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
  IntersticeError,
  CallbackError,
  statuses,
  Database,
  Table,
  Log,
  Record,
  /** The library's version ('0.1.0'), its ABI version, and the header's the addon was built with. */
  version: Object.freeze({ library: v.version, abi: v.abiVersion, header: v.headerVersion, headerAbi: v.headerAbiVersion }),
  /** Log levels of the log option's callback (INTERSTICE_LOG_*). */
  LOG_LEVELS: Object.freeze({ DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 }),
};
