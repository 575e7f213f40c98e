"""Model presets: shapes, block counts, bias-free ablation, the fused talk blocks equal the literal ones."""
import numpy as np
import pytest

import npae
from npae import Conv2d, ConvTranspose2d, Subsample, Upsample
from npae.models import disk_autoencoder, literal_to_transposed


def test_talk_preset_shapes():
    model = disk_autoencoder("talk", rng=0)
    x = np.zeros((3, 1, 64, 64), np.float32)
    assert model.encoder.forward(x).shape == (3, 1, 1, 1)
    assert model.forward(x).shape == (3, 1, 64, 64)
    assert sum(isinstance(layer, Conv2d) for layer in model.encoder) == 6
    assert sum(isinstance(layer, ConvTranspose2d) for layer in model.decoder) == 6


def test_talk_literal_preset_has_the_science_md_blocks():
    model = disk_autoencoder("talk", literal=True, upsampling="zeros", rng=0)
    assert sum(isinstance(layer, Subsample) for layer in model.encoder) == 6
    assert sum(isinstance(layer, Upsample) for layer in model.decoder) == 6
    assert model.forward(np.zeros((1, 1, 64, 64), np.float32)).shape == (1, 1, 64, 64)


def test_official_preset_shapes():
    model = disk_autoencoder("official", latent_dim=1, rng=0)
    x = np.zeros((2, 1, 63, 63), np.float32)
    assert model.encoder[0].output_shape((1, 1, 63, 63)) == (1, 8, 31, 31)
    assert model.encoder.forward(x).shape == (2, 1, 1, 1)
    assert model.forward(x).shape == (2, 1, 63, 63)
    widths = [layer.out_channels for layer in model.encoder if isinstance(layer, Conv2d)]
    assert widths == [8, 4, 3, 2, 1]


@pytest.mark.parametrize("preset, size, message", [
    ("talk", 48, "not a power"), ("official", 64, "does not reach 1 x 1"), ("talk", 1, "not a power"),
])
def test_image_sizes_that_do_not_reach_one_pixel(preset, size, message):
    with pytest.raises(ValueError, match=message):
        disk_autoencoder(preset, image_size=size)


def test_unknown_preset_and_bad_options():
    with pytest.raises(ValueError, match="unknown preset"):
        disk_autoencoder("huge")
    with pytest.raises(ValueError, match="upsampling"):
        disk_autoencoder("talk", upsampling="cubic")
    with pytest.raises(ValueError, match="channels"):
        disk_autoencoder("talk", channels=[8, 8])


def test_bias_false_removes_every_bias():
    for preset in ("talk", "official"):
        model = disk_autoencoder(preset, bias=False, rng=0)
        assert not any("bias" in name for name in model.params)
        assert any("bias" in name for name in disk_autoencoder(preset, rng=0).params)


def test_fused_talk_model_equals_the_literal_one():
    fused = disk_autoencoder("talk", image_size=16, channels=3, dtype=np.float64, rng=0)
    literal = disk_autoencoder("talk", image_size=16, channels=3, dtype=np.float64, rng=0, literal=True)
    for (name_f, layer_f), (name_l, layer_l) in zip(
            [(n, l) for n, l in fused.named_layers() if l.params],
            [(n, l) for n, l in literal.named_layers() if l.params]):
        if isinstance(layer_f, ConvTranspose2d):
            layer_f.params["weight"][...] = literal_to_transposed(layer_l.params["weight"])
        else:
            layer_f.params[next(iter(layer_f.params))][...] = next(iter(layer_l.params.values()))
    for params in (fused.params, literal.params):
        for name, value in params.items():
            if name.endswith("bias"):
                value[...] = 0.1
    x = np.random.default_rng(0).random((3, 1, 16, 16))
    np.testing.assert_allclose(fused.forward(x), literal.forward(x), rtol=1e-12, atol=1e-13)
    g = np.random.default_rng(1).standard_normal(x.shape)
    np.testing.assert_allclose(fused.backward(g), literal.backward(g), rtol=1e-10, atol=1e-13)


def test_summary_lists_both_parts():
    text = disk_autoencoder("official", rng=0).summary()
    assert "encoder" in text and "decoder" in text and "(1, 1, 63, 63)" in text


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_nearest_decoder_fused_into_transposed_convolutions_equals_upsample_then_conv(dtype, tolerance):
    fused = disk_autoencoder("talk", image_size=16, channels=3, upsampling="nearest", dtype=dtype, rng=0)
    literal = disk_autoencoder("talk", image_size=16, channels=3, upsampling="nearest", dtype=dtype, rng=0,
                               literal=True)
    assert any(isinstance(layer, npae.NearestUpConv2d) for _, layer in fused.named_layers())
    fused_weights = [v for k, v in fused.decoder.params.items() if k.endswith("weight")]
    literal_weights = [v for k, v in literal.decoder.params.items() if k.endswith("weight")]
    assert all(np.array_equal(a, b) for a, b in zip(fused_weights, literal_weights))
    x = np.random.default_rng(0).random((3, 1, 16, 16)).astype(dtype)
    z = fused.encoder.forward(x)
    y_fused, y_literal = fused.decoder.forward(z), literal.decoder.forward(z)
    scale = np.max(np.abs(y_literal))
    assert np.max(np.abs(y_fused - y_literal)) <= tolerance * scale
    g = np.random.default_rng(1).standard_normal(y_fused.shape).astype(dtype)
    gz_fused, gz_literal = fused.decoder.backward(g), literal.decoder.backward(g)
    assert np.max(np.abs(gz_fused - gz_literal)) <= tolerance * np.max(np.abs(gz_literal))
    for a, b in zip([v for k, v in fused.decoder.grads.items() if k.endswith("weight")],
                    [v for k, v in literal.decoder.grads.items() if k.endswith("weight")]):
        assert np.max(np.abs(a - b)) <= tolerance * np.max(np.abs(b))


def test_nearest_upconv_layer_gradcheck_and_adjoint():
    rng = np.random.default_rng(3)
    layer = npae.NearestUpConv2d(2, 3, rng=0, dtype=np.float64)
    npae.gradcheck(layer, rng.standard_normal((2, 2, 5, 4)), raise_on_fail=True)
    x, y = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((2, 3, 10, 8))
    assert np.isclose(np.sum(layer.forward(x) * y), np.sum(x * layer.backward(y)), rtol=1e-12)
