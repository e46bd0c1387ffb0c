'use strict';
// validate.js — the argument checks that run before any native code. Every
// message names the function and the argument or option.

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return `an instance of ${v.constructor ? v.constructor.name : 'Object'}`;
  return typeof v;
}

function name(fn, arg, v) {
  if (typeof v !== 'string' || v.length === 0) {
    throw new TypeError(`${fn}: ${arg} must be a non-empty string, got ${describe(v)}`);
  }
  if (v.includes('\0')) throw new TypeError(`${fn}: ${arg} must not contain NUL characters`);
  return v;
}

function path(fn, arg, v) {
  return name(fn, arg, v);
}

function isBytes(v) {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
}

function bytes(fn, arg, v) {
  if (!isBytes(v)) throw new TypeError(`${fn}: ${arg} must be a Buffer, a TypedArray, a DataView or an ArrayBuffer, got ${describe(v)}`);
  if (v.byteLength === 0) throw new TypeError(`${fn}: ${arg} must not be empty`);
  return v;
}

function func(fn, arg, v) {
  if (typeof v !== 'function') throw new TypeError(`${fn}: ${arg} must be a function, got ${describe(v)}`);
  return v;
}

/** options checks opts (undefined or a plain object) against the allowed keys. */
function options(fn, v, allowed, arg = 'options') {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || isBytes(v)) {
    throw new TypeError(`${fn}: ${arg} must be an object, got ${describe(v)}`);
  }
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw new TypeError(`${fn}: unknown option "${k}" (known: ${allowed.join(', ')})`);
  }
  return v;
}

/** uint checks an optional integer option in [min, max]; returns undefined when absent. */
function uint(fn, opt, v, min = 0, max = Number.MAX_SAFE_INTEGER) {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new TypeError(`${fn}: option "${opt}" must be a non-negative integer, got ${describe(v)}`);
  }
  if (v < min || v > max) throw new RangeError(`${fn}: option "${opt}" must be between ${min} and ${max}, got ${v}`);
  return v;
}

function oneOf(fn, opt, v, values) {
  if (v === undefined) return undefined;
  if (!Object.prototype.hasOwnProperty.call(values, v)) {
    throw new TypeError(`${fn}: option "${opt}" must be one of ${Object.keys(values).map((x) => JSON.stringify(x)).join(', ')}, got ${describe(v)}`);
  }
  return values[v];
}

function optFunc(fn, opt, v) {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'function') throw new TypeError(`${fn}: option "${opt}" must be a function, got ${describe(v)}`);
  return v;
}

function optString(fn, opt, v) {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new TypeError(`${fn}: option "${opt}" must be a non-empty string, got ${describe(v)}`);
  return v;
}

// The values of the C enums (include/interstice.h).
const SYNC = { always: 0, interval: 1, none: 2 };
const RECOVERY = { truncateTail: 0, strict: 1, readOnly: 2 };

/** logOptions converts the options shared by the log functions. */
function logOptions(fn, opts, extra = []) {
  const o = options(fn, opts, ['sync', 'syncIntervalMs', 'recovery', 'segmentSize', 'retainSegments', ...extra]);
  return {
    sync: oneOf(fn, 'sync', o.sync, SYNC),
    syncIntervalMs: uint(fn, 'syncIntervalMs', o.syncIntervalMs, 1, 2 ** 32 - 1),
    recovery: oneOf(fn, 'recovery', o.recovery, RECOVERY),
    segmentSize: uint(fn, 'segmentSize', o.segmentSize, 1024, 2 ** 30),
    retainSegments: uint(fn, 'retainSegments', o.retainSegments, 0, 2 ** 32 - 1),
  };
}

/**
 * toJSONText serialises call arguments and keys. BigInts become exact JSON
 * integers (JSON.stringify refuses them); Buffers become base64 strings (the
 * JSON form of a bytes value).
 */
function toJSONText(fn, arg, v) {
  try {
    return JSON.stringify(v, bufferReplacer);
  } catch (e) {
    if (!(e instanceof TypeError) || !/BigInt/.test(e.message)) throw new TypeError(`${fn}: ${arg} cannot be written as JSON: ${e.message}`);
  }
  return stringifyBig(v, fn, arg, 0);
}

function bufferReplacer(key, value) {
  if (value && typeof value === 'object' && value.type === 'Buffer' && Array.isArray(value.data)) {
    return Buffer.from(value.data).toString('base64');
  }
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return value;
}

function stringifyBig(v, fn, arg, depth) {
  if (depth > 64) throw new TypeError(`${fn}: ${arg} is nested too deeply`);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stringifyBig(x, fn, arg, depth + 1))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    if (typeof v.toJSON === 'function') return stringifyBig(v.toJSON(), fn, arg, depth + 1);
    const parts = [];
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined || typeof x === 'function') continue;
      parts.push(`${JSON.stringify(k)}:${stringifyBig(x, fn, arg, depth + 1)}`);
    }
    return `{${parts.join(',')}}`;
  }
  const s = JSON.stringify(v);
  return s === undefined ? 'null' : s;
}

module.exports = { name, path, bytes, isBytes, func, options, uint, oneOf, optFunc, optString, describe, logOptions, toJSONText, SYNC, RECOVERY };
