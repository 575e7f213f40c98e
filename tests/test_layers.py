"""Layers: gradients against finite differences, adjoint identities, dtypes, bad input."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import npae
from npae import Bias, Conv2d, ConvTranspose2d, LeakyReLU, Sequential, Sigmoid, Subsample, Upsample

DTYPES = st.sampled_from([np.float32, np.float64])


@st.composite
def conv_layers(draw):
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.one_of(st.sampled_from(["same", "valid", "full"]), st.integers(0, 2)))
    dtype = draw(DTYPES)
    layer = Conv2d(c_in, c_out, kernel, stride, padding, rng=draw(st.integers(0, 99)), dtype=dtype)
    h, w = draw(st.integers(kernel[0], 7)), draw(st.integers(kernel[1], 7))
    return layer, (draw(st.integers(1, 2)), c_in, h, w)


@given(conv_layers())
def test_conv2d_gradcheck(case):
    layer, shape = case
    x = np.random.default_rng(0).standard_normal(shape)
    npae.gradcheck(layer, x, raise_on_fail=True)


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 1),
       st.integers(1, 5), DTYPES)
def test_conv_transpose2d_gradcheck(c_in, c_out, k, s, p, h, dtype):
    layer = ConvTranspose2d(c_in, c_out, k, s, padding=min(p, k - 1), rng=0, dtype=dtype)
    x = np.random.default_rng(0).standard_normal((2, c_in, h, h + 1))
    npae.gradcheck(layer, x, raise_on_fail=True)


@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(1, 3),
       st.sampled_from(["zeros", "nearest", "bilinear"]))
def test_sampling_gradcheck(c, h, w, f, mode):
    x = np.random.default_rng(0).standard_normal((2, c, h, w))
    npae.gradcheck(Subsample(f), x, raise_on_fail=True)
    npae.gradcheck(Upsample(f, mode), x, raise_on_fail=True)


def test_pointwise_and_bias_gradcheck(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    for layer in (Bias(3, dtype=np.float64), LeakyReLU(0.2), LeakyReLU(0.05), Sigmoid()):
        if isinstance(layer, Bias):
            layer.params["bias"][...] = rng.standard_normal(3)
        npae.gradcheck(layer, x, raise_on_fail=True)


@given(st.integers(0, 10_000), st.sampled_from(["zeros", "nearest", "bilinear"]), DTYPES)
def test_sequential_stack_gradcheck(seed, mode, dtype):
    net = Sequential(
        Conv2d(1, 3, 3, rng=seed, dtype=dtype), Subsample(2), Bias(3, dtype=dtype), LeakyReLU(0.2),
        Upsample(2, mode), Conv2d(3, 2, (1, 3), rng=seed + 1, dtype=dtype), Bias(2, dtype=dtype), Sigmoid(),
    )
    for name, value in net.params.items():
        if name.endswith("bias"):
            value[...] = np.random.default_rng(seed).standard_normal(value.shape)
    x = np.random.default_rng(seed).standard_normal((2, 1, 6, 6))
    npae.gradcheck(net, x, raise_on_fail=True)


def test_gradcheck_reports_a_wrong_backward(rng):
    class WrongLeaky(LeakyReLU):
        def backward(self, grad_out):
            return super().backward(grad_out) * 1.01

    report = npae.gradcheck(WrongLeaky(0.2), rng.standard_normal((1, 1, 3, 3)))
    assert not report.ok and report.worst.name == "input" and "NO" in str(report)
    with pytest.raises(npae.GradcheckError, match="input"):
        npae.gradcheck(WrongLeaky(0.2), rng.standard_normal((1, 1, 3, 3)), raise_on_fail=True)


def test_gradcheck_of_large_input_uses_directions(rng):
    report = npae.gradcheck(Conv2d(2, 2, 3, rng=0), rng.standard_normal((2, 2, 12, 12)), max_elements=50)
    assert report.ok and len(report.checks) == 2


def inner(a, b):
    return float(np.sum(a * b))


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 3))
def test_upsample_zeros_is_the_adjoint_of_subsample(h, w, f):
    rng = np.random.default_rng(h * 100 + w)
    sub = Subsample(f)
    x = rng.standard_normal((2, 3, h, w))
    sx = sub.forward(x)
    y = rng.standard_normal(sx.shape)
    up = Upsample(f, "zeros", output_size=(h, w))
    assert np.isclose(inner(sx, y), inner(x, up.forward(y)), rtol=1e-12, atol=1e-12)
    assert np.array_equal(sub.backward(y), up.forward(y))


@given(conv_layers())
def test_conv2d_input_gradient_is_its_adjoint(case):
    layer, shape = case
    layer.astype(np.float64)
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    ax = layer.forward(x)
    y = rng.standard_normal(ax.shape)
    assert np.isclose(inner(ax, y), inner(x, layer.backward(y)), rtol=1e-12, atol=1e-12)


def test_conv_transpose_is_the_adjoint_of_conv_with_the_same_weight(rng):
    conv = Conv2d(3, 2, 3, stride=2, padding=1, rng=0, dtype=np.float64)
    conv_t = ConvTranspose2d(2, 3, 3, stride=2, padding=1, rng=1, dtype=np.float64)
    conv_t.params["weight"][...] = conv.params["weight"]
    x = rng.standard_normal((2, 3, 9, 9))
    y = rng.standard_normal(conv.output_shape(x.shape))
    assert conv_t.output_shape(y.shape) == x.shape
    assert np.isclose(inner(conv.forward(x), y), inner(x, conv_t.forward(y)), rtol=1e-12)


def test_nearest_upsample_adjoint(rng):
    up = Upsample(2, "nearest")
    x = rng.standard_normal((2, 2, 3, 4))
    y = rng.standard_normal((2, 2, 6, 8))
    up.forward(x)
    assert np.isclose(inner(up.forward(x), y), inner(x, up.backward(y)), rtol=1e-12)


def test_conv2d_matches_a_direct_cross_correlation(rng):
    layer = Conv2d(2, 3, (2, 3), stride=(2, 1), padding=1, rng=0, dtype=np.float64)
    x = rng.standard_normal((2, 2, 5, 6))
    w = layer.params["weight"]
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ho, wo = (5 + 2 - 2) // 2 + 1, (6 + 2 - 3) + 1
    expected = np.zeros((2, 3, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xpad[:, :, 2 * i:2 * i + 2, j:j + 3]
            expected[:, :, i, j] = np.einsum("ncab,ocab->no", patch, w)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


def test_same_padding_with_stride_equals_conv_then_subsample(rng):
    strided = Conv2d(2, 3, 3, stride=2, padding="same", rng=0, dtype=np.float64)
    plain = Conv2d(2, 3, 3, stride=1, padding="same", rng=0, dtype=np.float64)
    x = rng.standard_normal((2, 2, 9, 8))
    np.testing.assert_allclose(strided.forward(x), Subsample(2).forward(plain.forward(x)), rtol=1e-12)


def test_bilinear_matches_interpolation_of_a_linear_ramp():
    x = np.arange(4.0).reshape(1, 1, 1, 4) * np.ones((1, 1, 2, 1))
    y = Upsample(2, "bilinear").forward(x)
    np.testing.assert_allclose(y[0, 0, 0], [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_in_is_dtype_out(dtype, rng):
    net = Sequential(Conv2d(1, 2, 3, rng=0, dtype=dtype), Subsample(2), Bias(2, dtype=dtype), LeakyReLU(0.2),
                     Upsample(2, "bilinear"), ConvTranspose2d(2, 1, 3, padding=1, rng=0, dtype=dtype), Sigmoid())
    x = rng.standard_normal((2, 1, 8, 8)).astype(dtype)
    y = net.forward(x)
    assert y.dtype == dtype
    assert net.backward(np.ones_like(y)).dtype == dtype
    assert all(g.dtype == dtype for g in net.grads.values())


def test_float32_and_float64_agree(rng):
    net = Sequential(Conv2d(1, 4, 3, rng=0, dtype=np.float64), Subsample(2), Bias(4, dtype=np.float64),
                     LeakyReLU(0.2), Upsample(2), Conv2d(4, 1, 3, rng=1, dtype=np.float64))
    x = rng.standard_normal((3, 1, 8, 8))
    y64 = net.forward(x)
    net.astype(np.float32)
    y32 = net.forward(x.astype(np.float32))
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-5)


def test_backward_overwrites_grads(rng):
    conv, bias = Conv2d(1, 2, 3, rng=0, dtype=np.float64), Bias(2, dtype=np.float64)
    x = rng.standard_normal((2, 1, 5, 5))
    g = rng.standard_normal((2, 2, 5, 5))
    for layer in (conv, bias):
        layer.forward(x if layer is conv else g)
        layer.backward(g)
        first = {k: v.copy() for k, v in layer.grads.items()}
        layer.backward(g)
        for key in first:
            np.testing.assert_array_equal(layer.grads[key], first[key])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backward_params_fills_the_grads_backward_fills(dtype, rng):
    model = npae.disk_autoencoder("talk", channels=4, image_size=16, rng=0, dtype=dtype)
    x = rng.random((3, 1, 16, 16)).astype(dtype)
    g = rng.standard_normal(model.forward(x).shape).astype(dtype)
    assert model.backward_params(g) is None
    skipped = {name: value.copy() for name, value in model.grads.items()}
    model.backward(g)
    assert skipped.keys() == model.grads.keys()
    for name, value in model.grads.items():
        np.testing.assert_array_equal(skipped[name], value, err_msg=name)


def test_backward_params_runs_a_backward_of_its_own(rng):
    """A duck-typed first layer (no backward_params), a Conv2d subclass or instance with its own backward:
    training runs their backward."""
    class Scale:
        params, grads, buffers = {}, {}, {}

        def forward(self, x):
            return 2 * x

        def backward(self, g):
            return 2 * g

        def output_shape(self, shape):
            return shape

    class Halved(Conv2d):
        def backward(self, grad_out):
            grad_in = super().backward(grad_out)
            self.grads["weight"] *= 0.5
            return grad_in

    x = rng.random((2, 1, 5, 5))
    duck = Sequential(Scale(), Conv2d(1, 1, 3, rng=0, dtype=np.float64))
    assert np.isfinite(npae.training_step(duck, npae.Adam(duck), x))
    patched = Conv2d(1, 1, 3, rng=0, dtype=np.float64)

    def halved_backward(grad_out):
        grad_in = Conv2d.backward(patched, grad_out)
        patched.grads["weight"] *= 0.5
        return grad_in

    patched.backward = halved_backward
    for first in (Halved(1, 1, 3, rng=0, dtype=np.float64), patched):
        net = Sequential(first, Bias(1, dtype=np.float64))
        g = np.ones_like(net.forward(x))
        net.backward_params(g)
        halved = first.grads["weight"].copy()
        Conv2d.backward(first, g)
        np.testing.assert_array_equal(halved, 0.5 * first.grads["weight"])


def test_backward_before_forward_is_an_error():
    for layer in (Conv2d(1, 1), Subsample(), Upsample(), LeakyReLU(), Sigmoid(), Bias(1)):
        with pytest.raises((RuntimeError, ValueError), match="before forward|shape"):
            layer.backward(np.zeros((1, 1, 2, 2), np.float32))


@pytest.mark.parametrize("bad, error, message", [
    (np.zeros((1, 4, 4), np.float32), ValueError, "4-D"),
    (np.zeros((1, 3, 4, 4), np.float32), ValueError, "input channels"),
    (np.zeros((1, 2, 4, 4), np.int64), TypeError, "float32 or float64"),
    (np.zeros((1, 2, 4, 4), np.float64), TypeError, "does not match"),
    ([[1.0]], TypeError, "numpy array"),
])
def test_bad_input_is_named(bad, error, message):
    with pytest.raises(error, match=message):
        Conv2d(2, 1, 3, rng=0, dtype=np.float32).forward(bad)


@pytest.mark.parametrize("make, message", [
    (lambda: Conv2d(1, 1, 3, padding="circular"), "unknown padding"),
    (lambda: Conv2d(1, 1, 3, padding=-1), "padding"),
    (lambda: Conv2d(1, 1, 0), "kernel_size"),
    (lambda: Conv2d(1, 1, 3, stride=0), "stride"),
    (lambda: Upsample(2, "cubic"), "unknown upsampling mode"),
    (lambda: Conv2d(1, 1, 3, dtype=np.int32), "float32 or float64"),
    (lambda: Sequential(Conv2d(1, 1), "relu"), "not a layer"),
])
def test_bad_options_are_named(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_kernel_larger_than_input_is_an_error():
    with pytest.raises(ValueError, match="smaller than the kernel"):
        Conv2d(1, 1, 5, padding="valid").forward(np.zeros((1, 1, 3, 3), np.float32))


def test_sequential_names_state_dict_and_summary(rng):
    net = Sequential(Conv2d(1, 2, 3, rng=0), Bias(2), Sequential(LeakyReLU(0.2), Conv2d(2, 1, 3, rng=1)))
    assert list(net.params) == ["0.weight", "1.bias", "2.1.weight"]
    assert net.params.keys() == net.grads.keys()
    state = net.state_dict()
    other = Sequential(Conv2d(1, 2, 3, rng=5), Bias(2), Sequential(LeakyReLU(0.2), Conv2d(2, 1, 3, rng=6)))
    other.load_state_dict(state)
    x = rng.standard_normal((1, 1, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(other.forward(x), net.forward(x))
    state["0.weight"][...] = 0
    assert np.any(net.params["0.weight"] != 0), "state_dict must return copies"
    table = net.summary((1, 1, 6, 6))
    assert "2.1: Conv2d" in table and "(1, 1, 6, 6)" in table and "total" in table and str(net.num_params()) in table


def test_load_state_dict_refuses_mismatches():
    net = Sequential(Conv2d(1, 2, 3, rng=0), Bias(2))
    state = net.state_dict()
    with pytest.raises(ValueError, match="missing keys \\['1.bias'\\]"):
        net.load_state_dict({"0.weight": state["0.weight"]})
    with pytest.raises(ValueError, match="shape"):
        net.load_state_dict({**state, "1.bias": np.zeros(3, np.float32)})
    with pytest.raises(TypeError, match="dtype"):
        net.load_state_dict({**state, "1.bias": np.zeros(2, np.float64)})
    with pytest.raises(ValueError, match="unexpected keys \\['2.weight'\\]"):
        net.load_state_dict({**state, "2.weight": np.zeros(1)})


def test_initialisers_take_a_generator():
    a = Conv2d(2, 3, 3, rng=np.random.default_rng(7)).params["weight"]
    b = Conv2d(2, 3, 3, rng=np.random.default_rng(7)).params["weight"]
    c = Conv2d(2, 3, 3, rng=np.random.default_rng(8)).params["weight"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    bound = np.sqrt(6 / 18)
    assert np.abs(a).max() <= bound
    with pytest.raises(TypeError, match="Generator"):
        Conv2d(1, 1, rng="seed")


def test_grad_out_dtype_must_match_the_forward_pass():
    layer = Conv2d(1, 1, 3, rng=0)
    layer.forward(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(TypeError, match="grad_out dtype float64"):
        layer.backward(np.zeros((1, 1, 4, 4), np.float64))
    sigmoid = Sigmoid()
    sigmoid.forward(np.zeros((1, 1, 2, 2), np.float32))
    with pytest.raises(TypeError, match="differs from the forward"):
        sigmoid.backward(np.zeros((1, 1, 2, 2)))


def channels_last_copy(x):
    """The same values as x, (N, C, H, W) shape, channels last in memory."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


