"""Memory for the arrays of a training step: recorded once, then planned into one arena.

By default every ``forward``/``backward`` returns new arrays, which is what
one expects from a function: ``a = layer.forward(x1); b = layer.forward(x2)``
leaves ``a`` intact.  A training loop, though, asks for the same arrays, in
the same order, step after step, and allocating them anew each time costs
page faults and memory churn.  Inside ``with reusing_buffers(model, pool):``
the layers take their arrays from a :class:`BufferPool`, which does what the
static memory planners of deep-learning frameworks do:

1. It *records* one step: each request gets a new array, and the pool notes
   its size, when it was asked for, and the first later request at which
   nothing refers to it any more (CPython's reference count tells exactly).
2. At ``end_step`` it *plans*: it lays the recorded arrays out in one byte
   arena, largest first, each at the lowest offset where it overlaps no array
   alive at the same time.  The arena is about the most memory alive at once.
3. Later steps *replay*: request i gets a view of the arena at its planned
   offset.  A request of another size ends the replay (that step gets new
   arrays and the next one is recorded again), and an array still referenced
   where the plan expected it dead is never overwritten: the request that
   would share its bytes gets a new array instead.

A steady-state step thus allocates no array at all.  Layers keep arrays for
their backward pass (a convolution's input, an activation's mask): they must
drop them once the step is over (:func:`release_kept_arrays`), so that every
array of a step dies within it.  ``with pooled_step(model, pool):`` around a
whole step does it all, as :class:`npae.Trainer` does.
"""
from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

ALIGNMENT = 64
"""Bytes: every planned array starts on a cache line (and an AVX-512 vector)."""


def _references(holder) -> int:
    return sys.getrefcount(holder)


def _baseline_references() -> int:
    holders = [object()]
    return _references(holders[0])


DEAD = _baseline_references()
"""Reference count of an array's holder, seen from a list, when nothing else refers to it."""


@dataclass
class Request:
    """One array of a recorded step: its bytes, the request index that created it and the first one it was dead at."""

    nbytes: int
    birth: int
    death: float = math.inf
    offset: int = 0
    shares_with: list[int] = field(default_factory=list)


def _padded(nbytes: int) -> int:
    return max(ALIGNMENT, -(-nbytes // ALIGNMENT) * ALIGNMENT)


def plan_offsets(requests: list[Request]) -> int:
    """Set each request's offset (largest first, lowest offset free over its lifetime); return the arena size."""
    placed: list[Request] = []
    for request in sorted(requests, key=lambda r: (-r.nbytes, r.birth)):
        overlapping = sorted((r for r in placed if r.birth < request.death and request.birth < r.death),
                             key=lambda r: r.offset)
        offset, size = 0, _padded(request.nbytes)
        for other in overlapping:
            if offset + size <= other.offset:
                break
            offset = max(offset, other.offset + _padded(other.nbytes))
        request.offset = offset
        placed.append(request)
    for request in requests:
        start, end = request.offset, request.offset + _padded(request.nbytes)
        request.shares_with = [r.birth for r in requests if r.birth < request.birth
                               and r.offset < end and start < r.offset + _padded(r.nbytes)]
    return max((r.offset + _padded(r.nbytes) for r in requests), default=0)


class BufferPool:
    """Arrays for the steps of a training loop: new while recording a step, views of one planned arena after.

    ``empty(shape, dtype)`` hands out an uninitialised array; ``end_step()`` closes a step.  ``state`` is
    "recording", "replaying" or "off" (the plan failed this step: new arrays until the step ends);
    ``nbytes`` is the arena's size and ``fresh_arrays`` counts the arrays allocated outside a plan.
    """

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.arena: np.ndarray | None = None
        self.state = "recording"
        self.fresh_arrays = 0
        self._holders: list = []
        self._arena_bytes: memoryview | None = None

    @property
    def nbytes(self) -> int:
        return 0 if self.arena is None else self.arena.nbytes

    def _dead(self, index: int) -> bool:
        return _references(self._holders[index]) == DEAD

    def empty(self, shape, dtype) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype``."""
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        index = len(self._holders)
        if self.state == "replaying":
            array = self._planned(index, nbytes, shape, dtype)
            if array is not None:
                return array
        if self.state == "recording":
            self._note_deaths(index)
            self.requests.append(Request(nbytes, index))
        array = np.empty(shape, dtype=dtype)
        self.fresh_arrays += 1
        self._holders.append(array)
        return array

    def _planned(self, index, nbytes, shape, dtype) -> np.ndarray | None:
        """The arena's view for request ``index``, or None if the plan does not hold for it."""
        if index >= len(self.requests) or self.requests[index].nbytes != nbytes:
            self.state = "off"
            return None
        request = self.requests[index]
        if not all(self._dead(j) for j in request.shares_with):
            return None
        array = np.frombuffer(self._arena_bytes[request.offset:request.offset + nbytes], dtype=dtype).reshape(shape)
        self._holders.append(array.base)
        return array

    def _note_deaths(self, now: int) -> None:
        for index, request in enumerate(self.requests):
            if request.death == math.inf and self._dead(index):
                request.death = now

    def end_step(self) -> None:
        """Close a step: plan the arena after a recorded step; record the next step if the plan did not hold."""
        count = len(self._holders)
        if self.state == "recording":
            self._note_deaths(count)
        all_dead = all(self._dead(index) for index in range(count))
        self._holders = []
        if self.state == "replaying" and count == len(self.requests) and all_dead:
            return
        if self.state == "recording" and self.requests and all_dead:
            self.arena = np.empty(plan_offsets(self.requests), dtype=np.uint8)
            self._arena_bytes = memoryview(self.arena)
            self.state = "replaying"
            return
        self.requests, self.state = [], "recording"
        if not all_dead:
            self.arena = self._arena_bytes = None


def layers_of(model) -> list:
    """The leaf layers of a layer, a Sequential or an Autoencoder."""
    if hasattr(model, "named_layers"):
        return [layer for _, layer in model.named_layers()]
    return [model]


@contextlib.contextmanager
def reusing_buffers(model, pool: BufferPool) -> Iterator[BufferPool]:
    """Within the block, every layer of ``model`` takes its arrays from ``pool``."""
    layers = layers_of(model)
    previous = [layer.buffer_pool for layer in layers]
    for layer in layers:
        layer.buffer_pool = pool
    try:
        yield pool
    finally:
        for layer, kept in zip(layers, previous):
            layer.buffer_pool = kept


def release_kept_arrays(model) -> None:
    """Make every layer of ``model`` drop the arrays it keeps for its backward pass."""
    for layer in layers_of(model):
        layer.release()


@contextlib.contextmanager
def pooled_step(model, pool: BufferPool) -> Iterator[BufferPool]:
    """One training step whose arrays come from ``pool``; on leaving it, the layers release what they kept
    for backward and the pool closes the step (records, plans or replays, see :class:`BufferPool`)."""
    try:
        with reusing_buffers(model, pool):
            yield pool
    finally:
        release_kept_arrays(model)
        pool.end_step()
