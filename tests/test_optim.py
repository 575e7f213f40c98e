"""Adam and SGD against their formulas written out here, step by step."""
import numpy as np
import pytest

import npae
from npae import Adam, Bias, Conv2d, Sequential


class Quadratic:
    """A one-parameter-array 'model' whose gradient we set by hand."""

    def __init__(self, p):
        self.params = {"p": p}
        self.grads = {"p": np.zeros_like(p)}




@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_matches_the_formula(backend, wd):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(20)
    grads = [rng.standard_normal(20) for _ in range(6)]
    model = Quadratic(p0.copy())
    opt = Adam(model, lr=0.05, betas=(0.8, 0.99), eps=1e-3, weight_decay=wd)
    with npae.kernels.use_backend(backend):
        for g in grads:
            model.grads["p"][...] = g
            opt.step()
    # torch's form: p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps), written independently:
    p, m, v = p0.copy(), np.zeros(20), np.zeros(20)
    for t, g in enumerate(grads, start=1):
        g = g + wd * p
        m = 0.8 * m + 0.2 * g
        v = 0.99 * v + 0.01 * g * g
        p = p - 0.05 / (1 - 0.8**t) * m / (np.sqrt(v) / np.sqrt(1 - 0.99**t) + 1e-3)
    np.testing.assert_allclose(model.params["p"], p, rtol=1e-12)
    np.testing.assert_allclose(opt.state["p"]["m"], m, rtol=1e-12)
    np.testing.assert_allclose(opt.state["p"]["v"], v, rtol=1e-12)
    assert opt.step_count == 6


def test_adam_eps_is_outside_the_square_root():
    model = Quadratic(np.zeros(1))
    opt = Adam(model, lr=1.0, eps=1.0)
    model.grads["p"][...] = 1e-4
    opt.step()
    # m_hat = 1e-4, v_hat = 1e-8: step = 1e-4 / (1e-4 + 1); eps inside the root would give 1e-4 / sqrt(1 + 1e-8)
    np.testing.assert_allclose(model.params["p"], -1e-4 / (1e-4 + 1.0), rtol=1e-12)


def test_adam_float32_stays_float32():
    model = Quadratic(np.ones(5, np.float32))
    opt = Adam(model, lr=0.1)
    model.grads["p"][...] = 0.5
    opt.step()
    assert model.params["p"].dtype == np.float32 and opt.state["p"]["m"].dtype == np.float32


def test_sgd_with_momentum_matches_the_formula():
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal(10)
    grads = [rng.standard_normal(10) for _ in range(5)]
    model = Quadratic(p0.copy())
    opt = npae.SGD(model, lr=0.1, momentum=0.9, weight_decay=0.01)
    for g in grads:
        model.grads["p"][...] = g
        opt.step()
    p, b = p0.copy(), None
    for g in grads:
        g = g + 0.01 * p
        b = g if b is None else 0.9 * b + g
        p = p - 0.1 * b
    np.testing.assert_allclose(model.params["p"], p, rtol=1e-12)


def test_weight_decay_only_where_asked():
    net = Sequential(Conv2d(1, 1, 3, rng=0, dtype=np.float64), Bias(1, dtype=np.float64))
    net.params["1.bias"][...] = 1.0
    opt = npae.SGD(net, lr=0.1, weight_decay=1.0, decay=lambda name: name.endswith("weight"))
    before = net.params["0.weight"].copy()
    opt.step()
    np.testing.assert_allclose(net.params["0.weight"], 0.9 * before)
    np.testing.assert_array_equal(net.params["1.bias"], [1.0])


def test_state_dict_round_trip():
    model = Quadratic(np.ones(3))
    opt = Adam(model)
    model.grads["p"][...] = 1.0
    opt.step()
    other = Adam(Quadratic(np.ones(3)))
    other.load_state_dict(opt.state_dict())
    assert other.step_count == 1
    np.testing.assert_array_equal(other.state["p"]["v"], opt.state["p"]["v"])


