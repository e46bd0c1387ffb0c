"""Property tests: values of every type round-trip through calls, reads, rows and records."""

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import interstice
from interstice._values import go_float

TYPES = ["u64", "bool", "u32", "u64", "i32", "i64", "f32", "f64", "string", "bytes", "string?",
         "list<i64>", "list<string?>", "list<list<i32>>", "list<bytes>", "f64?"]
COLS = ["id", "b", "u32", "u64", "i32", "i64", "f32", "f64", "s", "by", "opt", "li", "ls", "ll", "lb", "of"]

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
i32 = st.integers(-(2**31), 2**31 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
f32 = st.floats(width=32, allow_nan=False)
f64 = st.floats(allow_nan=False)
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
blob = st.binary(max_size=40)
SET = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

rows = st.tuples(u64, st.booleans(), u32, u64, i32, i64, f32, f64, text, blob, st.none() | text,
                 st.lists(i64, max_size=5), st.lists(st.none() | text, max_size=5),
                 st.lists(st.lists(i32, max_size=3), max_size=3), st.lists(blob, max_size=3),
                 st.none() | f64)


def same(a, b):
    # -0.0 reads back as 0.0: FlatBuffers builders (Go's in the core, Python's here) omit a
    # field equal to its default, and -0.0 == 0.0. Every other float is bit-exact.
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@pytest.fixture(scope="module")
def tdb(cache_dir):
    db = interstice.open(compilation_cache_dir=cache_dir)
    db.load_module(__import__("conftest").wasm_path("alltypes"))
    yield db
    db.close()


@SET
@given(rows)
def test_every_type_round_trips_through_a_json_call_and_a_get(tdb, row):
    tdb.call("alltypes", "put", *row)
    got = tdb.table("alltypes", "vals").get(row[0])
    assert list(got) == COLS
    assert same(list(got.values()), list(row)), (got, row)


@SET
@given(rows)
def test_every_type_round_trips_through_a_flatbuffers_call_and_a_scan_event(tdb, row):
    events = []
    with tdb.subscribe("alltypes", "vals", on_insert=events.append, on_update=events.append):
        tdb.call_bytes("alltypes", "put", interstice.encode_row(list(row), TYPES))
    assert same(list(events[-1].new.values()), list(row))
    got = tdb.table("alltypes", "vals")[row[0]]
    assert same(list(got.values()), list(row))


@SET
@given(st.one_of(st.binary(min_size=1, max_size=20), st.binary(max_size=0)), i64)
def test_bytes_keys(tdb, key, v):
    tdb.call("alltypes", "put_bkey", key, v)
    assert tdb.table("alltypes", "bkeys")[key] == {"k": key, "v": v}


@settings(max_examples=200, deadline=None)
@given(rows)
def test_encode_row_decode_row_is_identity(row):
    assert same(interstice.decode_row(interstice.encode_row(list(row), TYPES)), list(row))


@settings(max_examples=150, deadline=None)
@given(rows, st.sampled_from(["Insert", "Update", "Delete"]), text, st.integers(0, 2**64 - 1))
def test_python_canonical_json_equals_the_librarys(row, op, name, ts):
    r = interstice.encode_row(list(row), TYPES)
    payload = interstice.encode_transaction(kind="Reducer", module=name, reducer="put", timestamp=ts, args=r,
                                            mutations=[(op, "alltypes", "vals", r, None), ("Delete", "m", "t", None, r)])
    assert interstice.Record.from_payload(payload).to_json() == interstice.record_to_json(payload)


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32))
def test_f32_formatting_matches_go(x):
    payload = interstice.encode_transaction(args=interstice.encode_row([x], ["f32"]))
    want = interstice.record_to_json(payload)
    assert interstice.Record.from_payload(payload).to_json() == want


@pytest.mark.parametrize("x,want", [(0.0, "0"), (-0.0, "-0"), (100.0, "100"), (123456.0, "123456"),
                                    (1234567.0, "1.234567e+06"), (1e21, "1e+21"), (0.0001, "0.0001"),
                                    (0.00001, "1e-05"), (1e-300, "1e-300"), (5e-324, "5e-324"),
                                    (float("inf"), '"Infinity"'), (float("nan"), '"NaN"')])
def test_go_float_formatting(x, want):
    assert go_float(x) == want


def test_strings_are_escaped_as_go_does():
    s = "a\b\f\u2028<>&\x7f\x01\u00e9\U0001f389"
    payload = interstice.encode_transaction(args=interstice.encode_row([s], ["string"]))
    assert interstice.Record.from_payload(payload).to_json() == interstice.record_to_json(payload)


@pytest.mark.parametrize("values,types,exc", [
    ([1.5], ["i64"], TypeError), ([True], ["i64"], TypeError), ([2**64], ["u64"], ValueError),
    ([-1], ["u32"], ValueError), ([1], ["string"], TypeError), (["x"], ["bytes"], TypeError),
    ([None], ["i64"], ValueError), ([1e39], ["f32"], ValueError), ([[1, "x"]], ["list<i64>"], TypeError),
    ([1], ["i64", "i64"], ValueError), ([1], ["int"], ValueError), ([1], ["bool"], TypeError),
])
def test_encode_row_refuses_values_that_do_not_fit(values, types, exc):
    with pytest.raises(exc):
        interstice.encode_row(values, types)


def test_parse_type_notation():
    t = interstice.parse_type("list<string?>?")
    assert t.optional and t.elem.optional and str(t) == "list<string?>?"
    assert str(interstice.parse_type("u64")) == "u64"
