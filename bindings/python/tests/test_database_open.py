"""interstice.open: options, lifecycle, durability across reopen."""

import gc
import warnings

import pytest

import interstice


@pytest.mark.parametrize("opt,value,exc,words", [
    ("sync", "sometimes", ValueError, "sync must be one of 'always', 'interval', 'none'"),
    ("sync", 0, TypeError, "sync must be a str"),
    ("recovery", "lenient", ValueError, "recovery must be one of 'truncate_tail', 'strict', 'read_only'"),
    ("sync_interval_ms", 0, ValueError, "sync_interval_ms must be in 1.."),
    ("segment_size", 100, ValueError, "segment_size must be in 1024..1073741824"),
    ("segment_size", "big", TypeError, "segment_size must be an int"),
    ("snapshot_every", -1, ValueError, "snapshot_every must be in 0.."),
    ("keep_snapshots", 0, ValueError, "keep_snapshots must be in 1.."),
    ("retain_segments", 1.5, TypeError, "retain_segments must be an int, not float"),
    ("call_deadline_ms", 0, ValueError, "call_deadline_ms must be in 1..86400000"),
    ("call_deadline_ms", True, TypeError, "call_deadline_ms must be an int, not bool"),
    ("memory_limit_pages", 0, ValueError, "memory_limit_pages must be in 1..65536"),
    ("compilation_cache_dir", 5, TypeError, "compilation_cache_dir must be a str or os.PathLike"),
    ("progress", "yes", TypeError, "progress must be callable"),
    ("log", 3, TypeError, "log must be callable, None or False"),
])
def test_bad_options_raise_before_the_library_runs(opt, value, exc, words):
    with pytest.raises(exc) as ei:
        interstice.open(None, **{opt: value})
    assert words in str(ei.value)


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError):
        interstice.open(None, synchronous="always")


def test_snapshot_policy_needs_a_path():
    with pytest.raises(ValueError, match="need a path"):
        interstice.open(None, snapshot_every=10)


def test_bad_path_type():
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        interstice.open(42)
    with pytest.raises(ValueError):
        interstice.open("")


def test_in_memory_database(open_db):
    db = open_db(None, "counter")
    assert db.path is None and not db.closed
    db.call("counter", "add", "a", 2)
    assert db.table("counter", "counters").get("a") == {"name": "a", "value": 2}
    assert db.replay_stats["durable"] is False
    assert "in memory" in repr(db) and "open" in repr(db)


def test_durable_database_replays_on_reopen(tmp_path, open_db):
    d = tmp_path / "data"
    db = open_db(d, "counter")
    assert db.path == str(d)
    for i in range(5):
        db.call("counter", "add", "hits", 1)
    last = db.last_lsn
    db.close()
    assert db.closed and "closed" in repr(db)
    events = []
    progress = []
    db2 = open_db(d, progress=lambda done, total: progress.append((done, total)))
    db2.subscribe("counter", "counters", on_insert=events.append, on_update=events.append)
    assert db2.table("counter", "counters")["hits"]["value"] == 5
    assert db2.last_lsn == last
    st = db2.replay_stats
    assert st["durable"] is True and st["records"] == last and st["last_lsn"] == last
    assert events == []  # replay fires no callback
    assert progress and progress[-1][0] == progress[-1][1] > 0
    assert [m.name for m in db2.modules] == ["counter"]  # modules come back with the state


def test_every_option_is_accepted(tmp_path, cache_dir):
    with interstice.open(tmp_path / "d", sync="interval", sync_interval_ms=5, recovery="strict",
                         segment_size=1 << 20, snapshot_every=1000, snapshot_every_bytes=1 << 20,
                         keep_snapshots=3, retain_segments=2, call_deadline_ms=None, memory_limit_pages=512,
                         compilation_cache_dir=cache_dir, progress=None, log=False) as db:
        assert db.log_stats["writes"] == 0


def test_context_manager_closes_and_never_swallows(open_db):
    with pytest.raises(KeyError):
        with interstice.open() as db:
            raise KeyError("inner")
    assert db.closed
    with interstice.open() as db2:
        pass
    assert db2.closed


def test_close_twice_is_harmless_and_enter_after_close_raises():
    db = interstice.open()
    db.close()
    db.close()
    with pytest.raises(interstice.ClosedError):
        with db:
            pass


def test_garbage_collected_database_is_closed_with_a_resource_warning(tmp_path):
    d = tmp_path / "d"
    db = interstice.open(d)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        del db
        gc.collect()
    assert any(issubclass(x.category, ResourceWarning) for x in w)
    interstice.open(d).close()  # the lock was released


def test_progress_callback_that_raises_fails_the_open(tmp_path, open_db):
    d = tmp_path / "d"
    db = open_db(d, "counter")
    db.call("counter", "add", "a", 1)
    db.close()

    def boom(done, total):
        raise RuntimeError("no progress wanted")

    with pytest.raises(RuntimeError, match="no progress wanted"):
        interstice.open(d, progress=boom)
    interstice.open(d).close()  # closed again: not locked


def test_strict_and_read_only_recovery(tmp_path, open_db):
    d = tmp_path / "d"
    open_db(d, "counter").close()
    ro = open_db(d, recovery="read_only")
    assert ro.replay_stats["read_only"] is True
    with pytest.raises(interstice.ReadOnlyError):
        ro.snapshot()
    ro.close()
    st = open_db(d, recovery="strict")
    assert st.last_lsn == 1


def test_sync_none_and_interval_still_commit(tmp_path, open_db):
    for sync in ("none", "interval"):
        d = tmp_path / sync
        db = open_db(d, "counter", sync=sync, sync_interval_ms=10)
        db.call("counter", "add", "a", 1)
        db.close()
        assert open_db(d).table("counter", "counters")["a"]["value"] == 1


def test_open_has_the_signature_of_database():
    """open() repeats Database's keywords for typing; they must not drift."""
    import inspect

    want = inspect.signature(interstice.Database.__init__).parameters
    got = inspect.signature(interstice.open).parameters
    assert list(got) == [p for p in want if p != "self"]
    for name, p in got.items():
        assert p.default == want[name].default, name
        assert p.kind == want[name].kind, name
