"""Values, rows and records: Python <-> JSON and FlatBuffers.

Rows and records are decoded with the FlatBuffers classes generated from
``fbs/`` (``interstice.fb``) through the official ``flatbuffers`` runtime;
rows are encoded with the official ``flatbuffers.Builder``. There is no
hand-written FlatBuffers reader or writer here.

Python values map onto Interstice value types as follows:

===================  ==========================================
Interstice type      Python
===================  ==========================================
bool                 bool
u32, u64, i32, i64   int
f32, f64             float (f32 values are exact binary32 values)
string               str
bytes                bytes
list<T>              list
T? (optional)        None for null
===================  ==========================================

In JSON arguments (``Database.call``) bytes travel as standard base64 and
non-finite floats as the strings "NaN", "Infinity" and "-Infinity", as the
C ABI's JSON form says (docs/ABI.md).
"""

from __future__ import annotations

import base64
import json
import math
import struct
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import flatbuffers
from flatbuffers.number_types import UOffsetTFlags

from .fb import Mutation as _fbMutation
from .fb import Row as _fbRow
from .fb import Transaction as _fbTransaction
from .fb import Value as _fbValue
from .fb.Op import Op as _Op
from .fb.TxKind import TxKind as _TxKind
from .fb.ValueType import ValueType as _VT

__all__ = [
    "ValueTypeSpec",
    "parse_type",
    "encode_row",
    "decode_row",
    "encode_transaction",
    "Record",
    "RecordMutation",
    "ModuleRecordInfo",
    "encode_json_args",
]

_KIND_BY_NAME = {
    "bool": _VT.Bool,
    "u32": _VT.U32,
    "u64": _VT.U64,
    "i32": _VT.I32,
    "i64": _VT.I64,
    "f32": _VT.F32,
    "f64": _VT.F64,
    "string": _VT.String,
    "bytes": _VT.Bytes,
}
_TXKIND_NAMES = {v: k for k, v in vars(_TxKind).items() if not k.startswith("_") and isinstance(v, int)}
_TXKIND_BY_NAME = {v: k for k, v in _TXKIND_NAMES.items()}
_OP_NAMES = {v: k for k, v in vars(_Op).items() if not k.startswith("_") and isinstance(v, int)}
_OP_BY_NAME = {v: k for k, v in _OP_NAMES.items()}

_INT_RANGE = {
    _VT.U32: (0, (1 << 32) - 1),
    _VT.U64: (0, (1 << 64) - 1),
    _VT.I32: (-(1 << 31), (1 << 31) - 1),
    _VT.I64: (-(1 << 63), (1 << 63) - 1),
}
_F32_MAX = 3.4028234663852886e38


@dataclass(frozen=True)
class ValueTypeSpec:
    """ValueTypeSpec is a parsed Interstice type, e.g. ``list<string?>?``.

    Attributes:
        kind:     the interstice.fb.ValueType tag (Bool .. List).
        optional: True for ``T?`` (None allowed).
        elem:     the element type of a list, else None.
    """

    kind: int
    optional: bool = False
    elem: Optional["ValueTypeSpec"] = None

    def __str__(self) -> str:
        if self.kind == _VT.List:
            s = f"list<{self.elem}>"
        else:
            s = next(k for k, v in _KIND_BY_NAME.items() if v == self.kind)
        return s + "?" if self.optional else s


def parse_type(text: str) -> ValueTypeSpec:
    """Returns the ValueTypeSpec of a type in the schema's notation ("u64", "list<i32>", "string?").

    Raises ValueError for an unknown type.
    """
    if not isinstance(text, str):
        raise TypeError(f"type must be a str, not {type(text).__name__}")
    s = text.strip()
    optional = s.endswith("?")
    if optional:
        s = s[:-1]
    if s.startswith("list<") and s.endswith(">"):
        return ValueTypeSpec(_VT.List, optional, parse_type(s[5:-1]))
    kind = _KIND_BY_NAME.get(s)
    if kind is None:
        raise ValueError(f"unknown Interstice type {text!r}")
    return ValueTypeSpec(kind, optional)


# ---------------------------------------------------------------------------
# Encoding rows (official flatbuffers.Builder + generated functions)


