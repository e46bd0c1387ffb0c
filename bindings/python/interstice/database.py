"""The runtime: Database, Table, Subscription and the results of calls."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from . import _handles
from ._ffi import CONSTANTS, ffi, lib
from ._values import ValueTypeSpec, decode_row, encode_json_args, encode_row, parse_type
from .errors import BusyError, IntersticeError, NotFoundError, from_status

__all__ = [
    "Database",
    "Table",
    "Subscription",
    "Event",
    "CallResult",
    "CascadeRun",
    "ModuleInfo",
    "open",
    "GUEST_LOGGER",
]

_get_ident = threading.get_ident
_NULL = ffi.NULL

#: The logger guest log lines go to when ``open`` gets no ``log`` callback.
GUEST_LOGGER = logging.getLogger("interstice.guest")

_PY_LEVELS = {
    CONSTANTS["INTERSTICE_LOG_DEBUG"]: logging.DEBUG,
    CONSTANTS["INTERSTICE_LOG_INFO"]: logging.INFO,
    CONSTANTS["INTERSTICE_LOG_WARN"]: logging.WARNING,
    CONSTANTS["INTERSTICE_LOG_ERROR"]: logging.ERROR,
}


def _options(prefix: str) -> Dict[str, int]:
    return {k[len(prefix):].lower(): v for k, v in CONSTANTS.items() if k.startswith(prefix)}


SYNC_POLICIES = _options("INTERSTICE_SYNC_")  # always, interval, none
RECOVERY_MODES = _options("INTERSTICE_RECOVER_")  # truncate_tail, strict, read_only
_FMT_JSON = CONSTANTS["INTERSTICE_FORMAT_JSON"]
_FMT_FB = CONSTANTS["INTERSTICE_FORMAT_FLATBUFFERS"]
_OPS = {CONSTANTS["INTERSTICE_OP_INSERT"]: "insert", CONSTANTS["INTERSTICE_OP_UPDATE"]: "update",
        CONSTANTS["INTERSTICE_OP_DELETE"]: "delete"}
_EV_BITS = {"insert": CONSTANTS["INTERSTICE_EVENT_INSERT"], "update": CONSTANTS["INTERSTICE_EVENT_UPDATE"],
            "delete": CONSTANTS["INTERSTICE_EVENT_DELETE"]}
_MAX_DEADLINE_MS = 24 * 3600 * 1000


def _log_to_logging(level: int, module: str, message: str) -> None:
    pylevel = _PY_LEVELS.get(level, logging.INFO)
    if GUEST_LOGGER.isEnabledFor(pylevel):
        GUEST_LOGGER.log(pylevel, "%s: %s", module, message,
                         extra={"guest_module": module, "guest_level": level})


def _enum(name: str, value: Any, table: Dict[str, int]) -> int:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {', '.join(map(repr, table))}; not {type(value).__name__}")
    v = table.get(value)
    if v is None:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, table))}, not {value!r}")
    return v


def _uint(name: str, value: Any, lo: int = 0, hi: int = (1 << 64) - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}, not {value}")
    return value


def _name(what: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value or "\0" in value:
        raise ValueError(f"{what} must be a non-empty name without NUL, not {value!r}")
    return value.encode()


def _path(what: str, value: Any) -> bytes:
    try:
        p = os.fsencode(value)
    except TypeError:
        raise TypeError(f"{what} must be a str or os.PathLike, not {type(value).__name__}") from None
    if not p or b"\0" in p:
        raise ValueError(f"{what} must be a non-empty path without NUL")
    return p


_call = lib.interstice_call


def _new_bufs() -> Tuple[Any, Any, Any, Any]:
    return (ffi.new("uint64_t *"), ffi.new("char **"), ffi.new("size_t *"), ffi.new("interstice_error **"))


def _take_string(pp: Any, lenp: Any = None) -> bytes:
    """Copies and frees a library-allocated buffer (*pp, *lenp bytes)."""
    p = pp[0]
    if p == _NULL:
        return b""
    try:
        return ffi.unpack(ffi.cast("char *", p), lenp[0]) if lenp is not None else ffi.string(ffi.cast("char *", p))
    finally:
        lib.interstice_free(p)
        pp[0] = _NULL


@dataclass(frozen=True)
class ModuleInfo:
    """ModuleInfo describes a loaded module: its name, version and the SHA-256 (hex) of its wasm."""

    name: str
    version: str
    wasm_sha256: str


@dataclass(frozen=True)
class CascadeRun:
    """CascadeRun is one subscriber reducer a call triggered (its own transaction).

    Attributes:
        module, reducer: the subscriber that ran.
        depth: 1 for a subscriber of the call's own events, 2 for one of those, ...
        lsn:   its committed transaction (0 if it failed).
        error: its error message, or None if it committed.
    """

    module: str
    reducer: str
    depth: int
    lsn: int
    error: Optional[str]


class CallResult:
    """CallResult describes a committed reducer call.

    Attributes:
        lsn:           the transaction's log sequence number; for a call that
                       changed nothing (no record written, no fdatasync),
                       the last committed one.
        timestamp:     when it ran, in nanoseconds since the Unix epoch.
        mutations:     the number of rows it changed.
        cascade:       the subscriber reducers its events ran (each its own transaction).
        cascade_error: the first failure among them, or None. A failed
                       subscriber does not fail the call.
    """

    __slots__ = ("lsn", "_raw", "_doc")

    def __init__(self, lsn: int, raw: bytes) -> None:
        self.lsn: int = lsn
        self._raw = raw
        self._doc: Optional[Dict[str, Any]] = None

    def _parsed(self) -> Dict[str, Any]:
        if self._doc is None:
            self._doc = json.loads(self._raw)
        return self._doc

    @property
    def timestamp(self) -> int:
        """When the transaction ran, in nanoseconds since the Unix epoch."""
        return int(self._parsed()["timestamp"])

    @property
    def mutations(self) -> int:
        """The number of row changes the reducer committed."""
        return int(self._parsed()["mutations"])

    @property
    def cascade(self) -> Tuple[CascadeRun, ...]:
        """The subscriber reducers the call's events ran, in order."""
        return tuple(CascadeRun(c["module"], c["reducer"], c["depth"], c["lsn"], c.get("error"))
                     for c in self._parsed()["cascade"])

    @property
    def cascade_error(self) -> Optional[str]:
        """The first subscriber failure, or None."""
        return self._parsed().get("cascade_error")

    def __repr__(self) -> str:
        return (f"CallResult(lsn={self.lsn}, timestamp={self.timestamp}, mutations={self.mutations}, "
                f"cascade={list(self.cascade)!r}, cascade_error={self.cascade_error!r})")