def test_adam_keeps_both_moments_of_a_state_loaded_in_mixed_layouts():
    """A loaded state whose m already has the parameter's (channels-last) layout and whose v does not:
    both are converted or kept, and both are updated (the same numbers as with everything C-contiguous)."""
    rng = np.random.default_rng(0)
    values = rng.standard_normal((2, 3, 2, 2))
    models = [Quadratic(values.copy()), Quadratic(npae.nn.layout.as_nchw(npae.nn.layout.channels_last(values)))]
    optimizers = [Adam(model, lr=1e-2) for model in models]

    def step():
        grad = rng.standard_normal(values.shape)
        for model, opt in zip(models, optimizers):
            model.grads["p"][...] = grad
            opt.step()

    step()
    state = optimizers[0].state_dict()
    for moment in ("m", "v"):
        mixed = dict(state)
        mixed[f"p/{moment}"] = npae.nn.layout.as_nchw(npae.nn.layout.channels_last(state[f"p/{moment}"]))
        optimizers[0].load_state_dict(state)
        optimizers[1].load_state_dict(mixed)
        models[1].params["p"][...] = models[0].params["p"]
        step()
        step()
        np.testing.assert_array_equal(models[1].params["p"], models[0].params["p"])
        for key in "mv":
            np.testing.assert_array_equal(optimizers[1].state["p"][key], optimizers[0].state["p"][key])


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0), "lr"), (dict(betas=(1.0, 0.9)), "betas"), (dict(weight_decay=-1), "weight_decay"),
])
def test_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Adam(Quadratic(np.ones(1)), **kwargs)


def test_adam_matches_torch_when_installed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    p0 = rng.standard_normal(7)
    grads = [rng.standard_normal(7) for _ in range(5)]
    model = Quadratic(p0.copy())
    opt = Adam(model, lr=0.01, betas=(0.5, 0.999), weight_decay=0.01)
    tp = torch.tensor(p0.copy(), requires_grad=True)
    topt = torch.optim.Adam([tp], lr=0.01, betas=(0.5, 0.999), weight_decay=0.01)
    for g in grads:
        model.grads["p"][...] = g
        opt.step()
        tp.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(model.params["p"], tp.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_backends_agree_bit_for_bit_over_many_steps(dtype):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(64).astype(dtype) for _ in range(50)]
    finals = []
    for backend in ("numba", "numpy"):
        model = Quadratic(np.ones(64, dtype))
        opt = Adam(model, lr=1e-2, betas=(0.9, 0.999))
        with npae.kernels.use_backend(backend):
            for g in grads:
                model.grads["p"][...] = g
                opt.step()
        finals.append((model.params["p"].copy(), opt.state["p"]["v"].copy()))
    np.testing.assert_array_equal(finals[0][0], finals[1][0])
    np.testing.assert_array_equal(finals[0][1], finals[1][1])


# All or nothing: a step whose update would leave a NaN or inf anywhere changes nothing.

@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_fault_predicts_exactly_what_the_update_would_make_non_finite(backend, dtype):
    """Near overflow, the dry run's verdict must be the update's outcome, element by element arithmetic included."""
    big = np.finfo(dtype).max
    rng = np.random.default_rng(5)
    seen = set()
    with npae.kernels.use_backend(backend), np.errstate(all="ignore"):
        for trial in range(300):
            scale = big ** rng.uniform(0.3, 1.0)
            p = (rng.standard_normal(8) * (big if trial % 7 == 0 else 1)).astype(dtype)
            g = (rng.standard_normal(8) * scale).astype(dtype)
            m = (rng.standard_normal(8) * scale).astype(dtype)
            v = (rng.random(8) * big * rng.uniform(0.5, 1.0)).astype(dtype)
            lr = float(rng.choice([1e-3, 1.0, big]))
            if trial % 11 == 0:
                g[3] = np.nan
            if trial % 13 == 0:  # m is a convex combination: it can only be non-finite if it already was
                m[5] = -np.inf
            arrays = [a.copy() for a in (p, g, m, v)]
            fault = npae.kernels.adam_fault(p, g, m, v, lr, 0.9, 0.999, 1e-8, 2)
            assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(arrays, (p, g, m, v)))
            npae.kernels.adam_update(p, g, m, v, lr, 0.9, 0.999, 1e-8, 2)
            finite = {"gradient": np.isfinite(g).all(), "parameter": np.isfinite(p).all(),
                      "m": np.isfinite(m).all(), "v": np.isfinite(v).all()}
            if fault is None:
                assert all(finite.values())
            else:
                assert not finite[fault]
            seen.add(fault)
    assert seen == {None, "gradient", "parameter", "m", "v"}


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("optimizer", [lambda model: Adam(model, lr=1e-3),
                                       lambda model: npae.SGD(model, lr=10.0, momentum=0.9)])
