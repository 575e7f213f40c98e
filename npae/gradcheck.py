"""Check a backward pass against central finite differences, in float64.

For a layer f with input x and parameters theta, take a fixed random u of the
output's shape and the scalar L = <f(x; theta), u>.  Then backward(u) must
return dL/dx and leave dL/dtheta in ``grads``, and for every checked entry e

    (L(e + h) - L(e - h)) / 2h  ~  dL/de     (error O(h^2) plus round-off ~ 1e-16 |L| / h).

Arrays of at most ``max_elements`` entries are checked entry by entry; larger
ones on ``max_elements`` random entries plus ``directions`` random directions d,
where (L(x + h d) - L(x - h d)) / 2h ~ <dL/dx, d>.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Check:
    """The comparison for one array (``"input"`` or a parameter name)."""

    name: str
    max_abs_error: float
    max_rel_error: float
    where: str
    numeric: float
    analytic: float
    ok: bool


@dataclass
class GradcheckReport:
    """All checks of one gradcheck call; ``ok`` if every one passed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def worst(self) -> Check:
        return max(self.checks, key=lambda check: check.max_rel_error)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        lines = [f"{'array':<24} {'max abs err':>12} {'max rel err':>12}  {'worst at':<22} "
                 f"{'numeric':>12} {'analytic':>12}  ok"]
        for c in self.checks:
            lines.append(f"{c.name:<24} {c.max_abs_error:12.3e} {c.max_rel_error:12.3e}  {c.where:<22} "
                         f"{c.numeric:12.5e} {c.analytic:12.5e}  {'yes' if c.ok else 'NO'}")
        return "\n".join(lines)


class GradcheckError(AssertionError):
    """Raised by ``gradcheck(..., raise_on_fail=True)``; the message is the report."""