LAYOUT_LAYERS = [
    lambda dtype: Conv2d(3, 4, 3, stride=2, rng=0, dtype=dtype),
    lambda dtype: Conv2d(1, 4, 3, rng=0, dtype=dtype),
    lambda dtype: ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, rng=0, dtype=dtype),
    lambda dtype: ConvTranspose2d(3, 1, 3, stride=2, padding=1, rng=0, dtype=dtype),
    lambda dtype: Bias(3, dtype=dtype),
    lambda dtype: LeakyReLU(0.2),
]


@pytest.mark.parametrize("make", LAYOUT_LAYERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_give_the_same_numbers_in_either_memory_layout(make, dtype, rng):
    """Channels-last and C-contiguous inputs and gradients give bit-identical outputs and gradients; the
    convolutions and Bias return channels-last arrays, LeakyReLU keeps its input's layout (npae.nn.layout)."""
    layer = make(dtype)
    channels = getattr(layer, "in_channels", getattr(layer, "channels", 3))
    if isinstance(layer, Bias):
        layer.params["bias"][...] = rng.standard_normal(3)
    x = rng.standard_normal((2, channels, 5, 6)).astype(dtype)
    results = []
    for x_in, grad_layout in ((x, np.ascontiguousarray), (channels_last_copy(x), channels_last_copy),
                              (channels_last_copy(x), np.ascontiguousarray)):
        y = layer.forward(x_in)
        if isinstance(layer, LeakyReLU):
            assert y.strides == x_in.strides
        else:
            assert npae.nn.layout.is_channels_last(y)
        assert y.dtype == dtype
        grad = grad_layout(np.random.default_rng(1).standard_normal(y.shape).astype(dtype))
        grad_x = layer.backward(grad)
        results.append([y, grad_x, *(g.copy() for g in layer.grads.values())])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("make", LAYOUT_LAYERS[:4])
def test_convolution_weights_are_channels_last_and_any_layout_gives_the_same_numbers(make, rng):
    """The weight (A, B, kh, kw) is (A, kh, kw, B) in memory, so its matrix rows are a view; a weight and
    gradient rebound C-contiguous (a copy through weight_from_rows) give bit-identical outputs and gradients."""
    from npae.nn.conv import weight_rows
    layers = [make(np.float64) for _ in range(2)]
    weight = layers[0].params["weight"]
    assert npae.nn.layout.is_channels_last(weight) and npae.nn.layout.is_channels_last(layers[0].grads["weight"])
    assert np.shares_memory(weight_rows(weight), weight)
    layers[1].params["weight"] = np.ascontiguousarray(weight)
    layers[1].grads["weight"] = np.zeros(weight.shape)
    rebound = layers[1].params["weight"]  # channels last as well only if B = 1 or kh = kw = 1
    assert np.shares_memory(weight_rows(rebound), rebound) == npae.nn.layout.is_channels_last(rebound)
    x = rng.standard_normal((2, layers[0].in_channels, 5, 6))
    results = []
    for layer in layers:
        y = layer.forward(x)
        grad_x = layer.backward(np.random.default_rng(1).standard_normal(y.shape))
        results.append((y, grad_x, layer.grads["weight"].copy()))
    assert all(np.array_equal(a, b) for a, b in zip(*results))


def test_gradcheck_takes_a_channels_last_input(rng):
    x = channels_last_copy(rng.standard_normal((2, 3, 4, 5)))
    assert npae.gradcheck(Conv2d(3, 2, 3, rng=0), x, raise_on_fail=True)


def test_layers_take_strided_and_reversed_inputs(rng):
    """An input in neither layout (a slice, negative strides) gives the numbers of its C-contiguous copy."""
    base = rng.standard_normal((2, 3, 7, 10))
    for x in (base[:, :, ::-1], base[:, :, :, ::2], base.transpose(0, 1, 3, 2)[:, :, 1:]):
        for layer in (Conv2d(3, 2, 3, stride=2, rng=0, dtype=np.float64), Bias(3, dtype=np.float64), LeakyReLU(0.1),
                      ConvTranspose2d(3, 2, 3, stride=2, rng=0, dtype=np.float64)):
            y = layer.forward(x)
            assert np.array_equal(y, layer.forward(np.ascontiguousarray(x)))


def _fused_pairs(net, x) -> list[int]:
    """The indices of the Bias layers that ``net.forward(x)`` runs as one pair with the LeakyReLU after them."""
    pairs, forward = [], npae.nn.fused.forward

    def counting(bias, leaky, h):
        pairs.append(net.layers.index(bias))
        return forward(bias, leaky, h)

    npae.nn.fused.forward = counting
    try:
        net.forward(x)
    finally:
        npae.nn.fused.forward = forward
    return pairs


def _bias_leaky_net(channels, dtype, seed):
    return Sequential(Conv2d(1, channels, 3, rng=seed, dtype=dtype), Bias(channels, dtype=dtype), LeakyReLU(0.2),
                      Conv2d(channels, 2, 3, stride=2, rng=seed + 1, dtype=dtype), Bias(2, dtype=dtype),
                      LeakyReLU(0.1))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@given(st.integers(1, 20), st.integers(1, 3), DTYPES, st.integers(0, 99))
def test_sequential_runs_bias_then_leaky_relu_as_one_pair_with_the_layers_numbers(backend, channels, batch, dtype,
                                                                                   seed):
    """The fused forward pass and the layers one by one: the same output, input gradient and grads, bit for bit."""
    net = _bias_leaky_net(channels, dtype, seed)
    net.params["1.bias"][...] = np.random.default_rng(seed).standard_normal(channels)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 1, 9, 7)).astype(dtype)
    assert _fused_pairs(net, x) == [1, 4]
    with npae.kernels.use_backend(backend):
        y = net.forward(x)
        g = rng.standard_normal(y.shape).astype(dtype)
        dx = net.backward(g)
        grads = {name: value.copy() for name, value in net.grads.items()}
        h = x
        for layer in net:
            h = layer.forward(h)
        d = g
        for layer in reversed(list(net)):
            d = layer.backward(d)
    assert np.array_equal(y, h) and np.array_equal(dx, d) and y.strides == h.strides
    for name, value in net.grads.items():
        assert np.array_equal(grads[name], value), name


