"""Each error class is raised by the failure it names, with the library's message."""

import shutil

import pytest

import interstice
from conftest import VECTORS, wasm_path


def test_not_found(db):
    with pytest.raises(interstice.NotFoundError) as ei:
        db.call("counter", "nope")
    assert ei.value.code == 2 and "nope" in ei.value.message
    with pytest.raises(interstice.NotFoundError):
        db.call("nomodule", "x")
    with pytest.raises(interstice.NotFoundError):
        db.table("counter", "nonexistent")
    with pytest.raises(interstice.NotFoundError):
        db.describe("nomodule")


def test_reducer_error_carries_the_modules_message(db):
    with pytest.raises(interstice.ReducerError) as ei:
        db.call("alltypes", "fail", "my own words")
    e = ei.value
    assert e.code == 12 and e.name == "INTERSTICE_E_REDUCER_FAILED"
    assert e.reducer_message == "my own words" and (e.module, e.reducer) == ("alltypes", "fail")
    assert e.guest_message == "my own words"


def test_reducer_error_says_each_fact_once(db):
    with pytest.raises(interstice.ReducerError) as ei:
        db.call("counter", "reset", "nobody")
    e = ei.value
    assert e.guest_message == 'no counter "nobody"' and (e.module, e.reducer) == ("counter", "reset")
    assert e.message.startswith('no counter "nobody" (module counter, reducer reset)')
    assert "reducer failed" not in e.message and "core:" not in e.message


def test_missing_argument_named(db):
    with pytest.raises(interstice.TypeMismatchError) as ei:
        db.call("counter", "add", name="a")
    e = ei.value
    assert e.message == 'add(name string, by i64): missing argument "by" (i64) (module counter)'
    assert e.guest_message is None


def test_trap_rolls_back(open_db):
    db = open_db(None, "trapper")
    rows = db.table("trapper", "rows")
    with pytest.raises(interstice.TrapError):
        db.call("trapper", "insert3_trap", 10)
    assert len(rows) == 0


def test_duplicate_key(open_db):
    db = open_db(None, "trapper")
    db.call("trapper", "insert_one", 1)
    with pytest.raises((interstice.DuplicateKeyError, interstice.ReducerError)) as ei:
        db.call("trapper", "insert_dup", 1)
    assert ei.value.code in (8, 12)
    assert "duplicate" in ei.value.message


def test_timeout_is_a_call_timeout_error_and_a_builtin_timeout(open_db):
    db = open_db(None, "limits", call_deadline_ms=200)
    with pytest.raises(TimeoutError) as ei:
        db.call("limits", "spin_after_insert", 5)
    assert isinstance(ei.value, interstice.CallTimeoutError) and ei.value.code == 4
    assert len(db.table("limits", "blobs")) == 0  # rolled back


def test_limit(open_db):
    db = open_db(None, "limits", memory_limit_pages=64)
    with pytest.raises(interstice.LimitError) as ei:
        db.call("limits", "grow", 32)
    assert ei.value.code == 5


def test_type_mismatch(db):
    with pytest.raises(interstice.TypeMismatchError) as ei:
        db.call("counter", "add", "a", "not a number")
    assert ei.value.code == 9
    with pytest.raises(interstice.TypeMismatchError):
        db.call("counter", "add", "a")  # too few arguments


def test_bad_argument_from_the_library(db):
    with pytest.raises(interstice.BadArgumentError) as ei:
        db.call_bytes("counter", "add", b"\x01\x02\x03")
    assert ei.value.code == 1


def test_closed(open_db):
    db = open_db(None, "counter")
    t = db.table("counter", "counters")
    db.close()
    for f in (lambda: db.call("counter", "add", "a", 1), lambda: t.get("a"), lambda: len(t),
              lambda: db.modules, lambda: db.last_lsn, lambda: db.load_module(b"\0asm")):
        with pytest.raises(interstice.ClosedError):
            f()


def test_unsupported_snapshot_in_memory(db):
    with pytest.raises(interstice.UnsupportedError) as ei:
        db.snapshot()
    assert ei.value.code == 14


def test_invalid_module(db):
    with pytest.raises(interstice.ModuleError) as ei:
        db.load_module(b"this is not webassembly")
    assert ei.value.code == 16


def test_incompatible_same_name_and_version_other_code(open_db):
    db = open_db(None, "counter")
    with pytest.raises(interstice.IncompatibleError) as ei:
        db.load_module(wasm_path("readonly_trap"))  # module counter 1.0.0, other code
    assert ei.value.code == 15


def test_cycle(open_db):
    db = open_db(None, "caller", "callee")
    with pytest.raises((interstice.CycleError, interstice.ReducerError)) as ei:
        db.call("caller", "call_cycle", 1)
    assert "cycle" in ei.value.message or ei.value.code == 13


def test_locked(tmp_path, open_db):
    open_db(tmp_path / "d")
    with pytest.raises(interstice.LockedError) as ei:
        interstice.open(tmp_path / "d")
    assert ei.value.code == 28


def test_read_only(tmp_path, open_db):
    open_db(tmp_path / "d", "counter").close()
    ro = open_db(tmp_path / "d", recovery="read_only")
    with pytest.raises(interstice.ReadOnlyError) as ei:
        ro.call("counter", "add", "a", 1)
    assert ei.value.code == 24


def test_busy_from_inside_a_callback(db):
    seen = []

    def cb(ev):
        try:
            db.call("counter", "add", "other", 1)
        except interstice.BusyError as e:
            seen.append(e.code)

    db.subscribe("counter", "counters", on_insert=cb)
    db.call("counter", "add", "a", 1)
    assert seen == [27]


def test_corrupt_and_torn_tail(tmp_path):
    with interstice.Log(VECTORS / "corrupt_middle" / "log", recovery="read_only") as lg:
        with pytest.raises(interstice.CorruptLogError) as ei:
            list(lg.replay())
        assert ei.value.code == 20 and "00000000000000000005.log" in ei.value.message
    shutil.copytree(VECTORS / "torn_tail" / "log", tmp_path / "torn")
    with pytest.raises(interstice.TornTailError) as ei:
        interstice.Log(tmp_path / "torn", recovery="strict")
    assert ei.value.code == 21


def test_compacted(tmp_path, open_db):
    db = open_db(tmp_path / "d", "counter", segment_size=1024, retain_segments=1, keep_snapshots=1)
    for i in range(40):
        db.call("counter", "add", f"name-{i}", i)
    db.snapshot()
    for i in range(40):
        db.call("counter", "add", f"name-{i}", i)
    db.snapshot()
    db.close()
    with interstice.Log(tmp_path / "d" / "log", recovery="read_only") as lg:
        assert lg.first_lsn > 1
        with pytest.raises(interstice.CompactedError) as ei:
            list(lg.replay(from_lsn=1))
        assert ei.value.code == 26
        assert [r.lsn for r in lg.replay(from_lsn=lg.first_lsn)][0] == lg.first_lsn


def test_io_error_on_a_file_where_a_directory_should_be(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(interstice.IntersticeError) as ei:
        interstice.Log(f / "sub")
    assert ei.value.code in (22, 1)
