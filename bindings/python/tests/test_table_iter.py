"""Iterating a Table: every row, in key order, streamed in chunks."""

import pytest

import interstice


def fill(db, n):
    for i in range(n):
        db.call_bytes("noop", "insert", interstice.encode_row([i, f"n{i}", -i], ["u64", "string", "i64"]))


def test_iteration_yields_every_row_in_key_order(db):
    fill(db, 700)
    t = db.table("noop", "kv")
    rows = list(t)
    assert [r["id"] for r in rows] == list(range(700))
    assert rows[5] == {"id": 5, "name": "n5", "value": -5}
    assert len(t) == t.count() == 700


def test_scan_fetches_chunks_not_one_list(db, monkeypatch):
    fill(db, 50)
    from interstice import _ffi
    calls = []
    real = _ffi.lib.interstice_scan_next_chunk

    class Spy:
        def __getattr__(self, name):
            return getattr(_ffi.lib, name)

        def interstice_scan_next_chunk(self, it, rows, nbytes, *rest):
            calls.append(rows)
            return real(it, rows, nbytes, *rest)

    import interstice.database as dbm
    monkeypatch.setattr(dbm, "lib", Spy())
    it = db.table("noop", "kv").scan(chunk_rows=8)
    first = next(it)
    assert first["id"] == 0 and len(calls) == 1  # one chunk fetched so far
    rest = list(it)
    assert len(rest) == 49 and calls == [8] * 8  # 7 full chunks, 1 partial, then the end


def test_scan_with_a_byte_limit_and_empty_table(db):
    fill(db, 20)
    assert len(list(db.table("noop", "kv").scan(chunk_rows=1000, chunk_bytes=1))) == 20
    assert list(db.table("counter", "counters")) == []


def test_scan_sees_each_key_once_while_rows_change(db):
    fill(db, 300)
    seen = []
    for i, r in enumerate(db.table("noop", "kv").scan(chunk_rows=16)):
        seen.append(r["id"])
        if i == 10:
            fill_more = interstice.encode_row([10_000, "late", 0], ["u64", "string", "i64"])
            db.call_bytes("noop", "insert", fill_more)
    assert seen == sorted(set(seen)) and set(range(300)) <= set(seen)


def test_scan_close_early_and_after_database_close(open_db):
    db = open_db(None, "noop")
    fill(db, 30)
    it = db.table("noop", "kv").scan(chunk_rows=4)
    next(it)
    it.close()
    assert list(it) == []
    it2 = db.table("noop", "kv").scan(chunk_rows=4)
    next(it2)
    db.close()
    with pytest.raises(interstice.ClosedError):
        list(it2)


def test_bad_chunk_sizes(db):
    with pytest.raises(ValueError):
        db.table("noop", "kv").scan(chunk_rows=0)
    with pytest.raises(TypeError):
        db.table("noop", "kv").scan(chunk_rows="8")
