'use strict';
// records.js — log records decoded with the official flatbuffers runtime and
// the classes flatc generated from fbs/ (lib/fb, compiled from src/fb).
//
// decodeRecord() gives a plain JS object; recordToJSON() gives the canonical
// JSON text of a record, byte for byte what the C library's
// interstice_record_to_json and `interstice log dump --json` print
// (internal/txjson, row.AppendJSON: Go's strconv 'g' floats, Go's
// encoding/json string escaping), so tests/vectors/*/expected.jsonl checks it.
const flatbuffers = require('flatbuffers');
const { Transaction } = require('./fb/interstice/fb/transaction');
const { Row } = require('./fb/interstice/fb/row');
const { ValueType } = require('./fb/interstice/fb/value-type');
const { TxKind } = require('./fb/interstice/fb/tx-kind');
const { Op } = require('./fb/interstice/fb/op');

const UTF8 = flatbuffers.Encoding.UTF8_BYTES;
const decoder = new TextDecoder('utf-8');

function u8(buf) {
  if (buf instanceof Uint8Array) return buf;
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  throw new TypeError(`interstice: a record payload must be a Buffer or a TypedArray, got ${typeof buf}`);
}

/** transaction(payload) -> the generated Transaction accessor over payload (no copy). */
function transaction(payload) {
  return Transaction.getRootAsTransaction(new flatbuffers.ByteBuffer(u8(payload)));
}

function row(bytes) {
  return Row.getRootAsRow(new flatbuffers.ByteBuffer(bytes));
}

// ---- plain objects ----

function valueOf(val) {
  switch (val.type()) {
    case ValueType.Null: return null;
    case ValueType.Bool: return val.b();
    case ValueType.U32: return Number(val.u());
    case ValueType.U64: return val.u();
    case ValueType.I32: return Number(val.i());
    case ValueType.I64: return val.i();
    case ValueType.F32: return Math.fround(val.f());
    case ValueType.F64: return val.f();
    case ValueType.String: return val.s();
    case ValueType.Bytes: { const a = val.bytesArray(); return Buffer.from(a ? Uint8Array.from(a) : []); }
    case ValueType.List: {
      const out = [];
      for (let i = 0; i < val.listLength(); i++) out.push(valueOf(val.list(i)));
      return out;
    }
    default: throw new Error(`interstice: unknown value type ${val.type()}`);
  }
}

/**
 * decodeRow(bytes) -> the values of an encoded Row (fbs/value.fbs) as JS
 * values: u64/i64 as BigInt, u32/i32/f32/f64 as numbers, bytes as Buffers,
 * lists as arrays, null for Null.
 */
function decodeRow(bytes) {
  const r = row(u8(bytes));
  const out = [];
  for (let i = 0; i < r.valuesLength(); i++) out.push(valueOf(r.values(i)));
  return out;
}

function optRow(a) {
  return a === null ? null : decodeRow(a);
}

/**
 * decodeRecord(payload) -> {lsn, timestamp, kind, module, reducer, args,
 * mutations: [{op, module, table, row, oldRow}], moduleRecord} of one log
 * record (an encoded Transaction). lsn and timestamp are numbers; row values
 * as decodeRow.
 */
function decodeRecord(payload) {
  const t = transaction(payload);
  const mutations = [];
  for (let i = 0; i < t.mutationsLength(); i++) {
    const m = t.mutations(i);
    mutations.push({ op: Op[m.op()] ?? m.op(), module: m.module() ?? '', table: m.tableName() ?? '', row: optRow(m.rowArray()), oldRow: optRow(m.oldRowArray()) });
  }
  const mr = t.moduleRecord();
  return {
    lsn: Number(t.lsn()),
    timestamp: Number(t.timestamp()),
    kind: TxKind[t.kind()] ?? t.kind(),
    module: t.module() ?? '',
    reducer: t.reducer() ?? '',
    args: optRow(t.argsArray()),
    mutations,
    moduleRecord: mr && {
      name: mr.name() ?? '',
      version: mr.version() ?? '',
      schema: Buffer.from(mr.schemaArray() ?? []),
      wasmSha256: Buffer.from(mr.wasmSha256Array() ?? []).toString('hex'),
    },
  };
}

// ---- canonical JSON ----

const HEX = '0123456789abcdef';

/** goString appends the JSON of UTF-8 bytes as Go's json.Marshal writes it. */
function goString(bytes) {
  if (bytes === null) return '""';
  let out = '"';
  let i = 0;
  const n = bytes.length;
  let start = 0; // start of a run of bytes copied verbatim
  const flush = (end) => {
    if (end > start) out += decoder.decode(bytes.subarray(start, end));
  };
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      // Go's htmlSafeSet: printable ASCII except " \ < > &
      if (b >= 0x20 && b !== 0x22 && b !== 0x5c && b !== 0x3c && b !== 0x3e && b !== 0x26) {
        i++;
        continue;
      }
      flush(i);
      switch (b) {
        case 0x22: out += '\\"'; break;
        case 0x5c: out += '\\\\'; break;
        case 0x08: out += '\\b'; break;
        case 0x0c: out += '\\f'; break;
        case 0x0a: out += '\\n'; break;
        case 0x0d: out += '\\r'; break;
        case 0x09: out += '\\t'; break;
        default: out += '\\u00' + HEX[b >> 4] + HEX[b & 0xf];
      }
      i++;
      start = i;
      continue;
    }
    const [rune, size] = decodeRune(bytes, i);
    if (rune === -1) {
      flush(i);
      out += '\\ufffd';
      i += 1;
      start = i;
      continue;
    }
    if (rune === 0x2028 || rune === 0x2029) {
      flush(i);
      out += rune === 0x2028 ? '\\u2028' : '\\u2029';
      i += size;
      start = i;
      continue;
    }
    i += size;
  }
  flush(n);
  return out + '"';
}

