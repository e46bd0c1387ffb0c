"""Build of the interstice wheel: a platform wheel that carries libinterstice.

The package is pure Python over cffi in ABI mode, but it ships a native
library, so the wheel is tagged for the platform (``py3-none-manylinux_2_N_<arch>``,
N from the newest GLIBC symbol version the library needs) and never as
``py3-none-any``. Before the Python files are collected, the build puts two
files into the package directory:

* ``interstice/interstice.h``, copied from ``include/interstice.h`` of the
  source tree (the cdef is derived from it at import);
* ``interstice/libinterstice.so.1``, a real file (never a symlink): a copy of
  ``$INTERSTICE_LIB`` when that names a prebuilt library (CI, packagers), else
  built with Go from the source tree
  (``go build -buildmode=c-shared -trimpath ... ./capi``).

The source tree is ``$INTERSTICE_SOURCE_ROOT``, or the directory two levels
above this file (``bindings/python`` inside the repository). An sdist or a
copy outside the repository needs both files already in place, or
``INTERSTICE_SOURCE_ROOT``/``INTERSTICE_LIB`` set.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.join(HERE, "interstice")
HEADER = os.path.join(PKG, "interstice.h")
LIBRARY = os.path.join(PKG, "libinterstice.so.1")
SONAME = "libinterstice.so.1"


def source_root():
    """Returns the repository root (with include/interstice.h and capi/), or None."""
    env = os.environ.get("INTERSTICE_SOURCE_ROOT")
    for cand in ([env] if env else []) + [os.path.join(HERE, "..", "..")]:
        if os.path.isfile(os.path.join(cand, "include", "interstice.h")) and os.path.isdir(os.path.join(cand, "capi")):
            return os.path.abspath(cand)
    if env:
        raise SystemExit(f"interstice: INTERSTICE_SOURCE_ROOT={env} has no include/interstice.h and capi/")
    return None


def go_binary():
    go = os.environ.get("GO") or shutil.which("go")
    if not go and os.path.exists("/usr/local/go/bin/go"):
        go = "/usr/local/go/bin/go"
    if not go:
        raise SystemExit("interstice: Go is needed to build libinterstice (or set INTERSTICE_LIB to a prebuilt one)")
    return go


def prepare_native_files():
    root = source_root()
    if root:
        shutil.copyfile(os.path.join(root, "include", "interstice.h"), HEADER)
    elif not os.path.isfile(HEADER):
        raise SystemExit("interstice: no interstice.h; set INTERSTICE_SOURCE_ROOT to the repository")
    prebuilt = os.environ.get("INTERSTICE_LIB")
    if prebuilt:
        if not os.path.isfile(prebuilt):
            raise SystemExit(f"interstice: INTERSTICE_LIB={prebuilt} is not a file")
        src = os.path.realpath(prebuilt)
    elif root:
        tmp = tempfile.mkdtemp(prefix="interstice-lib-")
        src = os.path.join(tmp, "libinterstice.so")
        cmd = [go_binary(), "build", "-buildmode=c-shared", "-trimpath",
               "-ldflags", f'-extldflags "-Wl,-soname,{SONAME}"', "-o", src, "./capi"]
        print("interstice: building libinterstice:", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=root, check=True)
    elif os.path.isfile(LIBRARY):
        return
    else:
        raise SystemExit("interstice: no libinterstice; set INTERSTICE_LIB or INTERSTICE_SOURCE_ROOT")
    if os.path.islink(LIBRARY) or os.path.exists(LIBRARY):
        os.unlink(LIBRARY)
    shutil.copyfile(src, LIBRARY)  # follows symlinks: a real file in the wheel
    os.chmod(LIBRARY, 0o755)


def manylinux_tag():
    """Returns manylinux_2_N_<arch>, N being the newest GLIBC_2.N the library references."""
    with open(LIBRARY, "rb") as f:
        data = f.read()
    minors = [int(m) for m in re.findall(rb"GLIBC_2\.(\d+)", data)]
    arch = platform.machine()
    return f"manylinux_2_{max(minors) if minors else 17}_{arch}"


class BuildPy(build_py):
    def run(self):
        prepare_native_files()
        super().run()


class BdistWheel(bdist_wheel):
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        return "py3", "none", manylinux_tag()


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


def version():
    root = source_root()
    path = os.path.join(root, "include", "interstice.h") if root else HEADER
    with open(path, encoding="utf-8") as f:
        return re.search(r'#define INTERSTICE_VERSION_STRING "([^"]+)"', f.read()).group(1)


setup(version=version(), cmdclass={"build_py": BuildPy, "bdist_wheel": BdistWheel}, distclass=BinaryDistribution)
