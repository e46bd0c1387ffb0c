"""The exception tree of the interstice package.

Every failure the C library reports is raised as an :class:`IntersticeError`
subclass chosen by the C status code. The code-to-class table is built at
import from the status block of ``interstice.h`` (the same header the cdef
comes from), so it cannot disagree with the library: a status the header
gains without a dedicated class here still gets a class of its own,
generated from its macro name.

Misuse of the Python API (a wrong argument type, an unknown option, a value
out of range) raises the ordinary :class:`TypeError` or :class:`ValueError`
before any C code runs.
"""

from __future__ import annotations

import builtins
import re
from typing import Dict, Optional, Tuple, Type

from ._ffi import STATUS_COMMENTS, ffi, lib

__all__ = [
    "IntersticeError",
    "BadArgumentError",
    "NotFoundError",
    "TrapError",
    "CallTimeoutError",
    "LimitError",
    "SchemaError",
    "AccessError",
    "DuplicateKeyError",
    "TypeMismatchError",
    "ClosedError",
    "InternalError",
    "ReducerError",
    "CycleError",
    "UnsupportedError",
    "IncompatibleError",
    "ModuleError",
    "CorruptLogError",
    "TornTailError",
    "IntersticeIOError",
    "PoisonedError",
    "ReadOnlyError",
    "VersionError",
    "CompactedError",
    "BusyError",
    "LockedError",
    "ForkError",
    "error_class",
]


class IntersticeError(Exception):
    """IntersticeError is the base of every error the C library reports.

    Attributes:
        code:    the C status (an ``INTERSTICE_E_*`` value).
        name:    the status macro's name, e.g. ``"INTERSTICE_E_CORRUPT"``.
        detail:  the finer reason the library gives (e.g. 105 "bad name"
                 under ``INTERSTICE_E_SCHEMA``; the header's "Status codes"
                 pins every value), else 0.
        message: the library's message; it names the module, table, segment
                 or offset concerned, each once, and not the status (the
                 class says it). ``str(error)`` is the message.
        guest_message: the module's own words when the failure came from
                 them (a reducer's error, a trapped module's panic line),
                 else None: ``interstice_error.guest_message``.
    """

    #: The status this class stands for (None for the base class).
    status: Optional[int] = None

    def __init__(
        self, message: str, code: Optional[int] = None, detail: int = 0, guest_message: Optional[str] = None
    ) -> None:
        if code is None:
            code = self.status if self.status is not None else lib.INTERSTICE_E_INTERNAL
        super().__init__(message)
        self.code: int = code
        self.name: str = status_name(code)
        self.detail: int = detail
        self.message: str = message
        self.guest_message: Optional[str] = guest_message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code} {self.name}, detail={self.detail})"


class BadArgumentError(IntersticeError):
    """The library refused an argument (``INTERSTICE_E_BAD_ARGUMENT``)."""


class NotFoundError(IntersticeError):
    """No such module, reducer, table, subscription or file (``INTERSTICE_E_NOT_FOUND``)."""


class TrapError(IntersticeError):
    """The module trapped; the call was rolled back (``INTERSTICE_E_TRAP``)."""


class CallTimeoutError(IntersticeError, builtins.TimeoutError):
    """The per-call deadline passed; the call was rolled back (``INTERSTICE_E_TIMEOUT``).

    Also a :class:`builtins.TimeoutError`, so ``except TimeoutError`` catches it.
    """


class LimitError(IntersticeError):
    """A size, memory, cascade or record-size limit was exceeded (``INTERSTICE_E_LIMIT``)."""


class SchemaError(IntersticeError):
    """A module's schema is invalid (``INTERSTICE_E_SCHEMA``)."""


class AccessError(IntersticeError):
    """A module wrote another module's table or read a private one (``INTERSTICE_E_ACCESS``)."""


class DuplicateKeyError(IntersticeError):
    """An insert of an existing primary key (``INTERSTICE_E_DUPLICATE_KEY``)."""


class TypeMismatchError(IntersticeError):
    """A row, key or argument does not match the declared types (``INTERSTICE_E_TYPE``)."""


