"""Optimisers that read a model's ``params`` and ``grads`` and update the parameters in place.

Their state is public: ``opt.step_count`` and, per parameter name,
``opt.state[name]`` (``{"m": ..., "v": ...}`` for Adam, ``{"velocity": ...}``
for SGD with momentum), so every moment can be inspected between steps.

A step is all or nothing: every update is first worked out without writing (``fault``), and if a
gradient holds NaN or inf, or an update would leave one in a parameter or a moment, ``step`` raises
:class:`NonFiniteUpdate` with every array as it was.
"""
from __future__ import annotations

import operator
from collections.abc import Callable

import numpy as np

from . import kernels
from .nn.flat import packed_buffer
from .nn.layout import from_memory, in_layout, memory


class NonFiniteUpdate(FloatingPointError):
    """A step refused, nothing changed: the gradient of ``name`` holds NaN or inf (``what`` is "gradient"), or
    overflowed when weight decay was added (``"weight decay"``), or its update would leave one in ``what``
    ("parameter" or a moment's name)."""

    def __init__(self, name: str, what: str):
        self.name, self.what = name, what
        if what == "gradient":
            message = f"the gradient of {name} holds NaN or inf"
        elif what == "weight decay":
            message = f"the gradient of {name} plus weight decay overflowed, so the step was not applied"
        else:
            array = name if what == "parameter" else f"{name}/{what}"
            message = f"the update overflowed: {array} would hold NaN or inf, so the step was not applied"
        super().__init__(message)


