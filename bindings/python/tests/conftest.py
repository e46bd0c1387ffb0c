"""Shared fixtures: guest modules, one compilation cache, databases.

The suite runs against the installed package (make test-python installs it
into build/venv-python and runs pytest from build/). Environment:
  INTERSTICE_TEST_WASM   directory of the built guest modules (build/wasm)
  INTERSTICE_TEST_ROOT   the repository root (tests/vectors, README)
  INTERSTICE_TEST_CACHE  a compilation cache shared by every test and subprocess
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

import interstice

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("INTERSTICE_TEST_ROOT", HERE.parent.parent.parent))
WASM = Path(os.environ.get("INTERSTICE_TEST_WASM", ROOT / "build" / "wasm"))
CACHE = Path(os.environ.get("INTERSTICE_TEST_CACHE", ROOT / "build" / "python-cache"))
VECTORS = ROOT / "tests" / "vectors"


def wasm_path(name: str) -> Path:
    p = WASM / f"{name}.wasm"
    if not p.is_file():
        pytest.fail(f"{p} is missing: run `make test-python` (it builds the guest modules)")
    return p


def pytest_configure(config: pytest.Config) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def cache_dir() -> str:
    return str(CACHE)


@pytest.fixture
def wasm() -> Callable[[str], Path]:
    return wasm_path


@pytest.fixture
def open_db(cache_dir: str) -> Iterator[Callable[..., interstice.Database]]:
    """Opens databases that share the compilation cache; closes them after the test."""
    opened = []

    def _open(path=None, *modules: str, **opts) -> interstice.Database:
        opts.setdefault("compilation_cache_dir", cache_dir)
        db = interstice.open(path, **opts)
        opened.append(db)
        for m in modules:
            db.load_module(wasm_path(m))
        return db

    yield _open
    for db in opened:
        db.close()


@pytest.fixture
def db(open_db) -> interstice.Database:
    """An in-memory database with counter, alltypes and noop loaded."""
    return open_db(None, "counter", "alltypes", "noop")


def run_python(code: str, *args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """Runs code in a fresh interpreter of this venv (the installed package)."""
    env = dict(os.environ, PYTHONPATH="", INTERSTICE_TEST_CACHE=str(CACHE))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)
