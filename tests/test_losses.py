import numpy as np
import pytest

import npae
from npae import bce_loss, mse_loss


def test_mse_value_and_gradient(rng):
    p, t = rng.standard_normal((2, 1, 3, 3)), rng.standard_normal((2, 1, 3, 3))
    value, grad = mse_loss(p, t)
    assert np.isclose(value, np.mean((p - t) ** 2))
    assert np.isclose(mse_loss(p, t, reduction="sum")[0], np.sum((p - t) ** 2))
    npae.gradcheck(lambda q: mse_loss(q, t), p, raise_on_fail=True)
    npae.gradcheck(lambda q: mse_loss(q, t, reduction="sum"), p, raise_on_fail=True)
    assert grad.dtype == p.dtype


def test_mse_of_other_float_dtypes_takes_the_reference(rng):
    """float16 and a big-endian float32 have no kernel: the NumPy reference computes them."""
    p, t = rng.standard_normal((2, 1, 3, 3)), rng.standard_normal((2, 1, 3, 3))
    for dtype in (np.float16, np.dtype(">f4")):
        value, grad = mse_loss(p.astype(dtype), t.astype(dtype))
        assert grad.dtype == np.dtype(dtype).newbyteorder("=")
        assert np.isclose(value, np.mean((p.astype(dtype).astype(np.float64) - t.astype(dtype)) ** 2), rtol=1e-3)
    with pytest.raises(ValueError, match="one shape and dtype"):
        npae.kernels.squared_error(np.ones(100, np.float32), np.zeros(50, np.float32), 1.0)
    with pytest.raises(ValueError, match="one shape and dtype"):
        npae.kernels.squared_error(np.ones(5, np.float32), np.zeros(5), 1.0)


def test_bce_value_and_gradient(rng):
    p, t = rng.uniform(0.05, 0.95, (2, 1, 3, 3)), rng.uniform(0, 1, (2, 1, 3, 3))
    value, _ = bce_loss(p, t)
    assert np.isclose(value, -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))
    npae.gradcheck(lambda q: bce_loss(q, t), p, raise_on_fail=True)
    assert np.isfinite(bce_loss(np.array([0.0, 1.0]), np.array([1.0, 0.0]))[0])


def test_loss_errors():
    with pytest.raises(ValueError, match="shape"):
        mse_loss(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="reduction"):
        mse_loss(np.zeros(3), np.zeros(3), reduction="max")
    with pytest.raises(TypeError, match="float"):
        bce_loss(np.zeros(3, int), np.zeros(3))


def test_bce_saturated_wrong_output_still_has_a_gradient():
    _, grad = bce_loss(np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32))
    assert grad.dtype == np.float32 and grad[0] > 0 and grad[1] < 0 and np.all(np.isfinite(grad))