def _check(value: Any, t: ValueTypeSpec, where: str) -> None:
    """Raises TypeError/ValueError if value cannot be encoded as t."""
    if value is None:
        if not t.optional:
            raise ValueError(f"{where}: None for non-optional type {t}")
        return
    k = t.kind
    if k == _VT.Bool:
        if not isinstance(value, bool):
            raise TypeError(f"{where}: {type(value).__name__} for bool")
    elif k in _INT_RANGE:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{where}: {type(value).__name__} for {t}")
        lo, hi = _INT_RANGE[k]
        if not lo <= value <= hi:
            raise ValueError(f"{where}: {value} out of range for {t}")
    elif k in (_VT.F32, _VT.F64):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"{where}: {type(value).__name__} for {t}")
        if k == _VT.F32 and math.isfinite(value) and abs(value) > _F32_MAX:
            raise ValueError(f"{where}: {value} out of range for f32")
    elif k == _VT.String:
        if not isinstance(value, str):
            raise TypeError(f"{where}: {type(value).__name__} for string")
    elif k == _VT.Bytes:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"{where}: {type(value).__name__} for bytes")
    elif k == _VT.List:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{where}: {type(value).__name__} for {t}")
        assert t.elem is not None
        for i, e in enumerate(value):
            _check(e, t.elem, f"{where}[{i}]")


def _build_value(b: flatbuffers.Builder, value: Any, t: ValueTypeSpec) -> int:
    if value is None:
        _fbValue.Start(b)
        return _fbValue.End(b)
    k = t.kind
    s = by = lst = None
    if k == _VT.String:
        s = b.CreateString(value)
    elif k == _VT.Bytes:
        by = b.CreateByteVector(bytes(value))
    elif k == _VT.List:
        assert t.elem is not None
        offs = [_build_value(b, e, t.elem) for e in value]
        _fbValue.StartListVector(b, len(offs))
        for o in reversed(offs):
            b.PrependUOffsetTRelative(o)
        lst = b.EndVector()
    _fbValue.Start(b)
    _fbValue.AddType(b, k)
    if k == _VT.Bool:
        _fbValue.AddB(b, value)
    elif k in (_VT.U32, _VT.U64):
        _fbValue.AddU(b, value)
    elif k in (_VT.I32, _VT.I64):
        _fbValue.AddI(b, value)
    elif k == _VT.F32:
        _fbValue.AddF(b, struct.unpack("<f", struct.pack("<f", float(value)))[0])
    elif k == _VT.F64:
        _fbValue.AddF(b, float(value))
    elif s is not None:
        _fbValue.AddS(b, s)
    elif by is not None:
        _fbValue.AddBytes(b, by)
    elif lst is not None:
        _fbValue.AddList(b, lst)
    return _fbValue.End(b)


def encode_row(values: Sequence[Any], types: Sequence[Any]) -> bytes:
    """Returns the encoded Row FlatBuffer (fbs/value.fbs) holding values typed by types.

    values: one Python value per type. types: type names ("u64", "list<i32>",
    "string?") or ValueTypeSpec objects. The result is what
    ``Database.call_bytes`` takes as arguments and what ``Log.append``
    records carry as rows. Raises TypeError/ValueError for values that do not
    fit their types.
    """
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"values must be a list or tuple, not {type(values).__name__}")
    specs = [t if isinstance(t, ValueTypeSpec) else parse_type(t) for t in types]
    if len(specs) != len(values):
        raise ValueError(f"{len(values)} values for {len(specs)} types")
    for i, (v, t) in enumerate(zip(values, specs)):
        _check(v, t, f"value {i}")
    b = flatbuffers.Builder(64)
    offs = [_build_value(b, v, t) for v, t in zip(values, specs)]
    _fbRow.StartValuesVector(b, len(offs))
    for o in reversed(offs):
        b.PrependUOffsetTRelative(o)
    vec = b.EndVector()
    _fbRow.Start(b)
    _fbRow.AddValues(b, vec)
    b.Finish(_fbRow.End(b))
    return bytes(b.Output())


# ---------------------------------------------------------------------------
# Decoding rows (generated classes)


def _vector_bytes(tab: flatbuffers.table.Table, field: int) -> Optional[bytes]:
    """Returns the bytes of a [ubyte] field (vtable offset field), or None if absent."""
    o = UOffsetTFlags.py_type(tab.Offset(field))
    if o == 0:
        return None
    start = tab.Vector(o)
    return bytes(tab.Bytes[start : start + tab.VectorLen(o)])


def _decode_value(v: _fbValue.Value) -> Any:
    t = v.Type()
    if t == _VT.String:
        s = v.S()
        return s.decode("utf-8", "surrogateescape") if s is not None else ""
    if t == _VT.I64 or t == _VT.I32:
        return v.I()
    if t == _VT.U64 or t == _VT.U32:
        return v.U()
    if t == _VT.F64 or t == _VT.F32:
        return v.F()
    if t == _VT.Bool:
        return v.B()
    if t == _VT.Bytes:
        b = _vector_bytes(v._tab, 16)
        return b if b is not None else b""
    if t == _VT.List:
        return [_decode_value(v.List(j)) for j in range(v.ListLength())]
    return None


