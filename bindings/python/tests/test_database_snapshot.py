"""Database.snapshot, .replay_stats, .log_stats, .last_lsn."""

import os

import interstice


def test_snapshot_then_reopen_loads_it(tmp_path, open_db):
    d = tmp_path / "d"
    db = open_db(d, "counter")
    for i in range(10):
        db.call("counter", "add", f"k{i}", i)
    lsn = db.snapshot()
    assert lsn == db.last_lsn == 11
    assert db.snapshot() == lsn  # nothing new: nothing written
    db.call("counter", "add", "after", 1)
    db.close()
    assert os.listdir(d / "snapshots")
    db2 = open_db(d)
    st = db2.replay_stats
    assert st["snapshot_lsn"] == lsn and st["snapshot_rows"] == 10 and st["records"] == 1
    assert st["mutations"] == 1 and st["duration_ns"] > 0 and st["snapshots_skipped"] == []
    assert len(db2.table("counter", "counters")) == 11


def test_log_stats_count_writes_and_syncs(tmp_path, open_db):
    db = open_db(tmp_path / "d", "counter")
    before = db.log_stats
    for i in range(3):
        db.call("counter", "add", "a", 1)
    after = db.log_stats
    assert set(after) == {"writes", "fdatasyncs", "records", "gathers"}
    assert after["records"] - before["records"] == 3
    assert after["fdatasyncs"] - before["fdatasyncs"] == 3  # sync=always, one caller


def test_log_stats_in_memory_are_zero(db):
    db.call("counter", "add", "a", 1)
    assert db.log_stats == {"writes": 0, "fdatasyncs": 0, "records": 0, "gathers": 0}


def test_last_lsn_counts_loads_and_calls(open_db):
    db = open_db(None)
    assert db.last_lsn == 0
    db.load_module(__import__("conftest").wasm_path("noop"))
    assert db.call("noop", "noop").lsn == db.last_lsn == 1  # changed nothing: no new LSN
    db.call("noop", "insert", 1, "x", 2)
    assert db.last_lsn == 2


def test_automatic_snapshots(tmp_path, open_db):
    d = tmp_path / "d"
    db = open_db(d, "counter", snapshot_every=5)
    for i in range(12):
        db.call("counter", "add", "a", 1)
    db.close()
    st = open_db(d).replay_stats
    assert st["snapshot_lsn"] >= 5 and st["last_snapshot_error"] is None
