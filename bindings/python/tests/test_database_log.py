"""Guest log lines: the logging module by default, or a callback."""

import logging

import pytest

import interstice


def test_guest_lines_reach_logging(open_db, caplog):
    db = open_db(None, "alltypes")
    with caplog.at_level(logging.DEBUG, logger="interstice.guest"):
        db.call("alltypes", "say", interstice.LOG_ERROR, "hello")
    recs = [r for r in caplog.records if r.name == "interstice.guest"]
    got = [(r.levelno, r.getMessage(), r.guest_module) for r in recs]
    assert (logging.ERROR, "alltypes: hello", "alltypes") in got
    assert (logging.INFO, "alltypes: out: hello", "alltypes") in got  # stdout
    assert (logging.WARNING, "alltypes: err: hello", "alltypes") in got  # stderr
    assert recs[0].guest_level == interstice.LOG_ERROR


def test_a_log_callback_replaces_logging(open_db, caplog):
    lines = []
    db = open_db(None, "alltypes", log=lambda level, module, msg: lines.append((level, module, msg)))
    with caplog.at_level(logging.DEBUG, logger="interstice.guest"):
        db.call("alltypes", "say", interstice.LOG_DEBUG, "x")
    assert (interstice.LOG_DEBUG, "alltypes", "x") in lines
    assert (interstice.LOG_INFO, "alltypes", "out: x") in lines
    assert (interstice.LOG_WARN, "alltypes", "err: x") in lines
    assert not [r for r in caplog.records if r.name == "interstice.guest"]


def test_log_false_discards(open_db, caplog):
    db = open_db(None, "alltypes", log=False)
    with caplog.at_level(logging.DEBUG, logger="interstice.guest"):
        db.call("alltypes", "say", 1, "x")
    assert not [r for r in caplog.records if r.name == "interstice.guest"]


def test_log_callback_that_raises_surfaces_from_the_call(open_db):
    def bad(level, module, msg):
        raise RuntimeError("log sink broke")

    db = open_db(None, "alltypes", log=bad)
    with pytest.raises(RuntimeError, match="log sink broke") as ei:
        db.call("alltypes", "say", 1, "x")
    assert "committed" in " ".join(ei.value.__notes__)


def test_logs_of_module_load_and_counter_reset(open_db):
    lines = []
    db = open_db(None, log=lambda level, module, msg: lines.append((module, msg)))
    db.load_module(__import__("conftest").wasm_path("counter"))
    db.call("counter", "add", "a", 1)
    db.call("counter", "reset", "a")
    assert ("counter", "counter a reset") in lines