class ClosedError(IntersticeError):
    """The handle, or the runtime or log behind it, is closed (``INTERSTICE_E_CLOSED``)."""


class InternalError(IntersticeError):
    """A bug in the library: a recovered panic or unexpected host failure (``INTERSTICE_E_INTERNAL``)."""


class ReducerError(IntersticeError):
    """The reducer returned an error; the call was rolled back (``INTERSTICE_E_REDUCER_FAILED``).

    Attributes:
        module, reducer:  which reducer failed (None if the message does not say).
        reducer_message:  the module's own error text (``guest_message``), or
                          the whole message when the module gave none.
    """

    # The message is the guest's text, then " (module M, reducer R)".
    _PLACE = re.compile(r" \(module (\S+), reducer ([^,)\s]+)[,)]")

    def __init__(
        self, message: str, code: Optional[int] = None, detail: int = 0, guest_message: Optional[str] = None
    ) -> None:
        super().__init__(message, code, detail, guest_message)
        m = None
        if guest_message is not None and message.startswith(guest_message):
            m = self._PLACE.match(message, len(guest_message))
        self.module: Optional[str] = m.group(1) if m else None
        self.reducer: Optional[str] = m.group(2) if m else None
        self.reducer_message: str = guest_message if guest_message is not None else message


class CycleError(IntersticeError):
    """A nested call would re-enter a module already on the stack (``INTERSTICE_E_CYCLE``)."""


class UnsupportedError(IntersticeError):
    """Not supported by this build, e.g. snapshots of an in-memory runtime (``INTERSTICE_E_UNSUPPORTED``)."""


class IncompatibleError(IntersticeError):
    """A schema conflicts with a loaded module (``INTERSTICE_E_INCOMPATIBLE``)."""


class ModuleError(IntersticeError):
    """Not valid WebAssembly, or missing exports or bad imports (``INTERSTICE_E_INVALID_MODULE``)."""


class CorruptLogError(IntersticeError):
    """Log corruption (checksum, LSN chain, header); never skipped (``INTERSTICE_E_CORRUPT``)."""


class TornTailError(IntersticeError):
    """A torn last record, reported only under ``recovery="strict"`` (``INTERSTICE_E_TORN_TAIL``)."""


class IntersticeIOError(IntersticeError):
    """An operating-system I/O error: open, read, write, fsync (``INTERSTICE_E_IO``)."""


class PoisonedError(IntersticeError):
    """An earlier log write or fsync failed; close and reopen (``INTERSTICE_E_POISONED``)."""


class ReadOnlyError(IntersticeError):
    """The log or runtime was opened with ``recovery="read_only"`` (``INTERSTICE_E_READ_ONLY``)."""


class VersionError(IntersticeError):
    """A log segment of an unknown format version (``INTERSTICE_E_VERSION``)."""


class CompactedError(IntersticeError):
    """The requested LSN was deleted by retention (``INTERSTICE_E_COMPACTED``)."""


class BusyError(IntersticeError):
    """A re-entrant call from inside a callback, which would deadlock (``INTERSTICE_E_BUSY``)."""


class LockedError(IntersticeError):
    """The directory is locked by another open log or durable runtime (``INTERSTICE_E_LOCKED``)."""


class ForkError(ClosedError):
    """A handle opened before ``fork()`` was used in the child process.

    The Go runtime inside the library does not survive ``fork()``: a child may
    not call into it at all. Every handle is marked unusable in the child and
    raises this error (a :class:`ClosedError`, code ``INTERSTICE_E_CLOSED``).
    Open new handles only in processes that never inherited one, e.g. with
    ``multiprocessing``'s ``"spawn"`` start method.
    """