def decode_row(buf: bytes) -> List[Any]:
    """Returns the values of an encoded Row FlatBuffer as Python values, in column order."""
    r = _fbRow.Row.GetRootAs(buf, 0)
    return [_decode_value(r.Values(j)) for j in range(r.ValuesLength())]


def _decode_nested_row(tab: flatbuffers.table.Table, field: int) -> Tuple[Optional[bytes], Optional[List[Any]]]:
    raw = _vector_bytes(tab, field)
    if raw is None:
        return None, None
    return raw, decode_row(raw)


# ---------------------------------------------------------------------------
# Canonical JSON (the form of interstice_record_to_json and tests/vectors)

_ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
        "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_string(s: str) -> str:
    """Returns s as Go's encoding/json writes it (HTML-safe escapes; bad UTF-8 bytes as \\ufffd).

    s comes from a surrogateescape decode: each lone surrogate U+DC80..U+DCFF
    stands for one byte that was not valid UTF-8.
    """
    out = ['"']
    for ch in s:
        e = _ESC.get(ch)
        if e is not None:
            out.append(e)
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        elif "\ud800" <= ch <= "\udfff":
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _digits(x: float, bits: int) -> Tuple[str, int]:
    """Returns the shortest decimal digits d1d2...dn and point position dp with x = 0.d1..dn * 10**dp.

    For binary32 values the shortest string that reads back as the same
    binary32 number, choosing the nearest among equally short ones, as Go's
    strconv does.
    """
    if bits == 64:
        m, _, e = repr(x).partition("e")
        ip, _, fp = m.partition(".")
        digits = (ip + fp).lstrip("0")
        dp = len(ip) + (int(e) if e else 0) - (len(ip + fp) - len((ip + fp).lstrip("0")))
        return digits.rstrip("0"), dp
    target = struct.unpack("<f", struct.pack("<f", x))[0]
    exact = Decimal(target)
    for p in range(1, 10):
        base = Decimal("%.*e" % (p - 1, target))
        sign, dig, exp = base.as_tuple()
        unit = Decimal((0, (1,), exp))
        best = None
        for cand in (base, base - unit, base + unit):
            if cand <= 0:
                continue
            try:
                back = struct.unpack("<f", struct.pack("<f", float(cand)))[0]
            except OverflowError:  # beyond the largest binary32: not a candidate
                continue
            if back == target:
                if best is None or abs(cand - exact) < abs(best - exact):
                    best = cand
        if best is not None:
            _, dig, exp = best.normalize().as_tuple()
            ds = "".join(map(str, dig))
            return ds, len(ds) + exp
    raise AssertionError("unreachable: 9 digits always round-trip binary32")


def go_float(x: float, bits: int = 64) -> str:
    """Returns x formatted as Go's strconv.FormatFloat(x, 'g', -1, bits); non-finite as JSON strings."""
    if math.isnan(x):
        return '"NaN"'
    if math.isinf(x):
        return '"Infinity"' if x > 0 else '"-Infinity"'
    neg = math.copysign(1.0, x) < 0
    sign = "-" if neg else ""
    if x == 0:
        return sign + "0"
    digits, dp = _digits(abs(x), bits)
    exp = dp - 1
    if exp < -4 or exp >= 6:  # strconv's 'g' rule for the shortest precision
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        es = "-" if exp < 0 else "+"
        return "%s%se%s%02d" % (sign, mant, es, abs(exp))
    if dp <= 0:
        return sign + "0." + "0" * (-dp) + digits
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return sign + digits[:dp] + "." + digits[dp:]


def _value_json(v: _fbValue.Value) -> str:
    t = v.Type()
    if t == _VT.Null:
        return "null"
    if t == _VT.Bool:
        return "true" if v.B() else "false"
    if t in (_VT.U32, _VT.U64):
        return str(v.U())
    if t in (_VT.I32, _VT.I64):
        return str(v.I())
    if t == _VT.F32:
        return go_float(v.F(), 32)
    if t == _VT.F64:
        return go_float(v.F(), 64)
    if t == _VT.String:
        s = v.S()
        return _json_string(s.decode("utf-8", "surrogateescape") if s is not None else "")
    if t == _VT.Bytes:
        b = _vector_bytes(v._tab, 16) or b""
        return '"' + base64.b64encode(b).decode() + '"'
    if t == _VT.List:
        return "[" + ",".join(_value_json(v.List(j)) for j in range(v.ListLength())) + "]"
    return "null"


