"""The standalone transaction log: Log, validate, inspect, repair."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

from . import _handles
from ._ffi import ffi, lib
from ._values import Record
from .database import RECOVERY_MODES, SYNC_POLICIES, _enum, _path, _take_string, _uint
from .errors import IntersticeError, from_status

__all__ = ["Log", "ValidationReport", "Damage", "validate", "inspect", "repair", "record_to_json"]

_NULL = ffi.NULL
PathLike = Union[str, "os.PathLike[str]"]

# Records fetched per interstice_log_replay call while iterating (the C
# replay is callback-driven; it is resumed from the next LSN for each batch,
# so the iterator never holds more than one batch).
_REPLAY_BATCH = 1024
_REPLAY_BATCH_BYTES = 8 << 20


def _log_options(sync: str, sync_interval_ms: int, recovery: str, segment_size: int,
                 retain_segments: int) -> Any:
    o = ffi.new("interstice_log_options *")
    lib.interstice_log_options_init(o)
    o.sync = _enum("sync", sync, SYNC_POLICIES)
    o.sync_interval_ms = _uint("sync_interval_ms", sync_interval_ms, 1, (1 << 32) - 1)
    o.recovery = _enum("recovery", recovery, RECOVERY_MODES)
    o.segment_size = _uint("segment_size", segment_size, 1 << 10, 1 << 30)
    o.retain_segments = _uint("retain_segments", retain_segments, 0, (1 << 32) - 1)
    return o


@dataclass(frozen=True)
class Damage:
    """Damage locates a torn record or a corruption: segment file name, byte offset, LSN, reason."""

    segment: str
    offset: int
    lsn: int
    reason: str


@dataclass(frozen=True)
class ValidationReport:
    """ValidationReport is what :func:`validate` found in a log directory.

    Attributes:
        records:     valid records.
        bytes:       total size of the segment files.
        valid_bytes: headers plus valid frames.
        first_lsn, last_lsn: the first and last valid record (0 if none).
        segments:    number of segment files.
        torn_tail:   True if the last record is torn (``torn`` says where).
        torn:        the torn record, or None.
        problem:     the first corruption found (nothing after it was read), or None.
        problem_code: 0, or the status of the problem (INTERSTICE_E_CORRUPT or _VERSION).
    """

    records: int
    bytes: int
    valid_bytes: int
    first_lsn: int
    last_lsn: int
    segments: int
    torn_tail: bool
    torn: Optional[Damage]
    problem: Optional[Damage]
    problem_code: int

    @property
    def ok(self) -> bool:
        """True when the log has neither a torn tail nor a corruption."""
        return not self.torn_tail and self.problem is None


def _cstr(p: Any) -> str:
    return ffi.string(p).decode("utf-8", "replace") if p != _NULL else ""


def validate(path: PathLike, *, segment_size: int = 64 << 20) -> ValidationReport:
    """Reads every segment of the log in directory path and checks every header, checksum and LSN link.

    It never writes. Damage is described in the report, not raised. Raises
    NotFoundError if there is no such directory.
    """
    _handles_check()
    o = _log_options("always", 100, "truncate_tail", segment_size, 0)
    out = ffi.new("interstice_log_report **")
    err = ffi.new("interstice_error **")
    rc = lib.interstice_log_validate(_path("path", path), o, out, err)
    if rc:
        raise from_status(rc, err, "validate")
    r = out[0]
    try:
        torn = Damage(_cstr(r.torn_segment), r.torn_offset, r.torn_lsn, _cstr(r.torn_reason)) if r.torn_tail else None
        problem = (Damage(_cstr(r.problem_segment), r.problem_offset, r.problem_lsn, _cstr(r.problem_reason))
                   if r.problem_code else None)
        return ValidationReport(r.records, r.bytes, r.valid_bytes, r.first_lsn, r.last_lsn, r.segments,
                                bool(r.torn_tail), torn, problem, r.problem_code)
    finally:
        lib.interstice_log_report_free(r)


def _json_call(fn: Callable[..., int], what: str, path: PathLike, segment_size: int) -> Dict[str, Any]:
    _handles_check()
    o = _log_options("always", 100, "truncate_tail", segment_size, 0)
    out = ffi.new("char **")
    n = ffi.new("size_t *")
    err = ffi.new("interstice_error **")
    rc = fn(_path("path", path), o, out, n, err)
    if rc:
        raise from_status(rc, err, what)
    return json.loads(_take_string(out, n))  # type: ignore[no-any-return]


def inspect(path: PathLike, *, segment_size: int = 64 << 20) -> Dict[str, Any]:
    """Validates the log in path and also counts records per kind and mutations per module, table and op.

    Returns a dict: segments (name, first_lsn, last_lsn, records, bytes,
    data_bytes each), records, bytes, valid_bytes, first_lsn, last_lsn,
    torn_tail, torn, problem, mutations, by_kind, by_module, by_table, by_op.
    """
    return _json_call(lib.interstice_log_inspect, "inspect", path, segment_size)


def repair(path: PathLike, *, segment_size: int = 64 << 20) -> Dict[str, Any]:
    """Repairs a damaged log in path, which must not be open (LockedError otherwise).

    Bytes are never discarded: a torn tail, or everything from a mid-log
    corruption on, is saved to ``*.broken`` files, then the log is truncated
    there. Returns a dict: action ("none", "truncated torn tail",
    "truncated at corruption"), problem, broken_files, moved_segments, last_lsn.
    """
    return _json_call(lib.interstice_log_repair, "repair", path, segment_size)


def record_to_json(payload: bytes) -> str:
    """Returns the library's canonical JSON of an encoded Transaction (interstice_record_to_json)."""
    _handles_check()
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(f"payload must be bytes, not {type(payload).__name__}")
    data = bytes(payload)
    out = ffi.new("char **")
    n = ffi.new("size_t *")
    err = ffi.new("interstice_error **")
    rc = lib.interstice_record_to_json(data, len(data), out, n, err)
    if rc:
        raise from_status(rc, err, "record_to_json")
    return _take_string(out, n).decode("utf-8")


