"""Fork safety: every open handle is disowned in a forked child.

The Go runtime inside libinterstice does not survive fork(): in a child
process no interstice_* function may run, not even a close. After a fork,
os.register_at_fork(after_in_child=...) marks every live handle of this
process as forked; any use then raises ForkError, and close() (or garbage
collection) in the child only forgets the handle.
"""

from __future__ import annotations

import os
import warnings
import weakref
from typing import Any

from .errors import ClosedError, ForkError

_live: "weakref.WeakSet[Handle]" = weakref.WeakSet()
_forked = False  # True in a child of a process that loaded the library


class Handle:
    """Handle is the base of objects that own a C handle (``_h``)."""

    __slots__ = ("_h", "_forked", "__weakref__")
    _kind = "handle"
    _warn_unclosed = False

    def __init__(self) -> None:
        self._h: Any = None
        self._forked = False

    def _register(self, h: Any) -> None:
        self._h = h
        _live.add(self)

    def close(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __del__(self) -> None:
        # A safety net, not the cleanup path (close() and with blocks are):
        # an open handle is closed when collected, except in a forked child,
        # where no call into the library is allowed. Classes with
        # _warn_unclosed say so with a ResourceWarning first.
        if getattr(self, "_h", None) is not None and not _forked:
            if self._warn_unclosed:
                warnings.warn(f"unclosed {self!r}; use close() or a with block", ResourceWarning, stacklevel=1)
            try:
                self.close()
            except Exception:
                pass

    def _gone(self) -> "Exception":
        """Returns the error for a use of a handle that is no longer usable."""
        if self._forked or _forked:
            return ForkError(
                f"interstice: this {self._kind} was opened before fork(); the library cannot be used "
                f"in a forked child (pid {os.getpid()}), not even to close a handle. "
                "Open handles in the child only if it never inherited the library, e.g. start it with "
                "multiprocessing's 'spawn' method"
            )
        return ClosedError(f"interstice: the {self._kind} is closed")


def _after_fork_in_child() -> None:
    global _forked
    _forked = True
    for h in list(_live):
        h._forked = True
        h._h = None
    _live.clear()


def in_forked_child() -> bool:
    """Returns True in a forked child of a process that used the library."""
    return _forked


os.register_at_fork(after_in_child=_after_fork_in_child)