def _row_json(raw: Optional[bytes]) -> str:
    if raw is None:
        return "null"
    r = _fbRow.Row.GetRootAs(raw, 0)
    return "[" + ",".join(_value_json(r.Values(j)) for j in range(r.ValuesLength())) + "]"


# ---------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class RecordMutation:
    """RecordMutation is one row change of a logged transaction.

    Attributes:
        op:      "Insert", "Update" or "Delete".
        module, table: whose table changed.
        row:     the new row's values (Insert, Update), else None.
        old_row: the old row's values (Update, Delete), else None.
        row_bytes, old_row_bytes: the encoded Rows, as logged.
    """

    op: str
    module: str
    table: str
    row: Optional[List[Any]]
    old_row: Optional[List[Any]]
    row_bytes: Optional[bytes]
    old_row_bytes: Optional[bytes]


@dataclass(frozen=True)
class ModuleRecordInfo:
    """ModuleRecordInfo is the module of a ModuleLoad record: name, version, schema bytes, wasm SHA-256."""

    name: str
    version: str
    schema: bytes
    wasm_sha256: bytes


def _str(b: Optional[bytes]) -> str:
    return b.decode("utf-8", "surrogateescape") if b else ""


@dataclass(frozen=True)
class Record:
    """Record is one transaction of the log, decoded with the generated interstice.fb classes.

    Attributes:
        lsn, timestamp: its log sequence number and time (ns since the Unix epoch).
        kind:      "Reducer", "ModuleLoad", "Migration" or "External".
        module, reducer: what ran ("" when not applicable).
        args:      the reducer's arguments (None when absent).
        mutations: the row changes, in order.
        module_record: set for ModuleLoad records.
        payload:   the encoded Transaction, as logged.
    """

    lsn: int
    timestamp: int
    kind: str
    module: str
    reducer: str
    args: Optional[List[Any]]
    mutations: Tuple[RecordMutation, ...]
    module_record: Optional[ModuleRecordInfo]
    payload: bytes

    @classmethod
    def from_payload(cls, payload: bytes) -> "Record":
        """Decodes an encoded Transaction FlatBuffer."""
        t = _fbTransaction.Transaction.GetRootAs(payload, 0)
        _, args = _decode_nested_row(t._tab, 14)
        muts = []
        for i in range(t.MutationsLength()):
            m = t.Mutations(i)
            rb, row = _decode_nested_row(m._tab, 10)
            ob, old = _decode_nested_row(m._tab, 12)
            muts.append(RecordMutation(_OP_NAMES.get(m.Op(), str(m.Op())), _str(m.Module()), _str(m.TableName()),
                                       row, old, rb, ob))
        mr = t.ModuleRecord()
        info = None
        if mr is not None:
            info = ModuleRecordInfo(_str(mr.Name()), _str(mr.Version()), _vector_bytes(mr._tab, 8) or b"",
                                    _vector_bytes(mr._tab, 10) or b"")
        return cls(t.Lsn(), t.Timestamp(), _TXKIND_NAMES.get(t.Kind(), str(t.Kind())), _str(t.Module()),
                   _str(t.Reducer()), args, tuple(muts), info, bytes(payload))

    @property
    def transaction(self) -> _fbTransaction.Transaction:
        """The generated interstice.fb.Transaction over this record's payload."""
        return _fbTransaction.Transaction.GetRootAs(self.payload, 0)

    def to_json(self) -> str:
        """Returns the canonical JSON of the record: the bytes interstice_record_to_json and tests/vectors hold."""
        t = self.transaction
        parts = [
            '{"lsn":', str(t.Lsn()), ',"timestamp":', str(t.Timestamp()),
            ',"kind":', _json_string(_TXKIND_NAMES.get(t.Kind(), str(t.Kind()))),
            ',"module":', _json_string(_str(t.Module())), ',"reducer":', _json_string(_str(t.Reducer())),
            ',"args":', _row_json(_vector_bytes(t._tab, 14)), ',"mutations":[',
        ]
        for i in range(t.MutationsLength()):
            m = t.Mutations(i)
            if i:
                parts.append(",")
            parts += ['{"op":', _json_string(_OP_NAMES.get(m.Op(), str(m.Op()))),
                      ',"module":', _json_string(_str(m.Module())), ',"table":', _json_string(_str(m.TableName())),
                      ',"row":', _row_json(_vector_bytes(m._tab, 10)),
                      ',"old_row":', _row_json(_vector_bytes(m._tab, 12)), "}"]
        parts.append("]")
        mr = t.ModuleRecord()
        if mr is not None:
            parts += [',"module_record":{"name":', _json_string(_str(mr.Name())),
                      ',"version":', _json_string(_str(mr.Version())),
                      ',"schema":"', base64.b64encode(_vector_bytes(mr._tab, 8) or b"").decode(),
                      '","wasm_sha256":"', (_vector_bytes(mr._tab, 10) or b"").hex(), '"}']
        parts.append("}")
        return "".join(parts)


