"""Matrix products C = A B, cut into blocks that Numba's threads hand to one-thread BLAS calls.

C (M, N) is cut along its longer side into blocks: columns C[:, j0:j1] = A B[:, j0:j1], or rows
C[i0:i1] = A[i0:i1] B.  Each block is one call of BLAS's gemm on strided blocks (no copies), made from
a ``prange`` loop, so the two cores share the blocks while BLAS itself stays on one thread.  The blocks
of a product up to :data:`MAX_PARTS` x :data:`SMALL_GEMM` multiply-adds are small, about :data:`SMALL_GEMM`
each: OpenBLAS computes products below about a million multiply-adds with its small-matrix kernels,
1.2-1.7x faster on the thin products of small convolutions than with its general ones; larger products
are cut in two halves.  A reduction, whose inner dimension K is much longer than M and
N (a weight gradient sums over every pixel), is cut along K instead: :data:`PARTS` partial products,
each summed over small blocks of K by gemm calls that add into it, then added in order (3-6x faster than
one call over all of K).  Which kernel computes an entry, and the order of a cut sum, set the last bits;
so the cuts depend on the shapes only, and the result does not depend on the number of threads.

Why not a multi-threaded BLAS: its workers keep spinning after each call and
compete with Numba's for the same cores.  Measured on 2 cores, one training
step of the talk model (C = 8, B = 64, float32): 473 ms with both
multi-threaded, 38 ms with BLAS on one thread.  So on the Numba backend the
first product sets every OpenBLAS loaded in the process to one thread, for the
whole process; :func:`set_blas_threads` changes it back.

gemm is reached through ``scipy.linalg.cython_blas`` (the Fortran interface:
column-major, every argument a pointer).  A row-major C = A B is the
column-major C^T = B^T A^T, which is what :func:`_gemm` asks for.
"""
from __future__ import annotations

import ctypes
import re
from functools import lru_cache

import numpy as np
from llvmlite.binding import add_symbol
from numba import njit, prange, types
from numba.extending import get_cython_function_address

from .backend import numba_active

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")

_GEMM_SIGNATURE = types.void(*([types.voidptr] * 13))
for _name in ("sgemm", "dgemm"):
    add_symbol(f"npae_{_name}", get_cython_function_address("scipy.linalg.cython_blas", _name))
_sgemm = types.ExternalFunction("npae_sgemm", _GEMM_SIGNATURE)
_dgemm = types.ExternalFunction("npae_dgemm", _GEMM_SIGNATURE)

TRANSPOSED, NOT_TRANSPOSED = ord("T"), ord("N")
"""gemm's op flags as bytes (computed here: ``ord`` inside a kernel compiles Numba's unicode support, 0.16 s)."""

PARTS = 2
"""The fewest blocks of a split product, and the partial sums of a cut reduction (fixed: the result does not
depend on the number of threads)."""

MIN_SPLIT_FLOPS = 2_000_000
"""Products smaller than this (2 M K N flops) are one BLAS call: splitting them costs more than it gains."""

REDUCTION_SHAPE = 4
"""A product whose inner dimension K is at least this many times M and N (a weight gradient: a sum over
every pixel) is cut along K instead (:func:`_gemm_partial_sum`)."""

SMALL_GEMM = 500_000
"""The multiply-adds (M N K) of one gemm call of a split product or of a reduction's chunk (below OpenBLAS's
small-matrix limit)."""

MAX_PARTS = 64
"""A product that would need more blocks than this is large: it is cut in :data:`PARTS` halves, as thin
blocks of it would be many matrix-vector-like calls reading its operands again and again."""

MIN_CHUNK = 64
"""A reduction is cut along K only if its chunks hold at least this many inner products."""