@dataclass(frozen=True)
class Event:
    """Event is one committed row change delivered to a subscription callback.

    Attributes:
        op:        "insert", "update" or "delete".
        module, table: the table that changed.
        old:       the row before (update, delete), as a dict, else None.
        new:       the row after (insert, update), as a dict, else None.
        lsn:       the committing transaction.
        timestamp: when it ran, in nanoseconds since the Unix epoch.
    """

    op: str
    module: str
    table: str
    old: Optional[Dict[str, Any]]
    new: Optional[Dict[str, Any]]
    lsn: int
    timestamp: int

    @property
    def row(self) -> Dict[str, Any]:
        """The row concerned: ``new`` for inserts and updates, ``old`` for deletes."""
        r = self.new if self.new is not None else self.old
        assert r is not None
        return r


class _TableSchema:
    __slots__ = ("columns", "pk", "pk_type", "public")

    def __init__(self, doc: Dict[str, Any]) -> None:
        self.columns: List[str] = [c["name"] for c in doc["columns"]]
        self.pk: str = doc["primary_key"]
        types = {c["name"]: c["type"] for c in doc["columns"]}
        self.pk_type: ValueTypeSpec = parse_type(types[self.pk])
        self.public: bool = bool(doc.get("public", False))

    def to_dict(self, values: List[Any]) -> Dict[str, Any]:
        cols = self.columns
        if len(values) <= len(cols):
            return dict(zip(cols, values))
        return {**dict(zip(cols, values)), **{str(i): v for i, v in enumerate(values) if i >= len(cols)}}


