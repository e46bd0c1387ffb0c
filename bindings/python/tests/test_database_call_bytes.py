"""Database.call_bytes: FlatBuffers arguments, the LSN back."""

import pytest

import interstice

TYPES = ["u64", "bool", "u32", "u64", "i32", "i64", "f32", "f64", "string", "bytes", "string?",
         "list<i64>", "list<string?>", "list<list<i32>>", "list<bytes>", "f64?"]


def test_call_bytes_returns_the_lsn(db):
    args = interstice.encode_row(["a", 5], ["string", "i64"])
    lsn = db.call_bytes("counter", "add", args)
    assert isinstance(lsn, int) and lsn == db.last_lsn
    assert db.table("counter", "counters")["a"]["value"] == 5
    # noop changes nothing: no record, the LSN stays (the state it ran against)
    assert db.call_bytes("noop", "noop") == lsn
    assert db.call_bytes("noop", "noop", bytearray()) == lsn == db.last_lsn
    assert db.call_bytes("counter", "add", args) == lsn + 1


def test_every_type_through_call_bytes(db):
    vals = [9, False, 2**32 - 1, 2**64 - 1, -2**31, 2**63 - 1, 0.5, -1e300, "ü", b"\x00", "o",
            [-1, 2], [None, "x"], [[], [-7]], [b"z"], None]
    db.call_bytes("alltypes", "put", interstice.encode_row(vals, TYPES))
    row = db.table("alltypes", "vals")[9]
    assert list(row.values()) == vals


def test_wrong_arguments(db):
    with pytest.raises(TypeError, match="encoded Row"):
        db.call_bytes("counter", "add", "not bytes")
    with pytest.raises(interstice.TypeMismatchError):
        db.call_bytes("counter", "add", interstice.encode_row([1, 2], ["i64", "i64"]))
