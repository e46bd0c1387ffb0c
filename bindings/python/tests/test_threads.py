"""8 threads calling and reading one Database at once."""

import threading

import interstice


def test_eight_threads_call_and_read_at_once(tmp_path, open_db):
    db = open_db(tmp_path / "d", "noop", "counter")
    n_threads, per = 8, 40
    errors = []
    acked = [[] for _ in range(n_threads)]
    stop = threading.Event()
    reads = [0]

    def writer(t):
        try:
            for i in range(per):
                key = t * 1000 + i
                if i % 2:
                    lsn = db.call("noop", "insert", key, f"t{t}", i).lsn
                else:
                    lsn = db.call_bytes("noop", "insert",
                                        interstice.encode_row([key, f"t{t}", i], ["u64", "string", "i64"]))
                db.call("counter", "add", f"t{t}", 1)
                acked[t].append((key, lsn))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def reader():
        try:
            t = db.table("noop", "kv")
            while not stop.is_set():
                rows = list(t.scan(chunk_rows=32))
                ids = [r["id"] for r in rows]
                assert ids == sorted(ids)
                assert len(t) >= 0
                t.get(0)
                reads[0] += 1
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for th in threads + readers:
        th.start()
    for th in threads:
        th.join()
    stop.set()
    for th in readers:
        th.join()
    assert not errors, errors
    assert reads[0] > 0
    lsns = [lsn for a in acked for _, lsn in a]
    assert len(set(lsns)) == len(lsns) == n_threads * per  # every call its own transaction
    kv = db.table("noop", "kv")
    assert len(kv) == n_threads * per
    for a in acked:
        for key, _ in a:
            assert kv[key]["id"] == key
    counters = db.table("counter", "counters")
    assert all(counters[f"t{t}"]["value"] == per for t in range(n_threads))
    st = db.log_stats
    assert st["records"] >= 2 * n_threads * per
    # group commit: concurrent callers shared fdatasyncs
    assert st["fdatasyncs"] < st["records"]


def test_subscription_callbacks_run_on_the_calling_thread(open_db):
    db = open_db(None, "counter")
    seen = []
    db.subscribe("counter", "counters", on_insert=lambda ev: seen.append((threading.get_ident(), ev.new["name"])))

    def work(name):
        db.call("counter", "add", name, 1)
        mine.append((threading.get_ident(), name))

    mine = []
    ths = [threading.Thread(target=work, args=(f"n{i}",)) for i in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    assert sorted(seen) == sorted(mine)


def test_a_callback_exception_surfaces_only_on_its_own_thread(open_db):
    db = open_db(None, "counter")

    def cb(ev):
        if ev.new["name"] == "bad":
            raise RuntimeError("bad row")

    db.subscribe("counter", "counters", on_insert=cb)
    results = {}

    def work(name):
        try:
            db.call("counter", "add", name, 1)
            results[name] = "ok"
        except RuntimeError as e:
            results[name] = str(e)

    ths = [threading.Thread(target=work, args=(n,)) for n in ["bad"] + [f"good{i}" for i in range(7)]]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    assert results.pop("bad") == "bad row"
    assert set(results.values()) == {"ok"}
