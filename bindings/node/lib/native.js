'use strict';
// native.js — loads the addon (build/Release/interstice.node) once per
// environment and gives it the constructors of the errors it throws.
const path = require('path');
const { IntersticeError, CallbackError } = require('./errors');
const { parseResult } = require('./result');

let native;
try {
  native = require(path.join(__dirname, '..', 'build', 'Release', 'interstice.node'));
} catch (e) {
  if (e && e.code === 'INTERSTICE_LOAD') throw e; // the addon's own, clear message (ABI mismatch ...)
  throw new Error(`interstice: the native addon does not load (${e && e.message}); rebuild it: npm rebuild interstice`, { cause: e });
}

/** The call result of the fast path: lsn, timestamp, mutations. */
const scratch = new Float64Array(3);

native.setup(
  (status, message, detail, guestMessage) => new IntersticeError(status, message, detail, guestMessage),
  (cause, resultJson) => new CallbackError(cause, resultJson ? parseResult(resultJson) : undefined),
  scratch,
);

module.exports = { native, scratch };
