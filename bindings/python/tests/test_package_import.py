"""The package loads its own library and refuses a mismatched one."""

import os
import re
import shutil

import pytest

import interstice
from interstice import _ffi

from conftest import run_python


def test_import_uses_the_installed_package_not_the_source_tree():
    assert "site-packages" in interstice.__file__ or os.environ.get("INTERSTICE_TEST_SOURCE")


def test_library_is_a_real_file_in_the_package_directory():
    pkg = os.path.dirname(interstice.__file__)
    assert _ffi.LIBRARY_PATH == os.path.join(pkg, "libinterstice.so.1")
    assert os.path.isfile(_ffi.LIBRARY_PATH) and not os.path.islink(_ffi.LIBRARY_PATH)
    with open("/proc/self/maps") as f:
        maps = f.read()
    assert _ffi.LIBRARY_PATH in maps
    # no other copy of the library is mapped (never the system path)
    others = {m for m in re.findall(r"(/\S*libinterstice\S*)", maps) if m != _ffi.LIBRARY_PATH}
    assert not others


def test_versions_agree():
    assert interstice.ABI_VERSION == _ffi.lib.interstice_abi_version() == 1
    assert interstice.library_version() == interstice.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", interstice.__version__)


def test_abi_mismatch_is_refused_with_a_clear_message(tmp_path):
    pkg = os.path.dirname(interstice.__file__)
    copy = tmp_path / "interstice"
    shutil.copytree(pkg, copy, symlinks=False, ignore=shutil.ignore_patterns("__pycache__", "libinterstice.so.1"))
    os.symlink(os.path.join(pkg, "libinterstice.so.1"), copy / "libinterstice.so.1")
    h = (copy / "interstice.h").read_text()
    h2 = re.sub(r"#define INTERSTICE_ABI_VERSION \d+", "#define INTERSTICE_ABI_VERSION 99", h)
    assert h2 != h
    (copy / "interstice.h").write_text(h2)
    r = run_python("import sys; sys.path.insert(0, sys.argv[1]); import interstice", str(tmp_path))
    assert r.returncode != 0
    assert "ImportError" in r.stderr
    assert "ABI version mismatch" in r.stderr and "ABI 99" in r.stderr and "is ABI 1" in r.stderr


def test_missing_library_is_an_import_error(tmp_path):
    pkg = os.path.dirname(interstice.__file__)
    shutil.copytree(pkg, tmp_path / "interstice", ignore=shutil.ignore_patterns("__pycache__", "libinterstice.so.1"))
    r = run_python("import sys; sys.path.insert(0, sys.argv[1]); import interstice", str(tmp_path))
    assert r.returncode != 0 and "libinterstice is missing" in r.stderr


def test_cdef_is_derived_from_the_header_alone():
    with open(_ffi.HEADER_PATH) as f:
        header = f.read()
    cdef, consts = _ffi.derive_cdef(header)
    assert "/*" not in cdef and "#include" not in cdef and "extern" not in cdef and "__cplusplus" not in cdef
    for line in cdef.splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"#define [A-Z0-9_]+ (0x[0-9a-fA-F]+|\d+)", line), line
    # every function the header declares is callable through the library
    for fn in re.findall(r"\b(interstice_[a-z_]+)\s*\(", cdef):
        assert hasattr(_ffi.lib, fn), fn
    assert consts["INTERSTICE_DEADLINE_NONE"] == 2**64 - 1
    assert consts["INTERSTICE_VERSION_STRING"] == interstice.__version__
    assert consts["INTERSTICE_EVENT_ALL"] == 7  # "7u" in the header


def test_derive_cdef_handles_each_kind_of_line():
    src = '''/* c */
#ifndef G
#define G
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#define A 5u
#define B "s"
#define C (A * 2 + \\
   1)
#define D UINT64_MAX
int f(int x); // trailing
#ifdef __cplusplus
}
#endif
#endif
'''
    cdef, consts = _ffi.derive_cdef(src)
    assert consts == {"A": 5, "B": "s", "D": 2**64 - 1}
    assert [l.strip() for l in cdef.splitlines() if l.strip()] == ["#define A 5", "int f(int x);"]
