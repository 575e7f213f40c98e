"""Which implementation the kernels run: the Numba one or its plain-NumPy reference.

Every kernel in :mod:`npae.kernels` exists twice: a Numba version (fast) and a
NumPy version (short, obviously correct).  The layers call a dispatcher that
picks one according to the current backend, so the whole library can be run on
either, for tests (they must agree) and for benchmarks (how much Numba buys).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

BACKENDS = ("numba", "numpy")
_current = {"name": "numba"}


def get_backend() -> str:
    """Name of the backend the kernels use now: ``"numba"`` or ``"numpy"``."""
    return _current["name"]


def set_backend(name: str) -> None:
    """Select the kernels' backend for the whole process."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
    _current["name"] = name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Context manager: run the enclosed code on backend ``name``, then restore."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def numba_active() -> bool:
    return _current["name"] == "numba"