@lru_cache(maxsize=1)
def _openblas_controls():
    """(set, get) pairs of every OpenBLAS loaded in the process (numpy's and scipy's)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps.read())))
    except OSError:
        return ()
    controls = []
    for path in paths:
        library = ctypes.CDLL(path)
        for setter_name in _SETTERS:
            getter_name = setter_name.replace("_set_", "_get_")
            if hasattr(library, setter_name) and hasattr(library, getter_name):
                setter, getter = getattr(library, setter_name), getattr(library, getter_name)
                setter.argtypes, setter.restype, getter.restype = [ctypes.c_int], None, ctypes.c_int
                controls.append((setter, getter))
                break
    return tuple(controls)


_state = {"pinned": False}


def set_blas_threads(n: int) -> bool:
    """Set the thread count of every OpenBLAS in the process; False if none can be controlled here."""
    controls = _openblas_controls()
    for setter, _ in controls:
        setter(int(n))
    _state["pinned"] = bool(controls) and int(n) == 1
    return bool(controls)


def blas_threads() -> int | None:
    """numpy's OpenBLAS thread count, or None if it cannot be read."""
    controls = _openblas_controls()
    return None if not controls else int(controls[0][1]())


@njit(cache=True)
def _gemm(m, n, k, a, lda, a_transposed, b, ldb, b_transposed, c, ldc, beta):
    """c = op(a) @ op(b) + beta c by one call of BLAS's gemm: 1-D buffers starting at the block's first entry.

    op(a) (m, k) is the row-major matrix a[i*lda + l] or, if a_transposed, a[l*lda + i]; likewise
    op(b) (k, n) and c (m, n) = c[i*ldc + j].  Column-major BLAS computes C^T = op(b)^T op(a)^T.
    """
    ints = np.empty(6, np.int32)
    ints[0], ints[1], ints[2], ints[3], ints[4], ints[5] = n, m, k, ldb, lda, ldc
    ops = np.empty(2, np.uint8)
    ops[0] = TRANSPOSED if b_transposed else NOT_TRANSPOSED
    ops[1] = TRANSPOSED if a_transposed else NOT_TRANSPOSED
    scalars = np.empty(2, a.dtype)
    scalars[0], scalars[1] = 1.0, beta
    args = (ops[0:].ctypes, ops[1:].ctypes, ints[0:].ctypes, ints[1:].ctypes, ints[2:].ctypes,
            scalars[0:].ctypes, b.ctypes, ints[3:].ctypes, a.ctypes, ints[4:].ctypes,
            scalars[1:].ctypes, c.ctypes, ints[5:].ctypes)
    if a.itemsize == 4:
        _sgemm(*args)
    else:
        _dgemm(*args)


@njit(cache=True)
def _gemm_block(m, n, k, a, lda, a_transposed, b, ldb, b_transposed, c, ldc, part, parts):
    """Block ``part`` of ``parts`` of c = op(a) @ op(b), c cut into equal blocks along its longer side."""
    by_columns = n >= m
    length = n if by_columns else m
    start, stop = length * part // parts, length * (part + 1) // parts
    if by_columns:
        b_start = start * ldb if b_transposed else start
        _gemm(m, stop - start, k, a, lda, a_transposed, b[b_start:], ldb, b_transposed, c[start:], ldc, 0.0)
    else:
        a_start = start if a_transposed else start * lda
        _gemm(stop - start, n, k, a[a_start:], lda, a_transposed, b, ldb, b_transposed, c[start * ldc:], ldc, 0.0)


@njit(cache=True)
def _gemm_partial_sum(m, n, k, a, lda, a_transposed, b, ldb, b_transposed, partial, part, parts, chunk):
    """partial (m, n) = op(a)[:, K_part] @ op(b)[K_part, :] for range ``part`` of ``parts`` of the inner
    dimension, summed over blocks of ``chunk`` by gemm calls that add into it."""
    k_start, k_stop = k * part // parts, k * (part + 1) // parts
    for start in range(k_start, k_stop, chunk):
        a_start = start * lda if a_transposed else start
        b_start = start if b_transposed else start * ldb
        _gemm(m, n, min(chunk, k_stop - start), a[a_start:], lda, a_transposed, b[b_start:], ldb, b_transposed,
              partial, n, 0.0 if start == k_start else 1.0)


