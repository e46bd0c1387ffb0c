"""Database.call: JSON arguments, results, failures and atomicity."""

import math

import pytest

import interstice


def test_call_by_position_and_by_name(db):
    r1 = db.call("counter", "add", "a", 2)
    r2 = db.call("counter", "add", name="a", by=3)
    assert r2.lsn == r1.lsn + 1
    assert r1.mutations == 1 and r1.timestamp > 0 and r1.cascade == () and r1.cascade_error is None
    assert db.table("counter", "counters")["a"] == {"name": "a", "value": 5}
    assert f"lsn={r1.lsn}" in repr(r1)


def test_positional_and_named_together_is_a_type_error(db):
    with pytest.raises(TypeError, match="either by position or by name"):
        db.call("counter", "add", "a", by=1)


def test_unencodable_argument_is_a_type_error(db):
    with pytest.raises(TypeError, match="cannot pass a set"):
        db.call("counter", "add", {1}, 2)
    with pytest.raises(TypeError, match="cannot pass a object"):
        db.call("counter", "add", object(), 2)


def test_bad_names(db):
    with pytest.raises(TypeError, match="module must be a str"):
        db.call(b"counter", "add")
    with pytest.raises(TypeError, match="reducer must be a str"):
        db.call("counter", 5)
    with pytest.raises(ValueError, match="non-empty"):
        db.call("", "add")


def test_no_argument_reducer(db):
    r = db.call("noop", "noop")
    assert r.mutations == 0 and r.lsn == db.last_lsn


def test_failed_call_changes_nothing(db):
    db.call("counter", "add", "a", 1)
    before = db.last_lsn
    with pytest.raises(interstice.ReducerError):
        db.call("counter", "reset", "missing")
    assert db.last_lsn == before
    assert list(db.table("counter", "counters")) == [{"name": "a", "value": 1}]


def test_cascade_and_cascade_error(db):
    r = db.call("alltypes", "put_ikey", 7, "seven")
    (run,) = r.cascade
    assert (run.module, run.reducer, run.depth, run.error) == ("alltypes", "on_insert_alltypes_ikeys", 1, None)
    assert run.lsn == r.lsn + 1 and r.cascade_error is None
    assert db.table("alltypes", "bkeys")[b"seven"] == {"k": b"seven", "v": 7}
    r = db.call("alltypes", "put_ikey", 8, "refuse")  # the subscriber fails; the call does not
    assert r.cascade[0].lsn == 0 and "alltypes: refused" in r.cascade[0].error
    assert "alltypes: refused" in r.cascade_error
    assert db.table("alltypes", "ikeys")[8] == {"k": 8, "v": "refuse"}


def test_non_finite_floats_and_bytes_travel_as_json(db):
    db.call("alltypes", "put", 1, True, 1, 2, 3, 4, float("inf"), float("nan"), "s", b"\x00\xff", None,
            [], [], [], [b"", b"\x01"], float("-inf"))
    row = db.table("alltypes", "vals")[1]
    assert row["f32"] == math.inf and math.isnan(row["f64"]) and row["of"] == -math.inf
    assert row["by"] == b"\x00\xff" and row["lb"] == [b"", b"\x01"]


def test_call_with_deadline_disabled(open_db):
    db = open_db(None, "counter", call_deadline_ms=None)
    assert db.call("counter", "add", "x", 1).mutations == 1