class Optimizer:
    """Common part: which parameters to update, which of them get weight decay, the all-or-nothing step.

    A subclass says what one parameter's update would make non-finite (``fault``) and applies it (``update``).
    """

    def __init__(self, model, lr: float, weight_decay: float = 0.0,
                 decay: Callable[[str], bool] | None = None):
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.model = model
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.decay = decay if decay is not None else (lambda name: True)
        self.step_count = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def gradient(self, name: str, param: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """g + weight_decay * p (L2 penalty added to the gradient, as torch.optim does)."""
        if self.weight_decay and self.decay(name):
            return grad + param.dtype.type(self.weight_decay) * param
        return grad

    def _pairs(self):
        params, grads = self.model.params, self.model.grads
        if params.keys() != grads.keys():
            raise ValueError("model.params and model.grads have different keys")
        return [(name, params[name], grads[name]) for name in params]

    def step(self) -> None:
        """Update every parameter, or none: raises :class:`NonFiniteUpdate` before writing anything if a
        gradient (with weight decay) holds NaN or inf or an update would leave one behind."""
        self._step_each(self._pairs())

    def _step_each(self, pairs) -> None:
        """:meth:`step`, one parameter array at a time."""
        t = self.step_count + 1
        with np.errstate(over="ignore", invalid="ignore"):
            decayed = [(name, param, like(self.gradient(name, param, grad), param))
                       for name, param, grad in pairs]
            self._refuse_faults(decayed, t, raw_grads=[grad for _, _, grad in pairs])
        for name, param, grad in decayed:
            self.update(name, param, grad, t)
        self.step_count = t

    def _refuse_faults(self, pairs, t: int, raw_grads=None) -> None:
        """Raise :class:`NonFiniteUpdate` for the first parameter whose update at step t has a fault (a gradient
        that is finite in ``raw_grads`` but not in ``pairs`` overflowed with weight decay)."""
        for k, (name, param, grad) in enumerate(pairs):
            what = self.fault(name, param, grad, t)
            if what == "gradient" and raw_grads is not None and np.isfinite(raw_grads[k]).all():
                what = "weight decay"
            if what is not None:
                raise NonFiniteUpdate(name, what)

    def fault(self, name: str, param: np.ndarray, grad: np.ndarray, t: int) -> str | None:
        """What step t's update of ``param`` would make non-finite ("gradient", "parameter", a moment), or None."""
        raise NotImplementedError

    def update(self, name: str, param: np.ndarray, grad: np.ndarray, t: int) -> None:
        """Step t's update of ``param`` and its moments, in place."""
        raise NotImplementedError

    def zero_grad(self) -> None:
        for grad in self.model.grads.values():
            grad[...] = 0

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat copy of the state: ``"step"`` and ``"<param>/<moment>"`` arrays."""
        flat = {"step": np.array(self.step_count, dtype=np.int64)}
        for name, moments in self.state.items():
            for key, value in moments.items():
                flat[f"{name}/{key}"] = value.copy()
        return flat

    def moment_names(self) -> tuple[str, ...]:
        """The per-parameter state arrays this optimiser keeps once it has stepped."""
        return ()

    def load_state_dict(self, flat: dict[str, np.ndarray]) -> None:
        """Restore a state written by :meth:`state_dict` for the same parameters and optimiser.

        Every parameter must have exactly this optimiser's moments (once it has stepped), with
        the parameter's shape and dtype and finite values.
        """
        if "step" not in flat:
            raise ValueError("optimizer state has no 'step' entry")
        params = self.model.params
        state: dict[str, dict[str, np.ndarray]] = {}
        for key, value in flat.items():
            if key == "step":
                continue
            name, _, moment = key.rpartition("/")
            if name not in params:
                raise ValueError(f"optimizer state names unknown parameter {name!r}")
            if value.shape != params[name].shape or value.dtype != params[name].dtype:
                raise ValueError(f"optimizer state {key!r} has shape {value.shape} / dtype {value.dtype}, "
                                 f"parameter has {params[name].shape} / {params[name].dtype}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"optimizer state {key!r} holds NaN or inf")
            state.setdefault(name, {})[moment] = np.array(value)
        step = int(flat["step"])
        if step > 0:
            expected = set(self.moment_names())
            for name in params:
                if set(state.get(name, {})) != expected:
                    raise ValueError(f"optimizer state of {name!r} has {sorted(state.get(name, {}))}, "
                                     f"expected {sorted(expected)}")
        self.state = state
        self.step_count = step


class Adam(Optimizer):
    """Adam with exactly ``torch.optim.Adam``'s update (bias correction with t, eps outside the root):

        g <- g + wd p;  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
        p <- p - lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps)
    """

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decay=None):
        super().__init__(model, lr, weight_decay, decay)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        if not eps >= 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self._flat_members, self._flat, self._moments, self._moment_views = None, None, None, None
        self._stored_views = None

    def moment_names(self):
        return ("m", "v")

    def step(self) -> None:
        """As :meth:`Optimizer.step`; when the model's parameters and gradients are packed in one buffer each
        (:func:`npae.nn.pack_parameters`) and there is no weight decay, as one pass over the buffers."""
        pairs = self._pairs()
        flat = None if self.weight_decay else self._packed(pairs)
        if flat is None:
            self._step_each(pairs)
            return
        t = self.step_count + 1
        arguments = (*flat, self.lr, *self.betas, self.eps, t)
        if kernels.adam_fault(*arguments) is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                self._refuse_faults(pairs, t)
            raise NonFiniteUpdate("a parameter", "parameter")
        kernels.adam_update(*arguments)
        for (name, _, _), (m, v) in zip(pairs, self._moment_views):
            if name not in self.state:
                self.state[name] = {"m": m, "v": v}
        self.step_count = t

    def _packed(self, pairs) -> tuple[np.ndarray, ...] | None:
        """Flat (p, g, m, v) with m and v laid out as p, whose views are ``state[name]["m"]`` and ``["v"]``
        once the step is applied; None if the parameters or gradients are not packed."""
        members = [p for _, p, _ in pairs] + [g for _, _, g in pairs]
        if not _same_arrays(members, self._flat_members):
            p, g = packed_buffer(members[:len(pairs)]), packed_buffer(members[len(pairs):])
            if p is None or g is None or not all(in_layout(param, grad) for _, param, grad in pairs):
                return None
            self._flat_members, self._flat, self._moment_views = members, (p, g), None
        if self._moment_views is None or not _same_arrays(
                [moments.get(key) for name, _, _ in pairs for moments in (self.state.get(name, _NO_MOMENTS),)
                 for key in ("m", "v")],
                self._stored_views):
            self._moments, self._moment_views = self._flat_moments(pairs)
            self._stored_views = [view for views in self._moment_views for view in views]
        return (*self._flat, *self._moments)

    def _flat_moments(self, pairs):
        """Flat m and v (the state's values, zeros where there is none yet) and their views per parameter."""
        m_flat, v_flat = np.zeros_like(self._flat[0]), np.zeros_like(self._flat[0])
        views, offset = [], 0
        for name, param, _ in pairs:
            m, v = (from_memory(flat[offset:offset + param.size], param) for flat in (m_flat, v_flat))
            if name in self.state:
                m[...], v[...] = self.state[name]["m"], self.state[name]["v"]
                self.state[name] = {"m": m, "v": v}
            views.append((m, v))
            offset += param.size
        return (m_flat, v_flat), views

    def _moments_of(self, name, param):
        """(m, v) of ``name`` in its parameter's dtype and layout (converted after ``model.astype`` or
        ``load_state_dict``; zeros before its first update)."""
        if name not in self.state:
            return np.zeros_like(param), np.zeros_like(param)
        return tuple(like(self.state[name][key], param) for key in ("m", "v"))

    def fault(self, name, param, grad, t):
        arrays = (param, grad, *self._moments_of(name, param))
        return kernels.adam_fault(*map(memory, arrays), self.lr, *self.betas, self.eps, t)

    def update(self, name, param, grad, t):
        m, v = self._moments_of(name, param)
        kernels.adam_update(*map(memory, (param, grad, m, v)), self.lr, *self.betas, self.eps, t)
        state = self.state.get(name)
        if state is None or state["m"] is not m or state["v"] is not v:
            self.state[name] = {"m": m, "v": v}


_NO_MOMENTS: dict = {}


def like(array: np.ndarray, template: np.ndarray) -> np.ndarray:
    """``array`` in ``template``'s dtype and memory layout (the same object if it already is): then
    :func:`memory` of both pairs their entries."""
    if array.dtype == template.dtype and in_layout(template, array):
        return array
    converted = np.empty_like(template)
    converted[...] = array
    return converted


def _same_arrays(arrays: list, others: list | None) -> bool:
    """True if the two lists hold the same array objects in the same order."""
    return others is not None and len(arrays) == len(others) and all(map(operator.is_, arrays, others))


class SGD(Optimizer):
    """SGD with momentum, as ``torch.optim.SGD`` (dampening 0, not Nesterov):

        g <- g + wd p;  b <- g at the first step, mu b + g after;  p <- p - lr b
    """

    def __init__(self, model, lr=1e-2, momentum=0.0, weight_decay=0.0, decay=None):
        super().__init__(model, lr, weight_decay, decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)
        self._velocities: dict[str, np.ndarray] | None = None

    def moment_names(self):
        return ("velocity",) if self.momentum else ()

    def velocity(self, name: str, grad: np.ndarray) -> np.ndarray:
        """The new velocity: g at the first step, mu b + g after (a new array, in the gradient's dtype)."""
        if self.momentum and name in self.state:
            return self.state[name]["velocity"].astype(grad.dtype, copy=False) * grad.dtype.type(self.momentum) + grad
        return grad.copy()

    def fault(self, name, param, grad, t):
        if not np.isfinite(grad).all():
            return "gradient"
        velocity = self.velocity(name, grad)
        if not np.isfinite(velocity).all():
            return "velocity"
        if not np.isfinite(param - param.dtype.type(self.lr) * velocity).all():
            return "parameter"
        if self._velocities is not None:
            self._velocities[name] = velocity
        return None

    def step(self) -> None:
        """As :meth:`Optimizer.step`; within it, the update takes the velocity its dry run computed."""
        self._velocities = {}
        try:
            super().step()
        finally:
            self._velocities = None

    def update(self, name, param, grad, t):
        velocity = self._velocities.pop(name, None) if self._velocities is not None else None
        if velocity is None:
            velocity = self.velocity(name, grad)
        if self.momentum and name in self.state and self.state[name]["velocity"].dtype == velocity.dtype:
            self.state[name]["velocity"][...] = velocity
        elif self.momentum:
            self.state[name] = {"velocity": velocity}
        param -= param.dtype.type(self.lr) * velocity
