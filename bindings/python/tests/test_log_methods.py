"""interstice.Log: append, append_json, append_batch, sync, rotate, LSNs, replay, validate, inspect, repair."""

import os
import shutil

import pytest

import interstice
from conftest import VECTORS


def tx(note: str, ts: int = 0) -> bytes:
    return interstice.encode_transaction(module="host", reducer="note", timestamp=ts,
                                         args=interstice.encode_row([note], ["string"]))


def test_append_and_replay_round_trip(tmp_path):
    with interstice.Log(tmp_path / "l") as lg:
        assert (lg.first_lsn, lg.last_lsn) == (0, 0)
        assert lg.append(tx("one", 5)) == 1
        assert lg.append(bytearray(tx("two", 6))) == 2
        assert (lg.first_lsn, lg.last_lsn) == (1, 2)
        recs = list(lg.replay())
    assert [(r.lsn, r.timestamp, r.args, r.kind) for r in recs] == [(1, 5, ["one"], "External"), (2, 6, ["two"], "External")]
    with interstice.Log(tmp_path / "l") as lg:  # reopen
        assert lg.last_lsn == 2 and [r.args[0] for r in lg.replay()] == ["one", "two"]


def test_append_batch(tmp_path):
    with interstice.Log(tmp_path / "l") as lg:
        before = lg.stats
        assert lg.append_batch([tx("a"), tx("b"), tx("c")]) == 1
        after = lg.stats
        assert after["records"] - before["records"] == 3
        assert after["fdatasyncs"] - before["fdatasyncs"] == 1  # one write, one fdatasync
        assert lg.append_batch([]) == 0
        assert [r.args[0] for r in lg.replay()] == ["a", "b", "c"]
        with pytest.raises(interstice.BadArgumentError) as ei:
            lg.append_batch([tx("d"), b"garbage!"])
        assert "1" in ei.value.message  # names the malformed index
        assert lg.last_lsn == 3  # nothing appended
        with pytest.raises(ValueError):
            lg.append_batch([b""])


def test_append_json(tmp_path):
    with interstice.Log(tmp_path / "l") as lg:
        lsn = lg.append_json({"kind": "Reducer", "module": "m", "reducer": "r", "timestamp": 3, "args": [1, "x", 2.5],
                              "mutations": [{"op": "Insert", "module": "m", "table": "t", "row": [1, True]}]})
        lg.append_json('{"module":"m2"}')
        lg.append_json(b'{"module":"m3"}')
        (r, r2, r3) = list(lg.replay())
    assert lsn == 1 and r.kind == "Reducer" and r.args == [1, "x", 2.5] and r.mutations[0].row == [1, True]
    assert r.to_json() == ('{"lsn":1,"timestamp":3,"kind":"Reducer","module":"m","reducer":"r","args":[1,"x",2.5],'
                           '"mutations":[{"op":"Insert","module":"m","table":"t","row":[1,true],"old_row":null}]}')
    assert r2.kind == "External" and r3.module == "m3"
    with interstice.Log(tmp_path / "l2") as lg:
        with pytest.raises(interstice.BadArgumentError, match="kind"):
            lg.append_json({"kind": "Nope"})
        with pytest.raises(TypeError):
            lg.append_json(5)


def test_append_misuse(tmp_path):
    with interstice.Log(tmp_path / "l") as lg:
        with pytest.raises(TypeError):
            lg.append("text")
        with pytest.raises(ValueError):
            lg.append(b"")
        with pytest.raises(interstice.BadArgumentError):
            lg.append(b"not a transaction at all")


def test_sync_rotate_and_segments(tmp_path):
    with interstice.Log(tmp_path / "l", sync="none", segment_size=4096) as lg:
        for i in range(5):
            lg.append(tx(f"n{i}"))
        lg.sync()
        lg.rotate()
        lg.append(tx("after"))
        rep = lg.validate()
        assert rep.segments == 2 and rep.records == 6 and rep.ok
    assert len([f for f in os.listdir(tmp_path / "l") if f.endswith(".log")]) == 2


def test_interval_sync_and_options(tmp_path):
    with interstice.Log(tmp_path / "l", sync="interval", sync_interval_ms=5, retain_segments=3) as lg:
        lg.append(tx("x"))
    with pytest.raises(ValueError, match="sync must be one of"):
        interstice.Log(tmp_path / "m", sync="never")
    with pytest.raises(ValueError, match="segment_size"):
        interstice.Log(tmp_path / "m", segment_size=10)


def test_read_only_log_refuses_appends(tmp_path):
    with interstice.Log(tmp_path / "l") as lg:
        lg.append(tx("x"))
    with interstice.Log(tmp_path / "l", recovery="read_only") as lg:
        with pytest.raises(interstice.ReadOnlyError):
            lg.append(tx("y"))
        assert lg.last_lsn == 1


def test_one_writer_per_directory(tmp_path):
    with interstice.Log(tmp_path / "l"):
        with pytest.raises(interstice.LockedError):
            interstice.Log(tmp_path / "l")
        with pytest.raises(interstice.LockedError):
            interstice.repair(tmp_path / "l")


def test_close_is_idempotent_and_use_after_close_raises(tmp_path):
    lg = interstice.Log(tmp_path / "l")
    lg.close()
    lg.close()
    assert lg.closed and "closed" in repr(lg)
    for f in (lambda: lg.append(tx("x")), lambda: lg.last_lsn, lambda: list(lg.replay()), lg.sync, lg.rotate):
        with pytest.raises(interstice.ClosedError):
            f()


def test_validate_inspect_repair_on_a_torn_copy(tmp_path):
    d = tmp_path / "torn"
    shutil.copytree(VECTORS / "torn_tail" / "log", d)
    rep = interstice.Log.validate(d)
    assert rep.torn_tail and rep.torn.lsn == 16 and not rep.ok
    doc = interstice.inspect(d)
    assert doc["torn_tail"] is True and doc["records"] == 15
    fixed = interstice.repair(d)
    assert fixed["action"] == "truncated torn tail" and fixed["broken_files"] and fixed["last_lsn"] == 15
    assert any(f.endswith(".broken") for f in os.listdir(d))
    assert interstice.validate(d).ok
    assert interstice.repair(d)["action"] == "none"


def test_repair_at_corruption_keeps_the_bytes(tmp_path):
    d = tmp_path / "c"
    shutil.copytree(VECTORS / "corrupt_middle" / "log", d)
    fixed = interstice.repair(d)
    assert fixed["action"] == "truncated at corruption" and fixed["last_lsn"] == 4
    assert fixed["problem"]["segment"] == "00000000000000000005.log"
    with interstice.Log(d) as lg:
        assert lg.last_lsn == 4
        assert lg.inspect()["records"] == 4


def test_open_truncates_a_torn_tail_by_default(tmp_path):
    d = tmp_path / "t"
    shutil.copytree(VECTORS / "torn_tail" / "log", d)
    with interstice.Log(d) as lg:
        assert lg.last_lsn == 15
        assert lg.append(tx("next")) == 16


def test_missing_directory(tmp_path):
    with pytest.raises(interstice.NotFoundError):
        interstice.validate(tmp_path / "nope")
