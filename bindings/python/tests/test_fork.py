"""A handle used in a forked child raises ForkError; the child never calls into the library."""

import os

import pytest

import interstice


def in_child(fn):
    """Runs fn in a forked child; returns (exit code, message the child wrote)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            msg = fn()
            code = 0
        except BaseException as e:  # report and exit without running any cleanup
            msg, code = f"{type(e).__name__}: {e}", 1
        os.write(w, str(msg).encode())
        os._exit(code)
    os.close(w)
    data = b""
    while chunk := os.read(r, 4096):
        data += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), data.decode()


def test_every_handle_refuses_use_in_the_child(tmp_path, open_db):
    db = open_db(tmp_path / "d", "counter")
    db.call("counter", "add", "a", 1)
    t = db.table("counter", "counters")
    lg = interstice.Log(tmp_path / "log")
    scan = t.scan()

    def child():
        out = []
        for name, f in [("call", lambda: db.call("counter", "add", "a", 1)), ("get", lambda: t.get("a")),
                        ("len", lambda: len(t)), ("last_lsn", lambda: db.last_lsn),
                        ("append", lambda: lg.append(interstice.encode_transaction())),
                        ("scan", lambda: next(scan)), ("open", lambda: interstice.open()),
                        ("log", lambda: interstice.Log(str(tmp_path / "other"))),
                        ("validate", lambda: interstice.validate(str(tmp_path / "log")))]:
            try:
                f()
                out.append(f"{name}:no error")
            except interstice.ForkError as e:
                assert "fork" in str(e) and e.code == interstice.ClosedError.status
                out.append(f"{name}:ForkError")
        db.close()  # only forgets the handle
        lg.close()
        assert db.closed
        return ",".join(out)

    code, msg = in_child(child)
    assert code == 0, msg
    assert msg.split(",") == [f"{n}:ForkError" for n in
                              ["call", "get", "len", "last_lsn", "append", "scan", "open", "log", "validate"]]
    # the parent is untouched: same handles still work, the lock is still held
    assert db.call("counter", "add", "a", 1).mutations == 1
    assert t["a"]["value"] == 2
    lg.append(interstice.encode_transaction())
    lg.close()
    scan.close()


def test_garbage_collection_in_the_child_does_not_call_the_library(cache_dir):
    db = interstice.open(compilation_cache_dir=cache_dir)  # only this name refers to it
    db.load_module(__import__("conftest").wasm_path("counter"))

    def child():
        import gc
        import warnings
        nonlocal db
        warnings.simplefilter("error")  # a ResourceWarning from __del__ would be printed, not raised
        del db  # __del__ runs here: it must not enter Go (that would hang or crash the child)
        gc.collect()
        return "ok"

    code, msg = in_child(child)
    assert (code, msg) == (0, "ok")
    assert db.call("counter", "add", "x", 1).lsn == 2
    db.close()
