"""The one binding to libinterstice: cffi in ABI mode over the shipped header.

The C declarations are derived at import time from ``interstice.h``, the
header the library was built from, which the build copies into this package
beside the library. No declaration is written twice, so the binding cannot
drift from the C ABI: a changed signature changes the cdef with it.

The library is loaded by absolute path from this package's directory, never
from the system search path.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, Tuple

import cffi

__all__ = ["ffi", "lib", "CONSTANTS", "HEADER_PATH", "LIBRARY_PATH", "STATUS_COMMENTS"]

_HERE = os.path.dirname(os.path.abspath(__file__))
HEADER_PATH = os.path.join(_HERE, "interstice.h")
LIBRARY_PATH = os.path.join(_HERE, "libinterstice.so.1")

# Object-like macros whose values are not integer literals, with the value a
# binding should see. Anything else that is not an integer literal is left
# out of the cdef (cffi accepts only `#define NAME <integer>`).
_SPECIAL_VALUES: Dict[str, Any] = {"UINT64_MAX": (1 << 64) - 1}

_INT_LITERAL = re.compile(r"^(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*$")
_DEFINE = re.compile(r"^#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$")
_STATUS_LINE = re.compile(r"#\s*define\s+(INTERSTICE_(?:OK|E_[A-Z_]+))\s+(\d+)\s*/\*(.*?)\*/", re.S)


def _strip_comments(text: str) -> str:
    """Removes C comments, keeping newlines so line structure survives."""

    def blank(m: "re.Match[str]") -> str:
        return "\n" * m.group(0).count("\n") + " "

    text = re.sub(r"/\*.*?\*/", blank, text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def derive_cdef(header: str) -> Tuple[str, Dict[str, Any]]:
    """Returns (cdef source, constants) derived from the text of interstice.h.

    Comments are stripped; #include, include guards and the C++ ``extern "C"``
    block markers are dropped; ``#define NAME <integer literal>`` lines are
    kept (integer suffixes removed, as cffi wants); other macros become
    Python constants when their value is a string literal or a known limit,
    and are left out of the cdef otherwise.
    """
    text = _strip_comments(header)
    text = re.sub(r"\\\n", " ", text)  # join continued macro lines
    out = []
    consts: Dict[str, Any] = {}
    skip_depth = 0  # inside #ifdef __cplusplus
    depth = 0
    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith("#"):
            directive = line[1:].strip()
            if directive.startswith(("ifdef", "ifndef", "if ")):
                depth += 1
                if skip_depth == 0 and directive.split()[1:2] == ["__cplusplus"]:
                    skip_depth = depth
                continue
            if directive.startswith("endif"):
                if skip_depth == depth:
                    skip_depth = 0
                depth -= 1
                continue
            if skip_depth:
                continue
            m = _DEFINE.match(line)
            if m:
                name, value = m.group(1), m.group(2).strip()
                if _INT_LITERAL.match(value):
                    num = value.rstrip("uUlL")
                    consts[name] = int(num, 0)
                    out.append(f"#define {name} {num}")
                elif value.startswith('"') and value.endswith('"'):
                    consts[name] = value[1:-1]
                elif value in _SPECIAL_VALUES:
                    consts[name] = _SPECIAL_VALUES[value]
                continue
            continue  # #include, include guard, anything else
        if skip_depth:
            continue
        out.append(raw)
    return "\n".join(out), consts


def status_comments(header: str) -> Dict[int, Tuple[str, str]]:
    """Maps each status value to (macro name, its comment) from the header's status block."""
    table: Dict[int, Tuple[str, str]] = {}
    for m in _STATUS_LINE.finditer(header):
        table[int(m.group(2))] = (m.group(1), " ".join(m.group(3).split()))
    return table


def _load() -> Tuple[cffi.FFI, Any, Dict[str, Any], Dict[int, Tuple[str, str]]]:
    try:
        with open(HEADER_PATH, encoding="utf-8") as f:
            header = f.read()
    except OSError as e:
        raise ImportError(
            f"interstice: the C header is missing from the package ({HEADER_PATH}): {e}; "
            "reinstall the package (pip install ./bindings/python)"
        ) from e
    cdef, consts = derive_cdef(header)
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    if not os.path.isfile(LIBRARY_PATH):
        raise ImportError(
            f"interstice: libinterstice is missing from the package ({LIBRARY_PATH}); "
            "reinstall the package, or build it with INTERSTICE_LIB=/path/to/libinterstice.so"
        )
    try:
        lib = ffi.dlopen(LIBRARY_PATH)
    except OSError as e:
        raise ImportError(f"interstice: cannot load {LIBRARY_PATH}: {e}") from e
    want = consts["INTERSTICE_ABI_VERSION"]
    got = lib.interstice_abi_version()
    if got != want:
        raise ImportError(
            f"interstice: ABI version mismatch: the package's header is ABI {want} but "
            f"{LIBRARY_PATH} is ABI {got} (library {ffi.string(lib.interstice_version_string()).decode()}); "
            "rebuild and reinstall the package so header and library agree"
        )
    return ffi, lib, consts, status_comments(header)


ffi, lib, CONSTANTS, STATUS_COMMENTS = _load()