class Database(_handles.Handle):
    """Database is an open Interstice runtime: loaded modules, their tables, the log behind them.

    Create it with :func:`interstice.open`. It is a context manager; leaving
    the ``with`` block closes it (an exception inside the block propagates).
    Every method may be called from several threads at once: reducer calls
    are serialised by the runtime, reads run in parallel, and durable calls
    from several threads share fdatasyncs (group commit). The GIL is released
    while the library runs.
    """

    __slots__ = ("_path", "_read_only", "_schemas", "_pending", "_bufs", "_keep", "_retired",
                 "_in_callback", "_names", "_subs", "_lock")
    _kind = "database"
    _warn_unclosed = True

    def __init__(
        self,
        path: Union[str, "os.PathLike[str]", None] = None,
        *,
        sync: str = "always",
        sync_interval_ms: int = 100,
        recovery: str = "truncate_tail",
        segment_size: int = 64 << 20,
        snapshot_every: int = 0,
        snapshot_every_bytes: int = 0,
        keep_snapshots: int = 2,
        retain_segments: int = 0,
        call_deadline_ms: Optional[int] = 5000,
        memory_limit_pages: int = 256,
        compilation_cache_dir: Union[str, "os.PathLike[str]", None] = None,
        progress: Optional[Callable[[int, int], None]] = None,
        log: Union[Callable[[int, str, str], None], None, bool] = None,
        clock: Optional[Callable[[], int]] = None,
    ) -> None:
        """Opens a runtime; see :func:`interstice.open` for every option."""
        super().__init__()
        self._path: Optional[str] = None
        self._schemas: Dict[Tuple[str, str], _TableSchema] = {}
        self._pending: Dict[int, BaseException] = {}
        # Out-parameter buffers of call/call_bytes, reused: a call takes one off
        # this list and puts it back, so a nested use (from a callback) never
        # shares one with the call in progress.
        self._bufs: List[Tuple[Any, Any, Any, Any]] = []
        self._keep: List[Any] = []  # callbacks the library may still call
        self._retired: List[Any] = []
        self._in_callback = 0
        self._names: Dict[str, bytes] = {}
        self._subs: Dict[int, "Subscription"] = {}
        self._lock = threading.Lock()
        if _handles.in_forked_child():
            raise _handles.Handle._gone(self)

        opts = ffi.new("interstice_runtime_options *")
        lib.interstice_runtime_options_init(opts)
        keep: List[Any] = []
        if path is not None:
            p = _path("path", path)
            self._path = os.fsdecode(p)
            buf = ffi.new("char[]", p)
            keep.append(buf)
            opts.data_dir = buf
        opts.sync = _enum("sync", sync, SYNC_POLICIES)
        opts.sync_interval_ms = _uint("sync_interval_ms", sync_interval_ms, 1, (1 << 32) - 1)
        opts.recovery = _enum("recovery", recovery, RECOVERY_MODES)
        self._read_only = recovery == "read_only"
        opts.segment_size = _uint("segment_size", segment_size, 1 << 10, 1 << 30)
        opts.snapshot_every = _uint("snapshot_every", snapshot_every)
        opts.snapshot_every_bytes = _uint("snapshot_every_bytes", snapshot_every_bytes)
        opts.keep_snapshots = _uint("keep_snapshots", keep_snapshots, 1, (1 << 32) - 1)
        opts.retain_segments = _uint("retain_segments", retain_segments, 0, (1 << 32) - 1)
        if call_deadline_ms is None:
            opts.call_deadline_ms = CONSTANTS["INTERSTICE_DEADLINE_NONE"]
        else:
            opts.call_deadline_ms = _uint("call_deadline_ms", call_deadline_ms, 1, _MAX_DEADLINE_MS)
        opts.memory_limit_pages = _uint("memory_limit_pages", memory_limit_pages, 1, 65536)
        if compilation_cache_dir is not None:
            cbuf = ffi.new("char[]", _path("compilation_cache_dir", compilation_cache_dir))
            keep.append(cbuf)
            opts.compilation_cache_dir = cbuf
        if path is None and (snapshot_every or snapshot_every_bytes):
            raise ValueError("snapshot_every and snapshot_every_bytes need a path (a durable database)")
        if progress is not None:
            if not callable(progress):
                raise TypeError(f"progress must be callable, not {type(progress).__name__}")
            opts.progress = self._callback("interstice_progress_fn", self._progress_trampoline(progress))
        if log is not False:
            if log is None or log is True:
                fn: Callable[[int, str, str], None] = _log_to_logging
            elif callable(log):
                fn = log
            else:
                raise TypeError(f"log must be callable, None or False, not {type(log).__name__}")
            opts.log = self._callback("interstice_log_fn", self._log_trampoline(fn))
        if clock is not None:
            if not callable(clock):
                raise TypeError(f"clock must be callable, not {type(clock).__name__}")
            opts.clock = self._callback("interstice_clock_fn", self._clock_trampoline(clock))

        out = ffi.new("interstice_runtime **")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_runtime_open(opts, out, err)
        del keep
        if rc:
            raise from_status(rc, err, "open")
        self._register(out[0])
        exc = self._pending.pop(_get_ident(), None)
        if exc is not None:  # the progress callback raised: the open is refused
            self.close()
            raise exc

    # -- callbacks ---------------------------------------------------------

    def _callback(self, ctype: str, fn: Callable[..., Any]) -> Any:
        cb = ffi.callback(ctype, fn)
        self._keep.append(cb)
        return cb

    def _stash(self, exc: BaseException) -> None:
        """Keeps the first exception a callback raised on this thread, for the call to re-raise."""
        self._pending.setdefault(_get_ident(), exc)

    def _progress_trampoline(self, fn: Callable[[int, int], None]) -> Callable[[Any, int, int], None]:
        def progress(user: Any, done: int, total: int) -> None:
            try:
                fn(done, total)
            except BaseException as e:  # noqa: B902 - must not unwind through C
                self._stash(e)
        return progress

    def _clock_trampoline(self, fn: Callable[[], int]) -> Callable[[Any], int]:
        def clock(user: Any) -> int:
            try:
                ns = fn()
                if type(ns) is not int:
                    raise TypeError(f"clock must return an int (nanoseconds since the Unix epoch), not {type(ns).__name__}")
                return min(max(ns, 0), (1 << 63) - 1)
            except BaseException as e:  # noqa: B902 - must not unwind through C
                self._stash(e)
                return time.time_ns()  # the transaction still gets a time
        return clock

    def _log_trampoline(self, fn: Callable[[int, str, str], None]) -> Callable[..., None]:
        def log(user: Any, level: int, module: Any, message: Any, n: int) -> None:
            self._in_callback += 1
            try:
                fn(level, ffi.string(module).decode("utf-8", "replace"),
                   ffi.unpack(message, n).decode("utf-8", "replace"))
            except BaseException as e:  # noqa: B902
                self._stash(e)
            finally:
                self._in_callback -= 1
        return log

    def _raise_pending(self, what: str, lsn: Optional[int], error: Optional[BaseException] = None) -> None:
        exc = self._pending.pop(_get_ident(), None)
        if exc is None:
            return
        if error is not None:
            error.__context__ = exc
            return
        if hasattr(exc, "add_note"):
            if lsn is not None:
                exc.add_note(f"interstice: raised by a callback during {what}; "
                             f"the transaction committed (LSN {lsn}) and stays committed")
            else:
                exc.add_note(f"interstice: raised by a callback during {what}; it completed")
        raise exc

    # -- lifecycle ---------------------------------------------------------

    @property
    def path(self) -> Optional[str]:
        """The data directory, or None for an in-memory database."""
        return self._path

    @property
    def closed(self) -> bool:
        """True once the database is closed (or was inherited through fork)."""
        return self._h is None

    def close(self) -> None:
        """Closes the database: waits for a running call, flushes and closes the log.

        Closing twice is harmless. In a forked child it only forgets the
        handle (the library cannot run there). Raises BusyError from inside
        a callback (the database stays open), IntersticeIOError if the log
        failed to close (the database is closed anyway).
        """
        rt = self._h
        if rt is None:
            return
        err = ffi.new("interstice_error **")
        rc = lib.interstice_runtime_close(rt, err)
        if rc == BusyError.status:
            raise from_status(rc, err, "close")
        self._h = None
        for s in list(self._subs.values()):
            s._id = None
        self._subs.clear()
        self._keep.clear()
        self._retired.clear()
        if rc and rc != lib.INTERSTICE_E_CLOSED:
            raise from_status(rc, err, "close")

    def __enter__(self) -> "Database":
        if self._h is None:
            raise self._gone()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._h is None else "open"
        where = repr(self._path) if self._path is not None else "in memory"
        return f"<interstice.Database {where} {state}>"

    # -- modules -----------------------------------------------------------

    def load_module(self, wasm: Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]) -> str:
        """Loads (or upgrades) a module from wasm bytes or a file path and returns its name.

        Loading is a transaction of its own (durable before this returns). A
        durable database keeps the wasm in its data directory: after a reopen
        the module is back without loading it again, and loading the same
        code again is a no-op. Raises ModuleError (not WebAssembly, missing
        exports), SchemaError, IncompatibleError, NotFoundError (no such file).
        """
        rt = self._h
        if rt is None:
            raise self._gone()
        name = ffi.new("char **")
        err = ffi.new("interstice_error **")
        if isinstance(wasm, (bytes, bytearray, memoryview)):
            data = bytes(wasm)
            if not data:
                raise ValueError("wasm is empty")
            rc = lib.interstice_module_load(rt, data, len(data), name, err)
        elif isinstance(wasm, (str, os.PathLike)):
            rc = lib.interstice_module_load_file(rt, _path("wasm", wasm), name, err)
        else:
            raise TypeError(f"wasm must be bytes or a path, not {type(wasm).__name__}")
        if rc:
            e = from_status(rc, err, "load_module")
            self._raise_pending("load_module", None, e)
            raise e
        mod = _take_string(name).decode()
        for key in [k for k in self._schemas if k[0] == mod]:
            del self._schemas[key]
        self._raise_pending("load_module", None)
        return mod

    @property
    def modules(self) -> List[ModuleInfo]:
        """The loaded modules, in load order."""
        doc = json.loads(self._json_out(lib.interstice_module_list, "modules"))
        return [ModuleInfo(m["name"], m["version"], m["wasm_sha256"]) for m in doc]

    def describe(self, module: str) -> Dict[str, Any]:
        """Returns a module's schema as a dict: name, version, tables (columns, primary key), reducers."""
        rt = self._h
        if rt is None:
            raise self._gone()
        m = _name("module", module)
        out = ffi.new("uint8_t **")
        n = ffi.new("size_t *")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_module_describe(rt, m, _FMT_JSON, out, n, err)
        if rc:
            raise from_status(rc, err, "describe")
        return json.loads(_take_string(out, n))

    def _schema(self, module: str, table: str) -> _TableSchema:
        s = self._schemas.get((module, table))
        if s is None:
            doc = self.describe(module)
            for t in doc["tables"]:
                self._schemas[(module, t["name"])] = _TableSchema(t)
            s = self._schemas.get((module, table))
            if s is None:
                raise NotFoundError(f"no table {table!r} in module {module!r}", lib.INTERSTICE_E_NOT_FOUND)
        return s

    # -- calls -------------------------------------------------------------

    def _enc(self, what: str, s: Any) -> bytes:
        """Validates and encodes a module or reducer name, caching it (the hot path is one dict hit)."""
        b = _name(what, s)
        if len(self._names) < 4096:
            self._names[s] = b
        return b

    def call(self, module: str, reducer: str, *args: Any, **kwargs: Any) -> CallResult:
        """Calls a reducer as one atomic, durable transaction and returns its CallResult.

        Arguments are given by position or by parameter name (not both) and
        travel as JSON: bool, int, float (NaN and infinities too), str,
        bytes (as base64), lists and None. Subscriber reducers and
        subscription callbacks its events trigger run before this returns.
        On failure nothing the reducer did is applied or logged, and the
        error is raised: ReducerError (the module's message), TrapError,
        CallTimeoutError, LimitError, TypeMismatchError (arguments), ...

        If a callback (subscription or log) raised during the call, that
        exception is re-raised here after the call returns, with a note: the
        transaction committed all the same.
        """
        rt = self._h
        if rt is None:
            raise self._gone()
        names = self._names
        m = names.get(module)
        if m is None:
            m = self._enc("module", module)
        r = names.get(reducer)
        if r is None:
            r = self._enc("reducer", reducer)
        if args or kwargs:
            js = encode_json_args(args, kwargs)
            n = len(js)
        else:
            js, n = _NULL, 0
        free = self._bufs
        bufs = free.pop() if free else _new_bufs()
        lsnp, resp, lenp, errp = bufs
        rc = lib.interstice_call_json(rt, m, r, js, n, lsnp, resp, lenp, errp)
        if rc:
            e = from_status(rc, errp, f"call {module}.{reducer}")
            free.append(bufs)
            if self._pending:
                self._raise_pending(f"{module}.{reducer}", None, e)
            raise e
        p = resp[0]
        res = CallResult(lsnp[0], ffi.unpack(p, lenp[0]))
        free.append(bufs)
        lib.interstice_free(p)
        if self._pending:
            self._raise_pending(f"the call of {module}.{reducer}", res.lsn)
        return res

    def call_bytes(self, module: str, reducer: str, args: Union[bytes, bytearray, memoryview] = b"") -> int:
        """Calls a reducer with arguments as an encoded Row FlatBuffer and returns the LSN.

        The fast form of :meth:`call`: ``args`` is an encoded Row (see
        :func:`interstice.encode_row`) with one value per parameter, or empty
        for a reducer without parameters. It returns only the committed
        transaction's LSN. Errors and callbacks behave as in :meth:`call`.
        """
        # The hot path: every name cached, bytes arguments, an open handle.
        rt = self._h
        names = self._names
        m = names.get(module)
        r = names.get(reducer)
        if rt is None or m is None or r is None or type(args) is not bytes:
            if rt is None:
                raise self._gone()
            if m is None:
                m = self._enc("module", module)
            if r is None:
                r = self._enc("reducer", reducer)
            if type(args) is not bytes:
                if not isinstance(args, (bytearray, memoryview)):
                    raise TypeError(f"args must be bytes (an encoded Row), not {type(args).__name__}")
                args = bytes(args)
        free = self._bufs
        bufs = free.pop() if free else _new_bufs()
        rc = _call(rt, m, r, args, len(args), bufs[0], _NULL, _NULL, bufs[3])
        if rc:
            e = from_status(rc, bufs[3], f"call {module}.{reducer}")
            free.append(bufs)
            if self._pending:
                self._raise_pending(f"{module}.{reducer}", None, e)
            raise e
        lsn: int = bufs[0][0]
        free.append(bufs)
        if self._pending:
            self._raise_pending(f"the call of {module}.{reducer}", lsn)
        return lsn

    # -- tables ------------------------------------------------------------

    def table(self, module: str, name: str) -> "Table":
        """Returns the Table module.name (NotFoundError if the module has no such table)."""
        if self._h is None:
            raise self._gone()
        self._schema(module, name)
        return Table(self, module, name)

    def subscribe(
        self,
        module: str,
        table: str,
        *,
        on_insert: Optional[Callable[[Event], Any]] = None,
        on_update: Optional[Callable[[Event], Any]] = None,
        on_delete: Optional[Callable[[Event], Any]] = None,
    ) -> "Subscription":
        """Calls back on committed inserts, updates and deletes of module.table; returns the Subscription.

        Each callback gets an :class:`Event`. Callbacks run on the thread of
        the reducer call that committed the event, once the call is durable
        and before it returns, in commit order; callbacks of calls made from
        several threads run one call at a time. They may read tables; a reducer call or close from
        inside one raises BusyError. An exception a callback raises is
        re-raised by the call that triggered it (the transaction stays
        committed). Replay on open fires no callback.
        """
        rt = self._h
        if rt is None:
            raise self._gone()
        handlers = {"insert": on_insert, "update": on_update, "delete": on_delete}
        mask = 0
        for k, fn in handlers.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"on_{k} must be callable, not {type(fn).__name__}")
                mask |= _EV_BITS[k]
        if not mask:
            raise ValueError("subscribe needs at least one of on_insert, on_update, on_delete")
        schema = self._schema(module, table)
        by_op = {code: handlers[name] for code, name in _OPS.items()}
        db = self

        def on_event(user: Any, ev: Any) -> None:
            db._in_callback += 1
            try:
                s = db._schemas.get((module, table), schema)
                old = s.to_dict(decode_row(ffi.buffer(ev.old_row, ev.old_len)[:])) if ev.old_row != _NULL else None
                new = s.to_dict(decode_row(ffi.buffer(ev.new_row, ev.new_len)[:])) if ev.new_row != _NULL else None
                fn = by_op.get(ev.op)
                if fn is not None:
                    fn(Event(_OPS.get(ev.op, str(ev.op)), module, table, old, new, ev.lsn, ev.timestamp))
            except BaseException as e:  # noqa: B902
                db._stash(e)
            finally:
                db._in_callback -= 1

        cb = ffi.callback("interstice_event_fn", on_event)
        idp = ffi.new("uint64_t *")
        err = ffi.new("interstice_error **")
        with self._lock:
            self._keep.append(cb)
        rc = lib.interstice_subscribe(rt, _name("module", module), _name("table", table), mask, cb, _NULL, idp, err)
        if rc:
            with self._lock:
                self._keep.remove(cb)
            raise from_status(rc, err, "subscribe")
        sub = Subscription(self, idp[0], module, table, cb)
        self._subs[idp[0]] = sub
        return sub

    def _unsubscribe(self, sub: "Subscription") -> None:
        rt = self._h
        sid = sub._id
        if rt is None or sid is None:
            sub._id = None
            return
        err = ffi.new("interstice_error **")
        rc = lib.interstice_unsubscribe(rt, sid, err)
        sub._id = None
        self._subs.pop(sid, None)
        with self._lock:
            if sub._cb in self._keep:
                self._keep.remove(sub._cb)
                if self._in_callback:
                    self._retired.append(sub._cb)  # may be running: free it at close
        if rc and rc != lib.INTERSTICE_E_NOT_FOUND:
            raise from_status(rc, err, "unsubscribe")

    # -- state -------------------------------------------------------------

    def snapshot(self) -> int:
        """Writes a snapshot of the whole state and returns the LSN it covers.

        Lets log retention delete segments the kept snapshots cover. With
        nothing committed since the last snapshot it writes nothing. Raises
        UnsupportedError for an in-memory database, ReadOnlyError under
        recovery="read_only".
        """
        rt = self._h
        if rt is None:
            raise self._gone()
        out = ffi.new("uint64_t *")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_runtime_snapshot(rt, out, err)
        if rc:
            raise from_status(rc, err, "snapshot")
        return int(out[0])

    @property
    def last_lsn(self) -> int:
        """The LSN of the last committed transaction (0 if none)."""
        rt = self._h
        if rt is None:
            raise self._gone()
        out = ffi.new("uint64_t *")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_runtime_last_lsn(rt, out, err)
        if rc:
            raise from_status(rc, err, "last_lsn")
        return int(out[0])

    def _json_out(self, fn: Any, what: str) -> bytes:
        rt = self._h
        if rt is None:
            raise self._gone()
        out = ffi.new("char **")
        n = ffi.new("size_t *")
        err = ffi.new("interstice_error **")
        rc = fn(rt, out, n, err)
        if rc:
            raise from_status(rc, err, what)
        return _take_string(out, n)

    @property
    def replay_stats(self) -> Dict[str, Any]:
        """What opening did to rebuild the state: snapshot_lsn, records, mutations, duration_ns, ...

        Keys: durable, read_only, snapshot_lsn, snapshot_rows,
        snapshots_skipped, records, mutations, last_lsn, duration_ns,
        torn_tail, last_snapshot_error (all zero or empty in memory).
        """
        return json.loads(self._json_out(lib.interstice_runtime_replay_stats, "replay_stats"))

    @property
    def log_stats(self) -> Dict[str, int]:
        """The log's write counters since open: writes, fdatasyncs, records, gathers.

        records / fdatasyncs is the mean group-commit batch. All zero in memory.
        """
        return json.loads(self._json_out(lib.interstice_runtime_log_stats, "log_stats"))


