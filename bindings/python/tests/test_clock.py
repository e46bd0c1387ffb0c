"""open(clock=...): the time transactions are stamped with."""

import time

import pytest

T = 1796256000000000000  # 2026-12-03T00:00:00Z in nanoseconds


def test_transactions_carry_the_system_time_by_default(open_db):
    db = open_db(None, "noop")
    before = time.time_ns()
    res = db.call("noop", "insert", 1, "a", 1)
    assert before <= res.timestamp <= time.time_ns()


def test_an_injected_clock_stamps_transactions_strictly_increasing(open_db, tmp_path):
    reads = []

    def clock():
        reads.append(1)
        return T  # stands still: the runtime makes the stamps increase
    db = open_db(tmp_path / "d", "noop", clock=clock)  # the load is stamped T
    assert [db.call("noop", "insert", i, "x", i).timestamp for i in (1, 2)] == [T + 1, T + 2]
    assert len(reads) >= 3
    events = []
    db.subscribe("noop", "kv", on_insert=lambda ev: events.append(ev.timestamp))
    db.call("noop", "insert", 3, "y", 3)
    assert events == [T + 3]
    db.close()
    # the log keeps the stamps, and a reopen continues above them
    with __import__("interstice").open(tmp_path / "d", clock=lambda: 5) as db2:
        assert db2.call("noop", "insert", 4, "z", 4).timestamp == T + 4


def test_a_clock_that_raises_or_returns_no_int(open_db):
    answer = [T]

    def clock():
        if isinstance(answer[0], Exception):
            raise answer[0]
        return answer[0]
    db = open_db(None, "noop", clock=clock)
    answer[0] = RuntimeError("clock broken")
    before = time.time_ns()
    with pytest.raises(RuntimeError, match="clock broken") as info:
        db.call("noop", "insert", 1, "a", 1)
    assert "committed" in "".join(getattr(info.value, "__notes__", [""]))
    assert db.table("noop", "kv")[1]["name"] == "a"  # it committed, with the system time
    answer[0] = "soon"
    with pytest.raises(TypeError, match="clock must return an int"):
        db.call("noop", "insert", 2, "b", 2)
    answer[0] = T
    assert db.call("noop", "insert", 3, "c", 3).timestamp > before  # above the system time the last took
    with pytest.raises(TypeError, match="clock must be callable"):
        open_db(None, clock=5)