def test_a_refused_step_changes_no_array(optimizer, packed):
    net = Sequential(Conv2d(1, 2, 3, rng=0, dtype=np.float32), Bias(2, dtype=np.float32))
    if packed:
        npae.pack_parameters(net)
    opt = optimizer(net)
    for grad in net.grads.values():
        grad[...] = 1.0
    opt.step()
    params = {k: v.copy() for k, v in net.params.items()}
    state = {k: {m: v.copy() for m, v in s.items()} for k, s in opt.state.items()}
    net.grads["1.bias"][...] = 3e38  # the last array: the first one's update must not have been written
    with np.errstate(over="ignore"), pytest.raises(npae.optim.NonFiniteUpdate, match="overflowed: 1.bias") as refused:
        opt.step()
    assert refused.value.name == "1.bias" and refused.value.what in ("v", "parameter")
    net.grads["1.bias"][0] = np.nan
    with pytest.raises(npae.optim.NonFiniteUpdate, match="gradient of 1.bias"):
        opt.step()
    assert opt.step_count == 1
    assert all(np.array_equal(params[k], v) for k, v in net.params.items())
    assert all(np.array_equal(state[k][m], opt.state[k][m]) for k in state for m in state[k])


def test_pack_parameters_keeps_values_and_views_one_buffer():
    net = Sequential(Conv2d(1, 2, 3, rng=0, dtype=np.float64), Bias(2, dtype=np.float64), Conv2d(2, 3, 3, rng=1,
                                                                                                 dtype=np.float64))
    before = {name: value.copy() for name, value in net.params.items()}
    npae.pack_parameters(net)
    buffers = [npae.nn.flat.packed_buffer(list(arrays.values())) for arrays in (net.params, net.grads)]
    assert all(buffer is not None and buffer.size == 18 + 2 + 54 for buffer in buffers)
    assert buffers[0] is not buffers[1]
    for name, value in net.params.items():
        np.testing.assert_array_equal(value, before[name])
    assert npae.nn.flat.packed_buffer(list(net.params.values())[::-1]) is None
    assert npae.nn.flat.packed_buffer(list(net.params.values())[:2]) is None
    model = npae.disk_autoencoder(channels=4, image_size=16, rng=0)
    assert npae.nn.flat.packed_buffer(list(model.params.values())) is not None
    model.astype(np.float64)
    assert npae.nn.flat.packed_buffer(list(model.grads.values())).dtype == np.float64
    for arrays in (model.params, model.grads):  # packing keeps the convolutions' weights channels last
        assert npae.nn.layout.is_channels_last(arrays["encoder.3.weight"])
        assert not arrays["encoder.3.weight"].flags.c_contiguous


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "K"])
def test_adam_on_packed_parameters_is_adam_array_by_array(dtype, order):
    """One pass over the packed buffers gives the bits of one call per array, also after a state is loaded
    (its moments C-contiguous) and after astype has packed the model's arrays anew; the arrays apart are
    C-contiguous ("C") or keep the weights channels last ("K")."""
    rng = np.random.default_rng(0)
    packed = npae.disk_autoencoder(channels=4, image_size=16, rng=0, dtype=dtype)
    apart = npae.disk_autoencoder(channels=4, image_size=16, rng=0, dtype=dtype)
    for layer in (layer for _, layer in apart.named_layers()):  # rebind: one array each again
        layer.params = {key: value.copy(order=order) for key, value in layer.params.items()}
        layer.grads = {key: value.copy(order=order) for key, value in layer.grads.items()}
    weight = apart.params["encoder.3.weight"]
    assert npae.nn.layout.is_channels_last(weight) == (order == "K") != weight.flags.c_contiguous
    assert npae.nn.flat.packed_buffer(list(apart.params.values())) is None
    optimizers = [Adam(model, lr=1e-2) for model in (packed, apart)]

    def steps(count):
        for _ in range(count):
            grads = {name: rng.standard_normal(value.shape).astype(dtype) for name, value in packed.grads.items()}
            for model, opt in zip((packed, apart), optimizers):
                for name, value in model.grads.items():
                    value[...] = grads[name]
                opt.step()
        for name in packed.params:
            np.testing.assert_array_equal(packed.params[name], apart.params[name], err_msg=name)
            for key in "mv":
                np.testing.assert_array_equal(optimizers[0].state[name][key], optimizers[1].state[name][key])
        moments = [state["m"] for state in optimizers[0].state.values()]
        assert all(m.base is moments[0].base is not None for m in moments)  # the one-pass path ran

    steps(3)
    middle = optimizers[0].state_dict()
    steps(2)
    for opt in optimizers:
        opt.load_state_dict(middle)
    steps(2)
    packed_before = packed.params
    packed.astype(dtype)
    assert all(packed.params[name] is not value for name, value in packed_before.items())
    steps(2)
    for opt in optimizers:  # a user swaps the two moments of one parameter: both paths read them swapped
        state = opt.state["encoder.3.weight"]
        np.abs(state["m"], out=state["m"])
        opt.state["encoder.3.weight"] = {"v": state["m"], "m": state["v"]}
    steps(2)


