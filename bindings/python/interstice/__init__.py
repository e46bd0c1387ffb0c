"""Interstice: an embeddable, durable, deterministic WebAssembly runtime.

"SQLite, but the schema and the write logic live in sandboxed WASM modules."
This package drives libinterstice (shipped inside it) through its C ABI::

    import interstice

    with interstice.open("data") as db:          # replays the log, if any
        db.load_module("counter.wasm")            # a durable transaction too
        db.call("counter", "add", "hits", 1)      # durable when it returns
        print(db.table("counter", "counters").get("hits"))

See the README for a tutorial, :func:`open` for every option and
:mod:`interstice.errors` for the exception tree.
"""

from __future__ import annotations

from ._ffi import CONSTANTS as _C
from ._ffi import ffi as _cffi
from ._ffi import lib as _lib
from ._values import (
    ModuleRecordInfo,
    Record,
    RecordMutation,
    ValueTypeSpec,
    decode_row,
    encode_row,
    encode_transaction,
    parse_type,
)
from .database import (
    GUEST_LOGGER,
    CallResult,
    CascadeRun,
    Database,
    Event,
    ModuleInfo,
    Subscription,
    Table,
    open,
)
from .errors import (
    AccessError,
    BadArgumentError,
    BusyError,
    CallTimeoutError,
    ClosedError,
    CompactedError,
    CorruptLogError,
    CycleError,
    DuplicateKeyError,
    ForkError,
    IncompatibleError,
    InternalError,
    IntersticeError,
    IntersticeIOError,
    LimitError,
    LockedError,
    ModuleError,
    NotFoundError,
    PoisonedError,
    ReadOnlyError,
    ReducerError,
    SchemaError,
    TornTailError,
    TrapError,
    TypeMismatchError,
    UnsupportedError,
    VersionError,
    error_class,
    status_name,
    status_str,
)
from .log import Damage, Log, ValidationReport, inspect, record_to_json, repair, validate

#: ``interstice.TimeoutError`` is :class:`CallTimeoutError` (also a builtins.TimeoutError).
#: It is left out of ``__all__`` so that ``from interstice import *`` does not shadow the builtin.
TimeoutError = CallTimeoutError

#: The package version (the library's INTERSTICE_VERSION_STRING).
__version__: str = _C["INTERSTICE_VERSION_STRING"]
#: The C ABI version this package's header declares (checked against the library at import).
ABI_VERSION: int = _C["INTERSTICE_ABI_VERSION"]

LOG_DEBUG: int = _C["INTERSTICE_LOG_DEBUG"]
LOG_INFO: int = _C["INTERSTICE_LOG_INFO"]
LOG_WARN: int = _C["INTERSTICE_LOG_WARN"]
LOG_ERROR: int = _C["INTERSTICE_LOG_ERROR"]


def library_version() -> str:
    """Returns the loaded library's version string (interstice_version_string)."""
    return _cffi.string(_lib.interstice_version_string()).decode()


__all__ = [
    "open", "Database", "Table", "Subscription", "Event", "CallResult", "CascadeRun", "ModuleInfo",
    "GUEST_LOGGER", "Log", "ValidationReport", "Damage", "validate", "inspect", "repair", "record_to_json",
    "Record", "RecordMutation", "ModuleRecordInfo", "ValueTypeSpec", "parse_type", "encode_row", "decode_row",
    "encode_transaction", "library_version", "ABI_VERSION", "LOG_DEBUG", "LOG_INFO", "LOG_WARN", "LOG_ERROR",
    "IntersticeError", "BadArgumentError", "NotFoundError", "TrapError", "CallTimeoutError", "LimitError",
    "SchemaError", "AccessError", "DuplicateKeyError", "TypeMismatchError", "ClosedError", "InternalError",
    "ReducerError", "CycleError", "UnsupportedError", "IncompatibleError", "ModuleError", "CorruptLogError",
    "TornTailError", "IntersticeIOError", "PoisonedError", "ReadOnlyError", "VersionError", "CompactedError",
    "BusyError", "LockedError", "ForkError", "error_class", "status_name", "status_str",
]
