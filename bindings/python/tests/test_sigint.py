"""Ctrl-C during a long call: the call runs to completion, then KeyboardInterrupt is raised.

The library runs the call on the calling thread with the GIL released; the
SIGINT is taken by Python's handler (the Go runtime forwards it), and
Python raises KeyboardInterrupt when the call returns. So the call either
committed (it finished) or failed by its own error and rolled back; the
process survives and the database stays usable.
"""

import signal
import subprocess
import sys
import time

from conftest import CACHE, wasm_path

CHILD = r"""
import sys, time, interstice
db = interstice.open(sys.argv[1], compilation_cache_dir=sys.argv[3], call_deadline_ms=60000)
db.load_module(sys.argv[2])
db.call("alltypes", "work", 0, 1000)      # compiled and warm
t0 = time.perf_counter(); db.call("alltypes", "work", 0, 2_000_000); per = (time.perf_counter() - t0) / 2_000_000
n = int(1.5 / per)                          # about 1.5 s of guest work
print("start", flush=True)
try:
    t0 = time.perf_counter()
    r = db.call("alltypes", "work", 1, n)
    print("no interrupt", flush=True)
except KeyboardInterrupt:
    took = time.perf_counter() - t0
    row = db.table("alltypes", "vals").get(1)
    print("interrupted after %.2f s; committed=%s lsn=%d" % (took, row is not None, db.last_lsn), flush=True)
db.call("alltypes", "put_ikey", 1, "still usable")
print("usable", db.table("alltypes", "ikeys").get(1)["v"], flush=True)
db.close()
db2 = interstice.open(sys.argv[1], compilation_cache_dir=sys.argv[3])
print("reopened", db2.table("alltypes", "vals").get(1) is not None, flush=True)
db2.close()
"""


def test_ctrl_c_during_a_long_call(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "d"), str(wasm_path("alltypes")), str(CACHE)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "start", p.stderr.read()
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("interrupted after"), out
    took = float(lines[0].split()[2])
    assert took > 0.5  # SIGINT came at 0.3 s: the call was not cut short, it ran to completion
    assert "committed=True" in lines[0]  # it finished, so its transaction committed
    assert lines[1] == "usable still usable"
    assert lines[2] == "reopened True"