/** decodeRune is Go's utf8.DecodeRune: [rune, size], rune -1 for an invalid sequence. */
function decodeRune(p, i) {
  const n = p.length - i;
  const b0 = p[i];
  const cont = (k, lo = 0x80, hi = 0xbf) => k < n && p[i + k] >= lo && p[i + k] <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    return cont(1) ? [((b0 & 0x1f) << 6) | (p[i + 1] & 0x3f), 2] : [-1, 1];
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? [((b0 & 0x0f) << 12) | ((p[i + 1] & 0x3f) << 6) | (p[i + 2] & 0x3f), 3] : [-1, 1];
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3)
      ? [((b0 & 0x07) << 18) | ((p[i + 1] & 0x3f) << 12) | ((p[i + 2] & 0x3f) << 6) | (p[i + 3] & 0x3f), 4]
      : [-1, 1];
  }
  return [-1, 1];
}

/** shortest returns [digits, exponent] with f = 0.d1d2... no: d1.d2d3... x 10^exponent, shortest round trip. */
function shortest(f, bits) {
  let s;
  if (bits === 32) {
    for (let p = 1; p <= 9; p++) {
      s = f.toExponential(p - 1);
      if (Math.fround(Number(s)) === f) break;
    }
  } else {
    s = f.toExponential();
  }
  const e = s.indexOf('e');
  return [s.slice(0, e).replace('.', ''), Number(s.slice(e + 1))];
}

/** goFloat formats like Go's strconv.AppendFloat(f, 'g', -1, bits), NaN/Inf as row.AppendJSON does. */
function goFloat(f, bits) {
  if (Number.isNaN(f)) return '"NaN"';
  if (f === Infinity) return '"Infinity"';
  if (f === -Infinity) return '"-Infinity"';
  if (bits === 32) f = Math.fround(f);
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const neg = f < 0;
  const [digits, exp] = shortest(Math.abs(f), bits);
  let out;
  if (exp < -4 || exp >= 6) {
    // %e: d[.ddd]e±XX (at least two exponent digits)
    out = digits[0] + (digits.length > 1 ? '.' + digits.slice(1) : '') + 'e' + (exp < 0 ? '-' : '+');
    const a = Math.abs(exp);
    out += a < 10 ? '0' + a : String(a);
  } else if (exp < 0) {
    out = '0.' + '0'.repeat(-exp - 1) + digits;
  } else if (digits.length > exp + 1) {
    out = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
  } else {
    out = digits + '0'.repeat(exp + 1 - digits.length);
  }
  return neg ? '-' + out : out;
}

function valueJSON(val) {
  switch (val.type()) {
    case ValueType.Null: return 'null';
    case ValueType.Bool: return val.b() ? 'true' : 'false';
    case ValueType.U32: return String(BigInt.asUintN(32, val.u()));
    case ValueType.U64: return val.u().toString();
    case ValueType.I32: return String(BigInt.asIntN(32, val.i()));
    case ValueType.I64: return val.i().toString();
    case ValueType.F32: return goFloat(val.f(), 32);
    case ValueType.F64: return goFloat(val.f(), 64);
    case ValueType.String: return goString(val.s(UTF8));
    case ValueType.Bytes: { const a = val.bytesArray(); return '"' + Buffer.from(a ? a.buffer : [], a ? a.byteOffset : 0, a ? a.byteLength : 0).toString('base64') + '"'; }
    case ValueType.List: {
      const parts = [];
      for (let i = 0; i < val.listLength(); i++) parts.push(valueJSON(val.list(i)));
      return '[' + parts.join(',') + ']';
    }
    default: return 'null';
  }
}

function rowJSON(a) {
  if (a === null) return 'null';
  const r = row(a);
  const parts = [];
  for (let i = 0; i < r.valuesLength(); i++) parts.push(valueJSON(r.values(i)));
  return '[' + parts.join(',') + ']';
}

function enumJSON(names, k) {
  return goString(Buffer.from(names[k] ?? String(k)));
}

/** recordToJSON(payload) -> the canonical JSON text of one record (see the top of this file). */
function recordToJSON(payload) {
  const t = transaction(payload);
  let out = `{"lsn":${t.lsn()},"timestamp":${t.timestamp()},"kind":${enumJSON(TxKind, t.kind())}` +
    `,"module":${goString(t.module(UTF8))},"reducer":${goString(t.reducer(UTF8))},"args":${rowJSON(t.argsArray())},"mutations":[`;
  for (let i = 0; i < t.mutationsLength(); i++) {
    const m = t.mutations(i);
    if (i > 0) out += ',';
    out += `{"op":${enumJSON(Op, m.op())},"module":${goString(m.module(UTF8))},"table":${goString(m.tableName(UTF8))}` +
      `,"row":${rowJSON(m.rowArray())},"old_row":${rowJSON(m.oldRowArray())}}`;
  }
  out += ']';
  const mr = t.moduleRecord();
  if (mr) {
    const schema = mr.schemaArray();
    const sum = mr.wasmSha256Array();
    out += `,"module_record":{"name":${goString(mr.name(UTF8))},"version":${goString(mr.version(UTF8))}` +
      `,"schema":"${schema ? Buffer.from(schema.buffer, schema.byteOffset, schema.byteLength).toString('base64') : ''}"` +
      `,"wasm_sha256":"${sum ? Buffer.from(sum.buffer, sum.byteOffset, sum.byteLength).toString('hex') : ''}"}`;
  }
  return out + '}';
}

module.exports = { transaction, decodeRecord, decodeRow, recordToJSON, goFloat, goString };