# Dedicated classes by status macro name. Statuses the header has and this
# table lacks get a generated class (see _build_table).
_BY_MACRO: Dict[str, Type[IntersticeError]] = {
    "INTERSTICE_E_BAD_ARGUMENT": BadArgumentError,
    "INTERSTICE_E_NOT_FOUND": NotFoundError,
    "INTERSTICE_E_TRAP": TrapError,
    "INTERSTICE_E_TIMEOUT": CallTimeoutError,
    "INTERSTICE_E_LIMIT": LimitError,
    "INTERSTICE_E_SCHEMA": SchemaError,
    "INTERSTICE_E_ACCESS": AccessError,
    "INTERSTICE_E_DUPLICATE_KEY": DuplicateKeyError,
    "INTERSTICE_E_TYPE": TypeMismatchError,
    "INTERSTICE_E_CLOSED": ClosedError,
    "INTERSTICE_E_INTERNAL": InternalError,
    "INTERSTICE_E_REDUCER_FAILED": ReducerError,
    "INTERSTICE_E_CYCLE": CycleError,
    "INTERSTICE_E_UNSUPPORTED": UnsupportedError,
    "INTERSTICE_E_INCOMPATIBLE": IncompatibleError,
    "INTERSTICE_E_INVALID_MODULE": ModuleError,
    "INTERSTICE_E_CORRUPT": CorruptLogError,
    "INTERSTICE_E_TORN_TAIL": TornTailError,
    "INTERSTICE_E_IO": IntersticeIOError,
    "INTERSTICE_E_POISONED": PoisonedError,
    "INTERSTICE_E_READ_ONLY": ReadOnlyError,
    "INTERSTICE_E_VERSION": VersionError,
    "INTERSTICE_E_COMPACTED": CompactedError,
    "INTERSTICE_E_BUSY": BusyError,
    "INTERSTICE_E_LOCKED": LockedError,
}


def _camel(macro: str) -> str:
    return "".join(p.capitalize() for p in macro[len("INTERSTICE_E_"):].split("_")) + "Error"


def _build_table() -> Dict[int, Type[IntersticeError]]:
    table: Dict[int, Type[IntersticeError]] = {}
    for code, (macro, comment) in sorted(STATUS_COMMENTS.items()):
        if code == 0:
            continue
        cls = _BY_MACRO.get(macro)
        if cls is None:
            cls = type(_camel(macro), (IntersticeError,), {"__doc__": f"{comment} (``{macro}``)."})
        cls.status = code
        table[code] = cls
    return table


#: Status code -> exception class, from the header's status block.
ERROR_CLASSES: Dict[int, Type[IntersticeError]] = _build_table()
ForkError.status = lib.INTERSTICE_E_CLOSED


def status_name(code: int) -> str:
    """Returns the macro name of a status (``"INTERSTICE_E_CORRUPT"``), or ``"status <code>"``."""
    entry = STATUS_COMMENTS.get(code)
    return entry[0] if entry else f"status {code}"


def status_str(code: int) -> str:
    """Returns the library's short English name of a status (interstice_status_str)."""
    return ffi.string(lib.interstice_status_str(code)).decode()


def error_class(code: int) -> Type[IntersticeError]:
    """Returns the exception class for a C status; IntersticeError for an unknown one."""
    return ERROR_CLASSES.get(code, IntersticeError)


def from_status(rc: int, err: "ffi.CData", what: str = "") -> IntersticeError:
    """Builds the exception for a failed call from its status and interstice_error (which it frees)."""
    e = err[0]
    guest: Optional[str] = None
    if e != ffi.NULL:
        code = e.code
        message = ffi.string(e.message).decode("utf-8", "replace") if e.message != ffi.NULL else ""
        detail = e.detail
        if e.guest_message != ffi.NULL:
            guest = ffi.string(e.guest_message).decode("utf-8", "replace")
        lib.interstice_error_free(e)
        err[0] = ffi.NULL
    else:
        code, message, detail = rc, "", 0
    if not message:
        message = f"{what}: {status_str(code)}" if what else status_str(code)
    return error_class(code)(message, code, detail, guest)


def status_table() -> Tuple[Tuple[int, str, str], ...]:
    """Returns (code, macro name, header comment) for every status of the header."""
    return tuple((c, m, t) for c, (m, t) in sorted(STATUS_COMMENTS.items()))