@njit(parallel=True, cache=True)
def _split_gemm(m, n, k, a, lda, a_transposed, b, ldb, b_transposed, c, ldc, parts, chunk):
    """op(a) @ op(b) (see :func:`_gemm`) as ``parts`` tasks on Numba's threads.  With ``chunk`` 0, task i
    writes block i of c (:func:`_gemm_block`); with ``chunk`` > 0, a reduction, task i writes the partial
    sum over range i of the inner dimension into c[i*m*n : (i+1)*m*n] (:func:`_gemm_partial_sum`)."""
    for task in prange(parts):
        part = np.int64(task)  # prange's index is unsigned in the parallel body: one type, one compilation
        if chunk == 0:
            _gemm_block(m, n, k, a, lda, a_transposed, b, ldb, b_transposed, c, ldc, part, parts)
        else:
            _gemm_partial_sum(m, n, k, a, lda, a_transposed, b, ldb, b_transposed, c[part * m * n:], part, parts,
                              chunk)


def _storage(x: np.ndarray) -> tuple[np.ndarray, int, bool]:
    """(flat row-major buffer, leading dimension, transposed?) of a matrix, copied only if neither its rows
    nor its columns are contiguous."""
    if not x.flags.c_contiguous and x.flags.f_contiguous:
        return x.T.reshape(-1), max(x.shape[0], 1), True
    x = np.ascontiguousarray(x)
    return x.reshape(-1), max(x.shape[1], 1), False


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a (M, K) @ b (K, N) -> (M, N), into ``out`` if given (C-contiguous, a's dtype).

    On the numpy backend this is ``np.matmul``.  On the Numba backend, a product of fewer than
    :data:`MIN_SPLIT_FLOPS` is one gemm call (:func:`_gemm`); a reduction (K at least
    :data:`REDUCTION_SHAPE` times M and N) is cut along K (:func:`_gemm_partial_sum`); any other is cut into
    blocks of at most :data:`SMALL_GEMM` multiply-adds, at least :data:`PARTS` (:func:`_split_gemm`).
    """
    if not numba_active():
        return np.matmul(a, b, out=out)
    if not _state["pinned"]:
        set_blas_threads(1)
        _state["pinned"] = True
    (m, k), n = a.shape, b.shape[1]
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64) or b.shape[0] != k:
        raise ValueError(f"matmul: expected float32/float64 matrices (M, K) and (K, N) of one dtype, "
                         f"got {a.shape} {a.dtype} and {b.shape} {b.dtype}")
    if out is None:
        out = np.empty((m, n), dtype=a.dtype)
    elif out.shape != (m, n) or out.dtype != a.dtype or not out.flags.c_contiguous:
        raise ValueError(f"matmul: out must be C-contiguous {(m, n)} {a.dtype}, got {out.shape} {out.dtype}")
    if m == 0 or n == 0:
        return out
    if k == 0:
        out[...] = 0
        return out
    if 2 * m * n * k < MIN_SPLIT_FLOPS:
        _gemm(m, n, k, *_storage(a), *_storage(b), out.reshape(-1), n, 0.0)
    elif k >= REDUCTION_SHAPE * max(m, n) and m * n * MIN_CHUNK <= SMALL_GEMM:
        partial = np.empty((PARTS, m * n), dtype=a.dtype)
        chunk = SMALL_GEMM // (m * n)
        _split_gemm(m, n, k, *_storage(a), *_storage(b), partial.reshape(-1), n, PARTS, chunk)
        np.sum(partial, axis=0, out=out.reshape(-1))
    else:
        parts = -(-m * n * k // SMALL_GEMM)
        parts = PARTS if parts > MAX_PARTS else max(parts, PARTS)
        _split_gemm(m, n, k, *_storage(a), *_storage(b), out.reshape(-1), n, min(parts, max(m, n)), 0)
    return out