def test_layers_run_alone_after_a_fused_forward(rng):
    """Each layer of a fused pair keeps what its own backward needs; subclasses are not fused."""
    net = _bias_leaky_net(3, np.float64, 0)
    x = rng.standard_normal((2, 1, 6, 6))
    y = net.forward(x)
    g = rng.standard_normal(y.shape)
    expected = net.backward(g)
    d = g
    for layer in reversed(list(net)):
        d = layer.backward(d)
    assert np.array_equal(d, expected)

    class Leaky(LeakyReLU):
        pass

    mixed = Sequential(Bias(2), Leaky(), Bias(2), LeakyReLU(), LeakyReLU(), Bias(2), Bias(2), LeakyReLU())
    assert _fused_pairs(mixed, rng.standard_normal((1, 2, 3, 3)).astype(np.float32)) == [2, 6]
    calls = []
    net[2].forward = lambda h, layer=net[2]: calls.append(h) or LeakyReLU.forward(layer, h)
    assert np.array_equal(net.forward(x), y) and len(calls) == 1  # a patched forward runs, and gives the same
    assert _fused_pairs(net, x) == [4]
    assert net.forward(np.zeros((0, 1, 6, 6))).shape == (0, 2, 3, 3)  # an empty batch


def test_fused_pair_refuses_what_the_layers_refuse(rng):
    net = Sequential(Bias(2), LeakyReLU(0.2))
    with pytest.raises(RuntimeError, match="LeakyReLU: backward called before forward"):
        net.backward(np.zeros((1, 2, 3, 3), np.float32))
    with pytest.raises(ValueError, match="Bias: expected 2 input channels"):
        net.forward(np.zeros((1, 3, 3, 3), np.float32))
    with pytest.raises(TypeError, match="does not match the layer's parameters"):
        net.forward(np.zeros((1, 2, 3, 3), np.float64))
    y = net.forward(rng.standard_normal((1, 2, 3, 3)).astype(np.float32))
    with pytest.raises(ValueError, match="LeakyReLU: grad_out must have the output's shape"):
        net.backward(np.zeros((1, 2, 3, 4), np.float32))
    with pytest.raises(TypeError, match="LeakyReLU: grad_out dtype float64 differs"):
        net.backward(np.zeros(y.shape))
