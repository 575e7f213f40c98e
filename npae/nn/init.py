"""Weight initialisers. Each takes an explicit ``np.random.Generator``: no global seeding."""
from __future__ import annotations

import numpy as np


def as_generator(rng) -> np.random.Generator:
    """``rng`` as a Generator: a Generator is used as is, an int seeds a new one, None draws fresh entropy."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def he_uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, dtype) -> np.ndarray:
    """Uniform on [-b, b] with b = sqrt(6 / fan_in): variance 2 / fan_in (He et al. 2015)."""
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)
