"""Matrix products on one BLAS thread while Numba's threads do the rest.

Numba's parallel kernels and a multi-threaded OpenBLAS compete for the same
cores: OpenBLAS's workers keep spinning after each call, and waking them again
costs more than these small products gain.  Measured on 2 cores, one training
step of the talk model (C = 8, B = 64, float32): 473 ms with both
multi-threaded, 75 ms with BLAS switched to one thread around each product and
back, 38 ms with BLAS left on one thread.  So on the Numba backend the first
product sets numpy's OpenBLAS to one thread *for the whole process*; call
:func:`set_blas_threads` to change it back.  Where the OpenBLAS thread setter
cannot be found the products run unchanged.
"""
from __future__ import annotations

import ctypes
import re
from functools import lru_cache

import numpy as np

from .backend import numba_active

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")


@lru_cache(maxsize=1)
def _openblas_controls():
    """(set, get) functions of numpy's OpenBLAS, found among the loaded libraries, or None."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps.read())))
    except OSError:
        return None
    for path in paths:
        library = ctypes.CDLL(path)
        for setter_name in _SETTERS:
            getter_name = setter_name.replace("_set_", "_get_")
            if hasattr(library, setter_name) and hasattr(library, getter_name):
                setter, getter = getattr(library, setter_name), getattr(library, getter_name)
                setter.argtypes, setter.restype, getter.restype = [ctypes.c_int], None, ctypes.c_int
                return setter, getter
    return None


_state = {"pinned": False}


def set_blas_threads(n: int) -> bool:
    """Set numpy's OpenBLAS thread count; False if it cannot be controlled here."""
    controls = _openblas_controls()
    if controls is None:
        return False
    controls[0](int(n))
    _state["pinned"] = int(n) == 1
    return True


def blas_threads() -> int | None:
    """numpy's OpenBLAS thread count, or None if it cannot be read."""
    controls = _openblas_controls()
    return None if controls is None else int(controls[1]())


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b (into ``out`` if given); on the Numba backend BLAS is first pinned to one thread (once per process)."""
    if numba_active() and not _state["pinned"]:
        set_blas_threads(1)
        _state["pinned"] = True
    return np.matmul(a, b, out=out)
