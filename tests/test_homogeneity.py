"""Positive homogeneity: bias-free stacks of conv, up/sub-sampling and LeakyReLU satisfy D(l z) = l D(z), l >= 0."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from npae import Bias, Conv2d, LeakyReLU, Sequential, Subsample, Upsample


@given(st.floats(-100, 100, allow_nan=False), st.floats(0, 100), st.floats(0, 1))
def test_leaky_relu_is_positively_homogeneous(t, scale, alpha):
    layer = LeakyReLU(alpha)
    x = np.array([[[[t]]]])
    np.testing.assert_allclose(layer.forward(scale * x), scale * layer.forward(x), rtol=1e-12, atol=1e-300)


@st.composite
def bias_free_decoders(draw, with_bias=False):
    seed = draw(st.integers(0, 10_000))
    blocks = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["zeros", "nearest", "bilinear"]))
    alpha = draw(st.floats(0.01, 0.5))
    layers, c_in = [], draw(st.integers(1, 2))
    latent = c_in
    for b in range(blocks):
        c_out = draw(st.integers(1, 3))
        layers += [Upsample(2, mode), Conv2d(c_in, c_out, 3, rng=seed + b, dtype=np.float64)]
        if with_bias:
            bias = Bias(c_out, dtype=np.float64)
            bias.params["bias"][...] = np.random.default_rng(seed).uniform(0.5, 1.0, c_out)
            layers.append(bias)
        layers.append(LeakyReLU(alpha))
        c_in = c_out
    return Sequential(*layers), latent, seed


@given(bias_free_decoders(), st.floats(0, 50))
def test_bias_free_decoder_is_positively_homogeneous(case, scale):
    decoder, latent, seed = case
    z = np.random.default_rng(seed).standard_normal((3, latent, 1, 1))
    out = decoder.forward(z)
    scaled = decoder.forward(scale * z)
    np.testing.assert_allclose(scaled, scale * out, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(out).max()))


@given(bias_free_decoders(), st.floats(-50, -0.1))
def test_homogeneity_fails_for_negative_scale(case, scale):
    decoder, latent, seed = case
    z = np.abs(np.random.default_rng(seed).standard_normal((3, latent, 1, 1))) + 0.1
    out = decoder.forward(z)
    if np.abs(out).max() > 1e-8:
        assert not np.allclose(decoder.forward(scale * z), scale * out, rtol=1e-6, atol=1e-9)


@given(bias_free_decoders(with_bias=True), st.floats(2, 50))
def test_homogeneity_fails_with_biases(case, scale):
    decoder, latent, seed = case
    z = np.random.default_rng(seed).standard_normal((3, latent, 1, 1))
    assert not np.allclose(decoder.forward(scale * z), scale * decoder.forward(z), rtol=1e-6, atol=1e-9)


def test_encoder_with_subsampling_is_positively_homogeneous(rng):
    encoder = Sequential(Conv2d(1, 3, 3, rng=0, dtype=np.float64), Subsample(2), LeakyReLU(0.2),
                         Conv2d(3, 1, 3, rng=1, dtype=np.float64), Subsample(2), LeakyReLU(0.2))
    x = rng.standard_normal((2, 1, 8, 8))
    np.testing.assert_allclose(encoder.forward(3.5 * x), 3.5 * encoder.forward(x), rtol=1e-12)