def _compare(name, numeric, analytic, where, atol, rtol) -> Check:
    """A failing entry is one whose error exceeds the tolerance, or whose numeric or analytic value is NaN or inf."""
    numeric, analytic = np.asarray(numeric, dtype=np.float64), np.asarray(analytic, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        abs_error = np.abs(numeric - analytic)
        scale = np.maximum(np.abs(numeric), np.abs(analytic))
        rel_error = abs_error / np.maximum(scale, np.finfo(np.float64).tiny)
        failing = ~(abs_error <= atol + rtol * scale)
    abs_error[~np.isfinite(abs_error)] = np.inf
    rel_error[~np.isfinite(rel_error)] = np.inf
    k = int(np.argmax(np.where(failing, abs_error, -1.0) if failing.any() else abs_error))
    return Check(name, float(abs_error.max(initial=0)), float(np.where(scale > atol, rel_error, 0).max(initial=0)),
                 where[k], float(numeric[k]), float(analytic[k]), not failing.any())


def _first_non_finite(array: np.ndarray) -> str | None:
    bad = np.flatnonzero(~np.isfinite(array.reshape(-1)))
    if not len(bad):
        return None
    return f"index {tuple(int(i) for i in np.unravel_index(bad[0], array.shape))}"


def _non_finite_check(name, array, analytic_grad) -> Check | None:
    """A failed Check if the array itself or its analytic gradient holds NaN or inf anywhere, else None."""
    for what, values in (("value", array), ("analytic gradient", analytic_grad)):
        where = _first_non_finite(values)
        if where is not None:
            k = np.unravel_index(np.flatnonzero(~np.isfinite(values.reshape(-1)))[0], values.shape)
            numeric = float(array[k]) if what == "value" else np.nan
            return Check(name, np.inf, np.inf, f"{what} NaN/inf at {where}", numeric, float(analytic_grad[k]), False)
    return None


def _check_array(name, array, analytic_grad, loss, rng, h, atol, rtol, max_elements, directions) -> Check:
    """Compare dL/d(array) with central differences, perturbing ``array`` in place."""
    analytic_grad = np.asarray(analytic_grad, dtype=np.float64)
    if analytic_grad.shape != array.shape:
        raise ValueError(f"gradcheck: the analytic gradient of {name} has shape {analytic_grad.shape}, "
                         f"expected {array.shape}")
    non_finite = _non_finite_check(name, array, analytic_grad)
    if non_finite is not None:
        return non_finite
    grad = analytic_grad.reshape(-1)
    if array.size <= max_elements:
        indices = np.arange(array.size)
    else:
        indices = np.sort(rng.choice(array.size, size=max_elements, replace=False))
    numeric, analytic, where = [], [], []
    for k in indices:
        index = np.unravel_index(k, array.shape)
        saved = array[index]
        array[index] = saved + h
        plus = loss()
        array[index] = saved - h
        minus = loss()
        array[index] = saved
        numeric.append((plus - minus) / (2 * h))
        analytic.append(grad[k])
        where.append(f"index {tuple(int(i) for i in index)}")
    if array.size > max_elements:
        saved = array.copy()
        for d in range(directions):
            direction = rng.standard_normal(array.shape)
            direction /= np.linalg.norm(direction)
            array[...] = saved + h * direction
            plus = loss()
            array[...] = saved - h * direction
            minus = loss()
            array[...] = saved
            numeric.append((plus - minus) / (2 * h))
            analytic.append(float(grad @ direction.reshape(-1)))
            where.append(f"random direction {d}")
    return _compare(name, numeric, analytic, where, atol, rtol)


def gradcheck(target, x, *, h=1e-6, atol=1e-7, rtol=1e-5, seed=0, max_elements=256, directions=4,
              raise_on_fail=False) -> GradcheckReport:
    """Check the gradients of a layer, or of a function, by central differences in float64.

    Parameters
    ----------
    target : a layer (``forward``/``backward``/``params``/``grads``) or a function
        ``f(x) -> (value, dvalue/dx)`` such as ``lambda p: mse_loss(p, t)``.
        A layer is deep-copied and converted to float64; the original is untouched.
    x : the input array; it is converted to float64, C-contiguous (the layers' channels-last paths give
        the same numbers bit for bit, tests/test_layers.py).
    h : finite-difference step.  ``atol``, ``rtol``: an entry passes when
        |numeric - analytic| <= atol + rtol * max(|numeric|, |analytic|).
    Returns a :class:`GradcheckReport` (truthy when every array passes); with
    ``raise_on_fail`` a failure raises :class:`GradcheckError` carrying the report.
    A NaN or inf anywhere (input, parameter, analytic or numeric gradient) fails the check of
    that array, and the report says where.
    """
    rng = np.random.default_rng(seed)
    x64 = np.array(x, dtype=np.float64, order="C")
    report = GradcheckReport()
    if hasattr(target, "forward") and hasattr(target, "backward"):
        layer = copy.deepcopy(target)
        layer.astype(np.float64)
        y = layer.forward(x64.copy())
        u = rng.standard_normal(y.shape)
        grad_x = layer.backward(u)
        grads = {name: g.copy() for name, g in layer.grads.items()}

        def loss():
            return float(np.sum(layer.forward(x64.copy()) * u))

        report.checks.append(_check_array("input", x64, grad_x, loss, rng, h, atol, rtol, max_elements, directions))
        params = layer.params
        for name in params:
            report.checks.append(_check_array(name, params[name], grads[name], loss, rng, h, atol, rtol,
                                              max_elements, directions))
    elif callable(target):
        _, grad_x = target(x64.copy())

        def loss():
            return float(target(x64.copy())[0])

        report.checks.append(_check_array("input", x64, np.asarray(grad_x, dtype=np.float64), loss, rng, h,
                                          atol, rtol, max_elements, directions))
    else:
        raise TypeError(f"gradcheck: target must be a layer or a function, got {type(target).__name__}")
    if raise_on_fail and not report.ok:
        raise GradcheckError("gradcheck failed:\n" + str(report))
    return report


def gradcheck_model(model, x, max_elements: int = 64, seed: int = 0):
    """Check every leaf layer of an autoencoder on the activations of ``x`` (float64), then the whole encoder.

    Yields (qualified layer name, layer, report), and last ("whole encoder", encoder, report).
    """
    for part in ("encoder", "decoder"):
        h = x if part == "encoder" else model.encoder.forward(x)
        for name, layer in getattr(model, part).named_layers(part + "."):
            yield name, layer, gradcheck(layer, h, max_elements=max_elements, seed=seed)
            h = layer.forward(h)
    yield "whole encoder", model.encoder, gradcheck(model.encoder, x, max_elements=max_elements, seed=seed)


def preset_check_inputs(preset: str = "talk", latent_dim: int = 1, channels=None, batch: int = 2, seed: int = 0):
    """(a preset's model in float64 with random biases in (-0.1, 0.1), a batch of disks plus N(0, 0.01^2) noise):
    inputs on which no pre-activation sits on the LeakyReLU kink, for :func:`gradcheck_model`."""
    from .data import disks
    from .models import disk_autoencoder

    model = disk_autoencoder(preset, latent_dim=latent_dim, dtype=np.float64, channels=channels,
                             rng=np.random.default_rng(seed))
    rng = np.random.default_rng(seed)
    x, _ = disks(batch, model.config.image_size, rng=rng, dtype=np.float64)
    x += 0.01 * rng.standard_normal(x.shape)
    for name, value in model.params.items():
        if name.endswith("bias"):
            value[...] = rng.uniform(-0.1, 0.1, value.shape)
    return model, x
