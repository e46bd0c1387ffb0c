"""The golden vectors of tests/vectors, read as the C reader reads them.

Each record is decoded by the generated interstice.fb classes (official
flatbuffers runtime) and rendered to canonical JSON by Record.to_json; it must
equal expected.jsonl byte for byte, and the library's own rendering too.
"""

import json

import pytest

import interstice
from conftest import VECTORS

# The vectors this build writes (segment format 2), then the frozen ones of
# format 1 (tests/vectors/vectors.go).
NAMES = ["basic", "torn_tail", "corrupt_middle", "torn_batch", "basic_v1", "torn_tail_v1", "corrupt_middle_v1"]


@pytest.mark.parametrize("name", NAMES)
def test_vector_replays_to_the_expected_json(name):
    expected = (VECTORS / name / "expected.jsonl").read_text().splitlines()
    got = []
    with interstice.Log(VECTORS / name / "log", recovery="read_only") as lg:  # never modifies the fixture
        it = lg.replay()
        if name.startswith("corrupt_middle"):
            with pytest.raises(interstice.CorruptLogError) as ei:
                for rec in it:
                    got.append(rec)
            assert "00000000000000000005.log" in ei.value.message
        else:
            got = list(it)
    assert [r.to_json() for r in got] == expected
    assert [interstice.record_to_json(r.payload) for r in got] == expected
    assert [r.lsn for r in got] == list(range(1, len(expected) + 1))


@pytest.mark.parametrize("name", NAMES)
def test_vector_validates_as_expected(name):
    want = json.loads((VECTORS / name / "expected_validate.json").read_text())
    rep = interstice.validate(VECTORS / name / "log")
    assert (rep.records, rep.first_lsn, rep.last_lsn, rep.segments) == (
        want["records"], want["first_lsn"], want["last_lsn"], want["segments"])
    assert rep.torn_tail == want["torn_tail"]
    if want["torn"]:
        assert (rep.torn.segment, rep.torn.offset, rep.torn.lsn) == (
            want["torn"]["segment"], want["torn"]["offset"], want["torn"]["lsn"])
        assert rep.torn.reason
    else:
        assert rep.torn is None
    if want["problem"]:
        assert (rep.problem.segment, rep.problem.offset, rep.problem.lsn) == (
            want["problem"]["segment"], want["problem"]["offset"], want["problem"]["lsn"])
        assert rep.problem_code == interstice.CorruptLogError.status and not rep.ok
    else:
        assert rep.problem is None and rep.problem_code == 0
    assert rep.ok == (not want["torn_tail"] and not want["problem"])


def test_basic_vector_decodes_to_typed_python_values():
    with interstice.Log(VECTORS / "basic" / "log", recovery="read_only") as lg:
        recs = {r.lsn: r for r in lg.replay()}
    load = recs[1]
    assert load.kind == "ModuleLoad" and load.module_record.name == "counter"
    assert load.module_record.wasm_sha256.hex().startswith("101112")
    m = recs[4].mutations[0]
    assert (m.op, m.module, m.table, m.row, m.old_row) == ("Update", "counter", "counters", ["alice", -2], ["alice", 5])
    assert recs[5].mutations[0].row[6] == 2**64 - 1
    assert recs[8].mutations[0].row[2] == bytes.fromhex("deadbeef")
    assert recs[9].mutations[0].row[3] == ["a", None, "c"]
    assert recs[11].kind == "External" and recs[11].args == ["written through the standalone log API"]
    assert recs[12].mutations[0].row is None
    assert recs[3].transaction.Lsn() == 3  # the generated class itself


def test_replay_from_an_lsn():
    with interstice.Log(VECTORS / "basic" / "log", recovery="read_only") as lg:
        assert [r.lsn for r in lg.replay(from_lsn=13)] == [13, 14, 15]
        assert [lsn for lsn, _ in lg.replay_payloads(from_lsn=15)] == [15]


def test_inspect_counts():
    doc = interstice.inspect(VECTORS / "basic" / "log")
    assert doc["records"] == 15 and len(doc["segments"]) == 6
    assert doc["by_kind"]["ModuleLoad"] == 3 and doc["by_kind"]["External"] == 1
