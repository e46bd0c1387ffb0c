'use strict';
// errors.js — IntersticeError (every failure of the C library) and
// CallbackError (a callback of yours threw during a call that committed).
//
// The codes come from the status block of include/interstice.h:
// scripts/gen-status.js turns it into gen/status.json at build time, so a
// code can never drift from the header. An unknown status (a newer library)
// still becomes an IntersticeError, with code 'INTERSTICE_E_UNKNOWN'.

let table;
try {
  table = require('../gen/status.json');
} catch (e) {
  throw new Error('interstice: gen/status.json is missing; the package was not built (npm rebuild interstice)', { cause: e });
}

/** status number -> {name, status, description} */
const byStatus = new Map(table.statuses.map((s) => [s.status, s]));

/** The status codes by name, e.g. statuses.INTERSTICE_E_NOT_FOUND === 2. */
const statuses = Object.freeze(Object.fromEntries(table.statuses.map((s) => [s.name, s.status])));

/**
 * IntersticeError is a failure reported by libinterstice.
 *   .code    the status's name in interstice.h, e.g. 'INTERSTICE_E_NOT_FOUND'
 *   .status  the numeric status, e.g. 2
 *   .detail  the finer reason (e.g. 105 "bad name"; pinned in interstice.h), else 0
 *   .guestMessage  the module's own words (a reducer's error text, a guest
 *            panic line), or null when the failure did not come from the guest
 */
class IntersticeError extends Error {
  constructor(status, message, detail = 0, guestMessage = null) {
    super(message);
    const s = byStatus.get(status);
    this.code = s ? s.name : 'INTERSTICE_E_UNKNOWN';
    this.status = status;
    this.detail = detail;
    this.guestMessage = guestMessage ?? null;
  }

  get name() {
    return 'IntersticeError';
  }

  /** The header's one-line description of a status (undefined if unknown). */
  static describe(status) {
    const s = byStatus.get(status);
    return s ? s.description : undefined;
  }
}

/**
 * CallbackError is thrown by call() (or rejects callAsync()) when one of
 * your subscription or log callbacks threw during the call. The call itself
 * committed: .committed is true and .result holds its result (lsn ...);
 * .cause is the first value a callback threw (the others are dropped).
 */
class CallbackError extends Error {
  constructor(cause, result) {
    const what = cause instanceof Error ? cause.message : String(cause);
    const lsn = result ? ` (lsn ${result.lsn})` : '';
    super(`a callback threw during a call that committed${lsn}; the transaction stands: ${what}`, { cause });
    this.code = 'ERR_INTERSTICE_CALLBACK';
    this.committed = true;
    this.result = result;
  }

  get name() {
    return 'CallbackError';
  }
}

module.exports = { IntersticeError, CallbackError, statuses, headerVersion: table.version, headerAbiVersion: table.abiVersion };