class Table:
    """Table reads the committed rows of one module's table.

    Rows are dicts keyed by column name. ``len(table)`` counts rows,
    ``table.get(key)`` (or ``table[key]``) reads one by primary key, and
    iterating streams every row in primary-key order, a chunk at a time.
    """

    __slots__ = ("_db", "module", "name", "_m", "_t")

    def __init__(self, db: Database, module: str, name: str) -> None:
        self._db = db
        self.module = module
        self.name = name
        self._m = _name("module", module)
        self._t = _name("table", name)

    def _rt(self) -> Any:
        rt = self._db._h
        if rt is None:
            raise self._db._gone()
        return rt

    @property
    def columns(self) -> List[str]:
        """The column names, in order."""
        return list(self._db._schema(self.module, self.name).columns)

    @property
    def primary_key(self) -> str:
        """The primary-key column's name."""
        return self._db._schema(self.module, self.name).pk

    def get(self, key: Any, default: Any = None) -> Any:
        """Returns the row whose primary key is key, as a dict, or default if there is none."""
        rt = self._rt()
        s = self._db._schema(self.module, self.name)
        k = encode_row([key], [s.pk_type])
        out = ffi.new("uint8_t **")
        n = ffi.new("size_t *")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_get(rt, self._m, self._t, k, len(k), out, n, err)
        if rc:
            raise from_status(rc, err, f"get {self.module}.{self.name}")
        if out[0] == _NULL:
            return default
        return s.to_dict(decode_row(_take_string(out, n)))

    def __getitem__(self, key: Any) -> Dict[str, Any]:
        row = self.get(key, _MISSING)
        if row is _MISSING:
            raise KeyError(key)
        return row  # type: ignore[no-any-return]

    def __contains__(self, key: Any) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def __len__(self) -> int:
        rt = self._rt()
        out = ffi.new("uint64_t *")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_count(rt, self._m, self._t, out, err)
        if rc:
            raise from_status(rc, err, f"count {self.module}.{self.name}")
        return int(out[0])

    def count(self) -> int:
        """Returns the number of committed rows (the same as len(table))."""
        return len(self)

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        return self.scan()

    def scan(self, chunk_rows: int = 1024, chunk_bytes: int = 1 << 20) -> Iterator[Dict[str, Any]]:
        """Yields every row in primary-key order, fetching chunk_rows rows (at most chunk_bytes) at a time.

        The iterator holds no lock between chunks: rows committed or deleted
        meanwhile may or may not be seen, but each key is seen at most once
        and in order. Close it early with ``.close()`` on the generator, or
        let it finish.
        """
        _uint("chunk_rows", chunk_rows, 1, 1 << 30)
        _uint("chunk_bytes", chunk_bytes, 1, 1 << 40)
        return _Scan(self, chunk_rows, chunk_bytes)

    def __repr__(self) -> str:
        return f"<interstice.Table {self.module}.{self.name}>"