def encode_transaction(
    *,
    kind: str = "External",
    module: str = "",
    reducer: str = "",
    timestamp: int = 0,
    args: Optional[bytes] = None,
    mutations: Iterable[Tuple[str, str, str, Optional[bytes], Optional[bytes]]] = (),
    lsn: int = 0,
) -> bytes:
    """Returns an encoded Transaction FlatBuffer (fbs/transaction.fbs) for ``Log.append``.

    kind: "Reducer", "ModuleLoad", "Migration" or "External". args: an
    encoded Row (see encode_row) or None. mutations: tuples
    (op, module, table, row_bytes, old_row_bytes) with op "Insert", "Update"
    or "Delete" and rows from encode_row (None when absent). lsn is
    overwritten by the log with the LSN it assigns; the field is always
    written so that the log can do so.
    """
    if kind not in _TXKIND_BY_NAME:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(_TXKIND_BY_NAME)}")
    for name, val in (("module", module), ("reducer", reducer)):
        if not isinstance(val, str):
            raise TypeError(f"{name} must be a str, not {type(val).__name__}")
    muts = list(mutations)
    b = flatbuffers.Builder(256)
    moffs = []
    for i, mu in enumerate(muts):
        if len(mu) != 5:
            raise ValueError(f"mutations[{i}] must be (op, module, table, row, old_row)")
        op, mmod, mtab, row, old = mu
        if op not in _OP_BY_NAME:
            raise ValueError(f"mutations[{i}]: op {op!r} is not one of Insert, Update, Delete")
        ms, ts = b.CreateString(mmod), b.CreateString(mtab)
        ro = b.CreateByteVector(bytes(row)) if row is not None else None
        oo = b.CreateByteVector(bytes(old)) if old is not None else None
        _fbMutation.Start(b)
        _fbMutation.AddOp(b, _OP_BY_NAME[op])
        _fbMutation.AddModule(b, ms)
        _fbMutation.AddTableName(b, ts)
        if ro is not None:
            _fbMutation.AddRow(b, ro)
        if oo is not None:
            _fbMutation.AddOldRow(b, oo)
        moffs.append(_fbMutation.End(b))
    mod, red = b.CreateString(module), b.CreateString(reducer)
    ao = b.CreateByteVector(bytes(args)) if args is not None else None
    _fbTransaction.StartMutationsVector(b, len(moffs))
    for o in reversed(moffs):
        b.PrependUOffsetTRelative(o)
    mv = b.EndVector()
    _fbTransaction.Start(b)
    b.PrependUint64Slot(0, lsn, 1 if lsn == 0 else 0)  # force the lsn field to be present
    _fbTransaction.AddTimestamp(b, timestamp)
    _fbTransaction.AddKind(b, _TXKIND_BY_NAME[kind])
    _fbTransaction.AddModule(b, mod)
    _fbTransaction.AddReducer(b, red)
    if ao is not None:
        _fbTransaction.AddArgs(b, ao)
    _fbTransaction.AddMutations(b, mv)
    b.Finish(_fbTransaction.End(b))
    return bytes(b.Output())


# ---------------------------------------------------------------------------
# JSON arguments


def _to_json_value(v: Any) -> Any:
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, (list, tuple)):
        return [_to_json_value(e) for e in v]
    if v is None or isinstance(v, (bool, int, str)):
        return v
    raise TypeError(f"cannot pass a {type(v).__name__} to a reducer (use bool, int, float, str, bytes, list or None)")


def _default(o: Any) -> Any:
    if isinstance(o, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(o)).decode("ascii")
    raise TypeError(f"cannot pass a {type(o).__name__} to a reducer (use bool, int, float, str, bytes, list or None)")


_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default).encode


def encode_json_args(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> bytes:
    """Returns reducer arguments as the C ABI's JSON: an array (positional) or an object (by name)."""
    if kwargs:
        if args:
            raise TypeError("pass reducer arguments either by position or by name, not both")
        obj: Any = kwargs
    else:
        obj = args
    try:
        text = _dumps(obj)
    except ValueError:  # a NaN or infinity: the slow path spells them as strings
        text = _dumps(_to_json_value(obj) if not kwargs else {k: _to_json_value(v) for k, v in obj.items()})
    return text.encode("utf-8", "surrogatepass")