def _handles_check() -> None:
    if _handles.in_forked_child():
        h = _handles.Handle()
        h._forked = True
        raise h._gone()


class _PathOrSelf:
    """A method usable as ``Log.validate(path)`` and as ``log.validate()`` (the log's own directory)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self._fn = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__

    def __get__(self, obj: Optional["Log"], cls: Any) -> Callable[..., Any]:
        fn = self._fn
        if obj is None:
            return fn
        return lambda **kw: fn(obj.path, **{"segment_size": obj._segment_size, **kw})


class Log(_handles.Handle):
    """Log is an open standalone transaction log: a directory of checksummed, LSN-chained segments.

    Each record's payload is an encoded Transaction FlatBuffer
    (``interstice.encode_transaction`` builds one). Under sync="always" an
    append returns only after its record is on disk; appenders on several
    threads share one write and one fdatasync. It is a context manager.

    Options (the fields of the C ``interstice_log_options``):
        sync:             "always" (default), "interval" or "none".
        sync_interval_ms: fdatasync period under "interval"; default 100.
        recovery:         "truncate_tail" (default), "strict" or "read_only".
        segment_size:     bytes before rotation; default 64 MiB; 1 KiB .. 1 GiB.
        retain_segments:  sealed segments kept at least; default 0 (never delete).

    Raises LockedError if another writable log has the directory open,
    CorruptLogError, TornTailError (strict), VersionError.
    """

    __slots__ = ("path", "_segment_size")
    _kind = "log"

    def __init__(
        self,
        path: PathLike,
        *,
        sync: str = "always",
        sync_interval_ms: int = 100,
        recovery: str = "truncate_tail",
        segment_size: int = 64 << 20,
        retain_segments: int = 0,
    ) -> None:
        super().__init__()
        _handles_check()
        p = _path("path", path)
        self.path: str = os.fsdecode(p)
        self._segment_size = segment_size
        o = _log_options(sync, sync_interval_ms, recovery, segment_size, retain_segments)
        out = ffi.new("interstice_log **")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_log_open(p, o, out, err)
        if rc:
            raise from_status(rc, err, "open log")
        self._register(out[0])

    def _lg(self) -> Any:
        h = self._h
        if h is None:
            raise self._gone()
        return h

    @property
    def closed(self) -> bool:
        """True once closed (or inherited through fork)."""
        return self._h is None

    def close(self) -> None:
        """Writes and fdatasyncs queued records and closes the log. Closing twice is harmless."""
        h = self._h
        if h is None:
            return
        self._h = None
        err = ffi.new("interstice_error **")
        rc = lib.interstice_log_close(h, err)
        if rc and rc != lib.INTERSTICE_E_CLOSED:
            raise from_status(rc, err, "close log")

    def __enter__(self) -> "Log":
        self._lg()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<interstice.Log {self.path!r} {'closed' if self._h is None else 'open'}>"

    def append(self, payload: Union[bytes, bytearray, memoryview]) -> int:
        """Appends one record (an encoded Transaction with an lsn field) and returns its LSN.

        On failure the record must be treated as not committed.
        """
        h = self._lg()
        if type(payload) is not bytes:
            if not isinstance(payload, (bytearray, memoryview)):
                raise TypeError(f"payload must be bytes (an encoded Transaction), not {type(payload).__name__}")
            payload = bytes(payload)
        if not payload:
            raise ValueError("payload is empty")
        lsn = ffi.new("uint64_t *")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_log_append(h, payload, len(payload), lsn, err)
        if rc:
            raise from_status(rc, err, "append")
        return int(lsn[0])

    def append_json(self, record: Union[str, bytes, Dict[str, Any]]) -> int:
        """Appends a record given in its JSON form (a dict, or JSON text) and returns its LSN.

        The form is the one :meth:`Record.to_json` prints; "lsn" is ignored
        and "kind" defaults to "External". Values are typed by inference
        (integers i64, or u64 above 2**63-1; fractions f64; strings; bools;
        null; lists): use :meth:`append` when exact types matter.
        """
        h = self._lg()
        if isinstance(record, dict):
            data = json.dumps(record, separators=(",", ":"), allow_nan=False).encode()
        elif isinstance(record, str):
            data = record.encode()
        elif isinstance(record, (bytes, bytearray)):
            data = bytes(record)
        else:
            raise TypeError(f"record must be a dict, str or bytes, not {type(record).__name__}")
        lsn = ffi.new("uint64_t *")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_log_append_json(h, data, len(data), lsn, err)
        if rc:
            raise from_status(rc, err, "append_json")
        return int(lsn[0])

    def append_batch(self, payloads: Sequence[Union[bytes, bytearray, memoryview]]) -> int:
        """Appends records as consecutive LSNs with one write and one fdatasync; returns the first LSN.

        Either all are acknowledged or the call raises, and after a crash
        the log holds all of them or none: no reader ever yields part of a
        batch (docs/FORMAT.md, "Batches"). An empty batch is a no-op that
        returns 0.
        """
        h = self._lg()
        items = [p if type(p) is bytes else bytes(p) for p in payloads]
        for i, p in enumerate(items):
            if not p:
                raise ValueError(f"payloads[{i}] is empty")
        count = len(items)
        bufs = [ffi.from_buffer(p) for p in items]
        ptrs = ffi.new("uint8_t *[]", [ffi.cast("uint8_t *", b) for b in bufs]) if count else _NULL
        lens = ffi.new("size_t[]", [len(p) for p in items]) if count else _NULL
        first = ffi.new("uint64_t *")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_log_append_batch(h, ptrs, lens, count, first, err)
        del bufs
        if rc:
            raise from_status(rc, err, "append_batch")
        return int(first[0])

    def sync(self) -> None:
        """Writes and fdatasyncs everything appended so far (for sync="interval" and "none")."""
        self._simple(lib.interstice_log_sync, "sync")

    def rotate(self) -> None:
        """Seals the active segment and starts a new one (then applies retention)."""
        self._simple(lib.interstice_log_rotate, "rotate")

    def _simple(self, fn: Callable[..., int], what: str) -> None:
        h = self._lg()
        err = ffi.new("interstice_error **")
        rc = fn(h, err)
        if rc:
            raise from_status(rc, err, what)

    def _u64(self, fn: Callable[..., int], what: str) -> int:
        h = self._lg()
        out = ffi.new("uint64_t *")
        err = ffi.new("interstice_error **")
        rc = fn(h, out, err)
        if rc:
            raise from_status(rc, err, what)
        return int(out[0])

    @property
    def first_lsn(self) -> int:
        """The LSN of the first record the log holds (0 if none)."""
        return self._u64(lib.interstice_log_first_lsn, "first_lsn")

    @property
    def last_lsn(self) -> int:
        """The LSN of the last acknowledged record (0 if none)."""
        return self._u64(lib.interstice_log_last_lsn, "last_lsn")

    @property
    def stats(self) -> Dict[str, int]:
        """Write counters since open: writes, fdatasyncs, records, gathers."""
        h = self._lg()
        out = ffi.new("char **")
        n = ffi.new("size_t *")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_log_stats(h, out, n, err)
        if rc:
            raise from_status(rc, err, "stats")
        return json.loads(_take_string(out, n))  # type: ignore[no-any-return]

    def replay(self, from_lsn: int = 0) -> Iterator[Record]:
        """Yields every acknowledged record with LSN >= from_lsn, in order, as :class:`Record` objects.

        Each record's checksum and LSN link are verified; records are decoded
        with the generated interstice.fb classes. Records appended after the
        replay started are not visited. A corruption raises CorruptLogError
        after the records before it were yielded.
        """
        _uint("from_lsn", from_lsn)
        self._lg()
        return self._replay(from_lsn, self.last_lsn)

    def replay_payloads(self, from_lsn: int = 0) -> Iterator["tuple[int, bytes]"]:
        """Like :meth:`replay`, but yields (lsn, payload bytes) without decoding."""
        _uint("from_lsn", from_lsn)
        self._lg()
        return self._replay_raw(from_lsn, self.last_lsn)

    def _replay(self, from_lsn: int, stop: int) -> Iterator[Record]:
        for _, payload in self._replay_raw(from_lsn, stop):
            yield Record.from_payload(payload)

    def _replay_raw(self, from_lsn: int, stop: int) -> Iterator["tuple[int, bytes]"]:
        nxt = from_lsn
        while True:
            h = self._lg()
            batch: List["tuple[int, bytes]"] = []
            size = [0]
            failure: List[BaseException] = []

            def on_record(user: Any, lsn: int, payload: Any, n: int) -> int:
                try:
                    if lsn > stop:
                        return 1
                    batch.append((lsn, ffi.buffer(payload, n)[:]))
                    size[0] += n
                    return 1 if len(batch) >= _REPLAY_BATCH or size[0] >= _REPLAY_BATCH_BYTES else 0
                except BaseException as e:  # noqa: B902
                    failure.append(e)
                    return 1

            cb = ffi.callback("interstice_replay_fn", on_record)
            err = ffi.new("interstice_error **")
            rc = lib.interstice_log_replay(h, nxt, cb, _NULL, err)
            error: Optional[IntersticeError] = from_status(rc, err, "replay") if rc else None
            if failure:
                raise failure[0]
            yield from batch
            if error is not None:
                raise error
            if not batch or batch[-1][0] >= stop or (len(batch) < _REPLAY_BATCH and size[0] < _REPLAY_BATCH_BYTES):
                return
            nxt = batch[-1][0] + 1

    validate = _PathOrSelf(validate)
    inspect = _PathOrSelf(inspect)
    repair = _PathOrSelf(repair)