@pytest.mark.parametrize("make", [lambda model: Adam(model, weight_decay=10.0),
                                  lambda model: npae.SGD(model, momentum=0.9, weight_decay=10.0)])
def test_an_overflow_caused_by_weight_decay_is_named_so(make):
    model = Quadratic(np.array([1.0, 3e38], dtype=np.float32))
    opt = make(model)
    model.grads["p"][...] = 1.0
    with pytest.raises(npae.optim.NonFiniteUpdate, match="gradient of p plus weight decay overflowed") as refused:
        opt.step()
    assert refused.value.what == "weight decay" and opt.step_count == 0
    np.testing.assert_array_equal(model.params["p"], np.array([1.0, 3e38], dtype=np.float32))
    model.grads["p"][0] = np.inf
    with pytest.raises(npae.optim.NonFiniteUpdate, match="gradient of p holds NaN or inf"):
        opt.step()


def test_sgd_fault_and_update_called_directly_use_the_gradient_they_are_given():
    model = Quadratic(np.zeros(1))
    opt = npae.SGD(model, lr=1.0, momentum=0.9)
    assert opt.fault("p", model.params["p"], np.ones(1), 1) is None
    opt.update("p", model.params["p"], np.full(1, 2.0), 1)
    np.testing.assert_array_equal(model.params["p"], [-2.0])


@pytest.mark.parametrize("make", [lambda model: Adam(model, lr=1e-2), lambda model: npae.SGD(model, lr=0.1, momentum=0.9)])
def test_moments_follow_the_parameters_dtype_after_astype(make):
    """Packed (one pass) or not, after astype the optimiser carries on in the new dtype, with the same bits."""
    rng = np.random.default_rng(0)
    packed = npae.disk_autoencoder(channels=2, image_size=8, rng=0)
    apart = npae.disk_autoencoder(channels=2, image_size=8, rng=0)
    for layer in (layer for _, layer in apart.named_layers()):
        layer.params = {key: value.copy() for key, value in layer.params.items()}
        layer.grads = {key: value.copy() for key, value in layer.grads.items()}
    optimizers = [make(model) for model in (packed, apart)]
    for dtype in (np.float32, np.float64, np.float32):
        for model in (packed, apart):
            model.astype(dtype)
        for _ in range(2):
            grads = {name: rng.standard_normal(value.shape) for name, value in packed.grads.items()}
            for model, opt in zip((packed, apart), optimizers):
                for name, value in model.grads.items():
                    value[...] = grads[name]
                opt.step()
        for opt in optimizers:
            assert all(value.dtype == dtype for moments in opt.state.values() for value in moments.values())
        for name in packed.params:
            np.testing.assert_array_equal(packed.params[name], apart.params[name], err_msg=name)
