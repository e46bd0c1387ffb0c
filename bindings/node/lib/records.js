'use strict';
// records.js — log records decoded with the official flatbuffers runtime and
// the classes flatc generated from fbs/ (lib/fb, compiled from src/fb).
//
// decodeRecord() gives a plain JS object; recordToJSON() gives the canonical
// JSON text of a record, byte for byte what the C library's
// interstice_record_to_json and `interstice log dump --json` print
// (internal/record's AppendJSON, row.AppendJSON: Go's strconv 'g' floats, Go's
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

// ---- encoding ----

const { Value } = require('./fb/interstice/fb/value');
const TYPE_TAGS = { bool: ValueType.Bool, u32: ValueType.U32, u64: ValueType.U64, i32: ValueType.I32, i64: ValueType.I64,
  f32: ValueType.F32, f64: ValueType.F64, string: ValueType.String, bytes: ValueType.Bytes };

/** parseType reads a type as describe() prints it: 'u64', 'string?', 'list<list<i32>>'. */
function parseType(t, fn) {
  if (typeof t !== 'string') throw new TypeError(`${fn}: a type must be a string such as 'i64' or 'list<string?>', got ${typeof t}`);
  let optional = false;
  let s = t.trim();
  if (s.endsWith('?')) {
    optional = true;
    s = s.slice(0, -1);
  }
  if (s.startsWith('list<') && s.endsWith('>')) return { tag: ValueType.List, optional, elem: parseType(s.slice(5, -1), fn) };
  if (!(s in TYPE_TAGS)) throw new TypeError(`${fn}: unknown type ${JSON.stringify(t)} (bool, u32, u64, i32, i64, f32, f64, string, bytes, list<T>, T?)`);
  return { tag: TYPE_TAGS[s], optional };
}

function int(fn, where, x, bits, signed) {
  if (typeof x === 'number' && Number.isInteger(x)) x = BigInt(x);
  if (typeof x !== 'bigint') throw new TypeError(`${fn}: ${where} must be an integer (number or bigint), got ${typeof x}`);
  const lo = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const hi = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  if (x < lo || x > hi) throw new RangeError(`${fn}: ${where} = ${x} is out of range for ${signed ? 'i' : 'u'}${bits}`);
  return x;
}

function buildValue(b, x, t, fn, where) {
  if (x === null || x === undefined) {
    if (!t.optional) throw new TypeError(`${fn}: ${where} is null but its type is not optional`);
    Value.startValue(b);
    Value.addType(b, ValueType.Null);
    return Value.endValue(b);
  }
  let s = 0;
  let bytes = 0;
  let list = 0;
  if (t.tag === ValueType.String) {
    if (typeof x !== 'string') throw new TypeError(`${fn}: ${where} must be a string, got ${typeof x}`);
    s = b.createString(x);
  } else if (t.tag === ValueType.Bytes) {
    if (!ArrayBuffer.isView(x)) throw new TypeError(`${fn}: ${where} must be a Buffer or a Uint8Array`);
    bytes = Value.createBytesVector(b, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  } else if (t.tag === ValueType.List) {
    if (!Array.isArray(x)) throw new TypeError(`${fn}: ${where} must be an array`);
    list = Value.createListVector(b, x.map((e, i) => buildValue(b, e, t.elem, fn, `${where}[${i}]`)));
  }
  Value.startValue(b);
  Value.addType(b, t.tag);
  switch (t.tag) {
    case ValueType.Bool:
      if (typeof x !== 'boolean') throw new TypeError(`${fn}: ${where} must be a boolean, got ${typeof x}`);
      Value.addB(b, x);
      break;
    case ValueType.U32: Value.addU(b, int(fn, where, x, 32, false)); break;
    case ValueType.U64: Value.addU(b, int(fn, where, x, 64, false)); break;
    case ValueType.I32: Value.addI(b, int(fn, where, x, 32, true)); break;
    case ValueType.I64: Value.addI(b, int(fn, where, x, 64, true)); break;
    case ValueType.F32:
    case ValueType.F64:
      if (typeof x !== 'number') throw new TypeError(`${fn}: ${where} must be a number, got ${typeof x}`);
      Value.addF(b, t.tag === ValueType.F32 ? Math.fround(x) : x);
      break;
    case ValueType.String: Value.addS(b, s); break;
    case ValueType.Bytes: Value.addBytes(b, bytes); break;
    case ValueType.List: Value.addList(b, list); break;
    default: break;
  }
  return Value.endValue(b);
}

/**
 * encodeRow(values, types) -> Buffer: an encoded Row (fbs/value.fbs), the
 * FlatBuffers form of call arguments and keys. types are the type strings
 * describe() prints for the reducer's params, e.g. ['string', 'i64'].
 */
function encodeRow(values, types) {
  const fn = 'interstice.encodeRow';
  if (!Array.isArray(values)) throw new TypeError(`${fn}: values must be an array, got ${typeof values}`);
  if (!Array.isArray(types) || types.length !== values.length) {
    throw new TypeError(`${fn}: types must be an array of ${values.length} type strings (one per value)`);
  }
  const ts = types.map((t) => parseType(t, fn));
  const b = new flatbuffers.Builder(64);
  const offs = values.map((x, i) => buildValue(b, x, ts[i], fn, `values[${i}]`));
  const vec = Row.createValuesVector(b, offs);
  b.finish(Row.createRow(b, vec));
  return Buffer.from(b.asUint8Array());
}

module.exports = { transaction, decodeRecord, decodeRow, recordToJSON, encodeRow, goFloat, goString };
