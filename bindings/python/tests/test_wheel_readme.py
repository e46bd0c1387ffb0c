"""Packaging: a platform wheel with the library inside; pip install of the source; the README tutorial runs."""

import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, wasm_path

PKG_SRC = ROOT / "bindings" / "python"


def tutorial() -> str:
    text = (PKG_SRC / "README.md").read_text()
    m = re.search(r"## Five-minute tutorial.*?```python\n(.*?)```", text, re.S)
    assert m, "the README has a tutorial code block"
    return m.group(1)


def fresh_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin" / "python"


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    env = dict(os.environ)
    env.setdefault("INTERSTICE_LIB", str(ROOT / "build" / "libinterstice.so"))
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(PKG_SRC)], env=env)
    (whl,) = out.glob("*.whl")
    return whl


def test_wheel_is_a_platform_wheel_with_the_library_as_a_real_file(wheel):
    assert re.fullmatch(r"interstice-[\d.]+-py3-none-manylinux_2_\d+_\w+\.whl", wheel.name), wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = z.getinfo("interstice/libinterstice.so.1")
        assert info.file_size > 1_000_000
        assert (info.external_attr >> 16) & 0o170000 != 0o120000  # not a symlink
        assert z.read("interstice/libinterstice.so.1")[:4] == b"\x7fELF"
        for f in ["interstice/interstice.h", "interstice/py.typed", "interstice/fb/Transaction.py",
                  "interstice/__init__.py"]:
            assert f in names
        wheel_meta = z.read(next(n for n in names if n.endswith(".dist-info/WHEEL"))).decode()
        assert "Root-Is-Purelib: false" in wheel_meta


def test_readme_tutorial_runs_from_the_wheel_in_a_fresh_venv(wheel, tmp_path):
    py = fresh_venv(tmp_path / "venv")
    run([str(py), "-m", "pip", "install", "-q", str(wheel)])
    work = tmp_path / "work"
    work.mkdir()
    (work / "counter.wasm").write_bytes(wasm_path("counter").read_bytes())
    (work / "tutorial.py").write_text(tutorial())
    r = run([str(py), "tutorial.py"], cwd=work, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    out = r.stdout
    assert out.splitlines()[0] == "counter"
    assert "{'name': 'hits', 'value': 42}" in out
    assert "update {'name': 'hits', 'value': 42} -> {'name': 'hits', 'value': 0}" in out
    assert "INTERSTICE_E_REDUCER_FAILED - no counter \"nobody\"" in out
    assert "{'name': 'misses', 'value': 1}" in out
    assert out.strip().endswith("True")
    assert "interstice.guest:counter: counter hits reset" in r.stderr
    # the installed package loads its own copy of the library
    r = run([str(py), "-c", "import interstice, interstice._ffi as f; print(f.LIBRARY_PATH)"], cwd=work)
    assert r.stdout.strip().startswith(str(tmp_path / "venv"))


def test_pip_install_of_the_source_directory_builds_the_library_with_go(tmp_path):
    py = fresh_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("INTERSTICE_LIB", "PYTHONPATH")}
    run([str(py), "-m", "pip", "install", "-q", str(PKG_SRC)], env=env)
    r = run([str(py), "-c", "import interstice; db = interstice.open(); print(db.last_lsn); db.close()"],
            cwd=tmp_path)
    assert r.stdout.strip() == "0"
