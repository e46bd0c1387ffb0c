"""Database.subscribe: events, unsubscribe, callbacks that raise."""

import pytest

import interstice


def test_events_for_insert_update_delete(db):
    got = []
    sub = db.subscribe("counter", "counters", on_insert=got.append, on_update=got.append,
                       on_delete=got.append)
    r1 = db.call("counter", "add", "a", 1)
    db.call("counter", "add", "a", 2)
    db.call("counter", "remove", "a")
    assert [e.op for e in got] == ["insert", "update", "delete"]
    ins, upd, dele = got
    assert ins.new == {"name": "a", "value": 1} and ins.old is None and ins.lsn == r1.lsn
    assert upd.old == {"name": "a", "value": 1} and upd.new == {"name": "a", "value": 3}
    assert dele.old == {"name": "a", "value": 3} and dele.new is None and dele.row == dele.old
    assert ins.module == "counter" and ins.table == "counters" and ins.timestamp == r1.timestamp
    assert sub.active and sub.id is not None and "counter.counters" in repr(sub)


def test_only_the_subscribed_operations(db):
    got = []
    db.subscribe("counter", "counters", on_update=got.append)
    db.call("counter", "add", "a", 1)
    db.call("counter", "add", "a", 1)
    assert [e.op for e in got] == ["update"]


def test_unsubscribe_stops_events_and_is_idempotent(db):
    got = []
    sub = db.subscribe("counter", "counters", on_insert=got.append)
    db.call("counter", "add", "a", 1)
    sub.unsubscribe()
    sub.unsubscribe()
    db.call("counter", "add", "b", 1)
    assert len(got) == 1 and not sub.active and sub.id is None


def test_subscription_as_context_manager(db):
    got = []
    with db.subscribe("counter", "counters", on_insert=got.append):
        db.call("counter", "add", "a", 1)
    db.call("counter", "add", "b", 1)
    assert [e.new["name"] for e in got] == ["a"]


def test_unsubscribe_from_inside_its_callback(db):
    got = []
    holder = {}

    def once(ev):
        got.append(ev)
        holder["s"].unsubscribe()

    holder["s"] = db.subscribe("counter", "counters", on_insert=once)
    db.call("counter", "add", "a", 1)
    db.call("counter", "add", "b", 1)
    assert len(got) == 1


def test_subscribe_misuse(db):
    with pytest.raises(ValueError, match="at least one"):
        db.subscribe("counter", "counters")
    with pytest.raises(TypeError, match="on_insert must be callable"):
        db.subscribe("counter", "counters", on_insert=1)
    with pytest.raises(interstice.NotFoundError):
        db.subscribe("counter", "nope", on_insert=print)


def test_callback_that_raises_surfaces_from_the_call_and_the_call_committed(db):
    calls = []

    def bad(ev):
        calls.append(ev)
        raise ValueError(f"callback refused {ev.new['name']}")

    db.subscribe("counter", "counters", on_insert=bad, on_update=bad)
    with pytest.raises(ValueError, match="callback refused a") as ei:
        db.call("counter", "add", "a", 1)
    notes = " ".join(getattr(ei.value, "__notes__", []))
    assert "committed" in notes and f"LSN {db.last_lsn}" in notes
    assert db.table("counter", "counters")["a"]["value"] == 1  # committed
    db.call_bytes("noop", "noop")  # the next call is clean: nothing stale re-raised
    with pytest.raises(ValueError):
        db.call_bytes("counter", "add", interstice.encode_row(["a", 1], ["string", "i64"]))
    assert db.table("counter", "counters")["a"]["value"] == 2 and len(calls) == 2


def test_first_exception_wins_when_several_callbacks_raise(db):
    def first(ev):
        raise KeyError("first")

    def second(ev):
        raise KeyError("second")

    db.subscribe("counter", "counters", on_insert=first)
    db.subscribe("counter", "counters", on_insert=second)
    with pytest.raises(KeyError, match="first"):
        db.call("counter", "add", "a", 1)


def test_callbacks_may_read_tables(db):
    seen = []
    t = db.table("counter", "counters")
    db.subscribe("counter", "counters", on_insert=lambda ev: seen.append((t.get(ev.new["name"]), len(t))))
    db.call("counter", "add", "a", 1)
    assert seen == [({"name": "a", "value": 1}, 1)]


def test_close_from_inside_a_callback_is_busy(db):
    errs = []

    def cb(ev):
        try:
            db.close()
        except interstice.BusyError as e:
            errs.append(e)

    db.subscribe("counter", "counters", on_insert=cb)
    db.call("counter", "add", "a", 1)
    assert len(errs) == 1 and not db.closed


def test_subscriptions_end_with_close(open_db):
    db = open_db(None, "counter")
    sub = db.subscribe("counter", "counters", on_insert=print)
    db.close()
    assert not sub.active
    sub.unsubscribe()  # harmless
