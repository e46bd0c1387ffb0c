"""Table.get, [], in: reads by primary key of every key type."""

import pytest

import interstice


def test_get_by_string_key(db):
    t = db.table("counter", "counters")
    assert t.get("a") is None and t.get("a", 0) == 0
    db.call("counter", "add", "a", 4)
    assert t.get("a") == {"name": "a", "value": 4}
    assert t["a"]["value"] == 4 and "a" in t and "b" not in t
    with pytest.raises(KeyError):
        t["b"]
    assert t.columns == ["name", "value"] and t.primary_key == "name"
    assert "counter.counters" in repr(t)


def test_get_by_bytes_i64_and_u64_keys(db):
    db.call("alltypes", "put_bkey", b"\x00\xffk", -3)
    db.call("alltypes", "put_ikey", -(2**63), "min")
    db.call_bytes("alltypes", "work", interstice.encode_row([2**64 - 1, 10], ["u64", "u64"]))
    assert db.table("alltypes", "bkeys").get(b"\x00\xffk") == {"k": b"\x00\xffk", "v": -3}
    assert db.table("alltypes", "ikeys").get(-(2**63))["v"] == "min"
    assert db.table("alltypes", "vals").get(2**64 - 1)["id"] == 2**64 - 1


def test_wrong_key_type_is_refused_before_the_library(db):
    t = db.table("counter", "counters")
    with pytest.raises(TypeError, match="int for string"):
        t.get(5)
    with pytest.raises(ValueError, match="out of range for u64"):
        db.table("alltypes", "vals").get(-1)
    with pytest.raises(ValueError, match="None for non-optional"):
        t.get(None)


def test_access_to_a_private_table_of_the_host_is_allowed(db):
    db.call("noop", "insert", 1, "one", -1)  # kv is private to the module, the host reads it
    assert db.table("noop", "kv")[1] == {"id": 1, "name": "one", "value": -1}


def test_rows_are_keyed_by_the_schemas_column_names(db):
    cols = [c["name"] for c in db.describe("alltypes")["tables"][0]["columns"]]
    db.call("alltypes", "work", 3, 5)
    t = db.table("alltypes", "vals")
    assert t.columns == cols and list(t[3]) == cols and t.primary_key == "id"
