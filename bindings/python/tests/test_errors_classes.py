"""The exception tree: one class per C status, each carrying code and name."""

import builtins
import re

import pytest

import interstice
from interstice import errors
from interstice._ffi import HEADER_PATH, ffi, lib


def header_statuses():
    with open(HEADER_PATH) as f:
        return {int(v): n for n, v in re.findall(r"#define (INTERSTICE_E_[A-Z_]+)\s+(\d+)", f.read())}


def test_every_header_status_has_a_dedicated_exported_class():
    statuses = header_statuses()
    assert len(statuses) >= 25
    for code, macro in statuses.items():
        cls = interstice.error_class(code)
        assert cls is not interstice.IntersticeError, macro
        assert cls.status == code
        assert getattr(interstice, cls.__name__) is cls, f"{cls.__name__} not exported"
        assert cls.__name__ in interstice.__all__
        assert issubclass(cls, interstice.IntersticeError)
        assert macro in (cls.__doc__ or ""), f"{cls.__name__} docstring should name {macro}"


@pytest.mark.parametrize("code", sorted(header_statuses()))
def test_each_class_carries_code_name_detail_message(code):
    cls = interstice.error_class(code)
    e = cls("something broke", code, 105)
    assert e.code == code and e.detail == 105 and e.message == "something broke"
    assert e.name == header_statuses()[code] == interstice.status_name(code)
    assert str(e) == "something broke"
    assert cls.__name__ in repr(e) and e.name in repr(e)
    assert interstice.status_str(code) == ffi.string(lib.interstice_status_str(code)).decode() != "unknown status"


def test_unknown_status_falls_back_to_the_base_class():
    assert interstice.error_class(999) is interstice.IntersticeError
    e = interstice.IntersticeError("x", 999)
    assert e.name == "status 999"
    assert interstice.status_str(999) == "unknown status"


def test_timeout_is_also_the_builtin_timeout_error():
    assert issubclass(interstice.CallTimeoutError, builtins.TimeoutError)
    assert interstice.TimeoutError is interstice.CallTimeoutError
    assert "TimeoutError" not in interstice.__all__  # star-import keeps the builtin


def test_fork_error_is_a_closed_error():
    assert issubclass(interstice.ForkError, interstice.ClosedError)
    assert interstice.ForkError("x").code == lib.INTERSTICE_E_CLOSED


def test_torn_tail_is_not_corruption():
    assert not issubclass(interstice.TornTailError, interstice.CorruptLogError)


def test_reducer_error_takes_the_modules_own_message_from_its_field():
    e = interstice.ReducerError('no counter "x" (module counter, reducer reset)', 12, 0, 'no counter "x"')
    assert (e.module, e.reducer, e.reducer_message) == ("counter", "reset", 'no counter "x"')
    assert e.guest_message == 'no counter "x"'
    # the place after the guest's words, then a host call's failure
    e = interstice.ReducerError(
        "a (b) (module counter, reducer reset): not found: update: no row (table counter.counters, column name)",
        12,
        0,
        "a (b)",
    )
    assert (e.module, e.reducer, e.reducer_message) == ("counter", "reset", "a (b)")
    # guest words that look like a place are not parsed as one
    e = interstice.ReducerError("returned status -11 with no message (module m, reducer r)", 12)
    assert e.module is None and e.guest_message is None
    assert e.reducer_message == "returned status -11 with no message (module m, reducer r)"


def test_status_table_matches_the_header():
    rows = errors.status_table()
    assert rows[0][:2] == (0, "INTERSTICE_OK")
    assert {c: m for c, m, _ in rows if c} == header_statuses()
    assert all(comment for _, _, comment in rows)


def test_a_status_the_header_gains_gets_a_generated_class(monkeypatch):
    monkeypatch.setitem(errors.STATUS_COMMENTS, 77, ("INTERSTICE_E_SHINY_NEW", "a new failure"))
    table = errors._build_table()
    cls = table[77]
    assert cls.__name__ == "ShinyNewError" and cls.status == 77 and issubclass(cls, interstice.IntersticeError)
    assert "INTERSTICE_E_SHINY_NEW" in cls.__doc__