_MISSING: Any = object()


class _Scan(_handles.Handle):
    """A scan iterator: one interstice_scan handle, read a chunk at a time."""

    __slots__ = ("_table", "_rows", "_bytes", "_buf", "_done")
    _kind = "scan"

    def __init__(self, table: Table, rows: int, nbytes: int) -> None:
        super().__init__()
        self._table = table
        self._rows = rows
        self._bytes = nbytes
        self._buf: List[Dict[str, Any]] = []
        self._done = False
        rt = table._rt()
        out = ffi.new("interstice_scan **")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_scan_open(rt, table._m, table._t, _FMT_FB, out, err)
        if rc:
            raise from_status(rc, err, f"scan {table.module}.{table.name}")
        self._register(out[0])

    def __iter__(self) -> "_Scan":
        return self

    def __next__(self) -> Dict[str, Any]:
        if not self._buf:
            if self._done:
                raise StopIteration
            self._fill()
            if not self._buf:
                raise StopIteration
        return self._buf.pop()

    def _fill(self) -> None:
        it = self._h
        if it is None:
            if self._done:
                return
            raise self._gone()
        out = ffi.new("uint8_t **")
        n = ffi.new("size_t *")
        rows = ffi.new("size_t *")
        err = ffi.new("interstice_error **")
        rc = lib.interstice_scan_next_chunk(it, self._rows, self._bytes, out, n, rows, err)
        if rc:
            e = from_status(rc, err, "scan")
            self.close()
            raise e
        if out[0] == _NULL:
            self.close()
            return
        data = _take_string(out, n)
        t = self._table
        s = t._db._schema(t.module, t.name)
        got = []
        pos, end = 0, len(data)
        while pos < end:
            ln = int.from_bytes(data[pos:pos + 4], "little")
            got.append(s.to_dict(decode_row(data[pos + 4:pos + 4 + ln])))
            pos += 4 + ln
        got.reverse()
        self._buf = got

    def close(self) -> None:
        """Releases the iterator (also done when it is exhausted); later iteration yields nothing."""
        self._done = True
        self._buf = []
        it = self._h
        if it is None:
            return
        self._h = None
        lib.interstice_scan_close(it, _NULL)


