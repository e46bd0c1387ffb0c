"""Database.load_module, .modules and .describe."""

import hashlib

import pytest

import interstice
from conftest import wasm_path


def test_load_from_path_and_from_bytes(open_db):
    db = open_db(None)
    assert db.load_module(wasm_path("counter")) == "counter"
    assert db.load_module(str(wasm_path("noop"))) == "noop"
    data = wasm_path("alltypes").read_bytes()
    assert db.load_module(data) == "alltypes"
    assert db.load_module(bytearray(data)) == "alltypes"  # same code again: a no-op
    mods = db.modules
    assert [m.name for m in mods] == ["counter", "noop", "alltypes"]
    assert mods[2].wasm_sha256 == hashlib.sha256(data).hexdigest()
    assert all(m.version == "1.0.0" for m in mods)


def test_load_misuse(open_db):
    db = open_db(None)
    with pytest.raises(TypeError, match="wasm must be bytes or a path"):
        db.load_module(123)
    with pytest.raises(ValueError, match="empty"):
        db.load_module(b"")
    with pytest.raises(interstice.NotFoundError):
        db.load_module("/nonexistent/file.wasm")


def test_describe(db):
    s = db.describe("counter")
    assert s["name"] == "counter" and s["version"] == "1.0.0"
    (t,) = s["tables"]
    assert t["name"] == "counters" and t["primary_key"] == "name" and t["public"] is True
    assert [(c["name"], c["type"]) for c in t["columns"]] == [("name", "string"), ("value", "i64")]
    assert [r["name"] for r in s["reducers"]] == ["add", "reset", "remove"]
    types = {c["name"]: c["type"] for c in db.describe("alltypes")["tables"][0]["columns"]}
    assert types["ll"] == "list<list<i32>>" and types["opt"] == "string?" and types["ls"] == "list<string?>"
    with pytest.raises(TypeError):
        db.describe(None)


def test_load_logs_a_transaction(open_db, tmp_path):
    db = open_db(tmp_path / "d")
    assert db.last_lsn == 0
    db.load_module(wasm_path("counter"))
    assert db.last_lsn == 1
    db.load_module(wasm_path("counter"))
    assert db.last_lsn == 1  # no-op