class Subscription:
    """Subscription is a registered table callback; ``unsubscribe()`` (or leaving ``with``) removes it."""

    __slots__ = ("_db", "_id", "module", "table", "_cb")

    def __init__(self, db: Database, sid: int, module: str, table: str, cb: Any) -> None:
        self._db = db
        self._id: Optional[int] = sid
        self.module = module
        self.table = table
        self._cb = cb

    @property
    def id(self) -> Optional[int]:
        """The library's subscription id, or None once unsubscribed."""
        return self._id

    @property
    def active(self) -> bool:
        """True until unsubscribe() or the database's close()."""
        return self._id is not None and self._db._h is not None

    def unsubscribe(self) -> None:
        """Removes the subscription: no callback starts after this returns. Idempotent."""
        self._db._unsubscribe(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.unsubscribe()

    def __repr__(self) -> str:
        return f"<interstice.Subscription {self.module}.{self.table} id={self._id}>"


# open spells out Database's keywords so that they are typed and documented
# where users call it; test_database_open checks that the two signatures
# stay the same.
def open(
    path: Union[str, "os.PathLike[str]", None] = None,
    *,
    sync: str = "always",
    sync_interval_ms: int = 100,
    recovery: str = "truncate_tail",
    segment_size: int = 64 << 20,
    snapshot_every: int = 0,
    snapshot_every_bytes: int = 0,
    keep_snapshots: int = 2,
    retain_segments: int = 0,
    call_deadline_ms: Optional[int] = 5000,
    memory_limit_pages: int = 256,
    compilation_cache_dir: Union[str, "os.PathLike[str]", None] = None,
    progress: Optional[Callable[[int, int], None]] = None,
    log: Union[Callable[[int, str, str], None], None, bool] = None,
    clock: Optional[Callable[[], int]] = None,
) -> Database:
    """Opens a Database: in memory (path None) or durable in the data directory path.

    A durable database replays its snapshot and log on open (no WASM runs,
    no callback fires); a new directory is created. Every option maps onto
    one field of the C ``interstice_runtime_options``:

    sync:                  "always" (default: a call returns after its record is
                           fdatasynced; concurrent calls share one sync), "interval"
                           (fdatasync every sync_interval_ms) or "none" (on close).
    sync_interval_ms:      the period under sync="interval"; default 100.
    recovery:              "truncate_tail" (default: cut a torn last record, keeping its
                           bytes in <segment>.broken), "strict" (refuse any damage:
                           TornTailError) or "read_only" (rebuild and read; calls raise
                           ReadOnlyError; no lock, nothing written).
    segment_size:          log segment size in bytes; default 64 MiB; 1 KiB .. 1 GiB.
    snapshot_every:        snapshot in the background after this many transactions;
                           default 0 (off).
    snapshot_every_bytes:  ... or after this many bytes of row data; default 0 (off).
    keep_snapshots:        snapshots kept; default 2.
    retain_segments:       sealed log segments kept at least; older ones a kept snapshot
                           covers are deleted; default 0 (never delete).
    call_deadline_ms:      wall-clock budget of one call; default 5000; None disables it
                           (trusted modules only); at most a day.
    memory_limit_pages:    64 KiB pages per module instance; default 256 (16 MiB).
    compilation_cache_dir: a directory caching compiled modules across processes;
                           default None (path/cache for a durable database that is
                           not read-only, else in memory, shared by the process).
    progress:              progress(done_bytes, total_bytes) during replay on open.
    log:                   log(level, module, message) for each guest log line and
                           line of guest stdout (INFO) / stderr (WARN); levels are
                           interstice.LOG_DEBUG .. LOG_ERROR. Default None: the lines
                           go to the logging logger "interstice.guest" (the module in
                           the record's guest_module attribute). False: discarded.
    clock:                 clock() -> nanoseconds since the Unix epoch, the time each
                           transaction is stamped with (made strictly increasing; the
                           guest's clocks read it; the log records it). Default None:
                           the system clock. Called on the calling thread once per
                           transaction; give the same clock to compare logs byte for
                           byte. If it raises, the transaction gets the system time
                           and the call re-raises the exception after it completed.

    Raises LockedError if another process has the directory open,
    CorruptLogError for mid-log damage, TypeError/ValueError for bad options.
    """
    return Database(
        path, sync=sync, sync_interval_ms=sync_interval_ms, recovery=recovery, segment_size=segment_size,
        snapshot_every=snapshot_every, snapshot_every_bytes=snapshot_every_bytes, keep_snapshots=keep_snapshots,
        retain_segments=retain_segments, call_deadline_ms=call_deadline_ms, memory_limit_pages=memory_limit_pages,
        compilation_cache_dir=compilation_cache_dir, progress=progress, log=log, clock=clock,
    )
