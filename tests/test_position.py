"""Position (SCIENCE.md 2): Dirac data, the hand-crafted ramp encoder, CoordChannels, the pipeline."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import npae
from npae import CoordChannels
from npae.data import allowed_positions, dirac_signals, diracs, positioned_disks
from npae.models import conv_autoencoder, ramp_encoder


def test_integer_diracs_are_one_hot_at_the_drawn_positions():
    signals, attributes = diracs(200, 64, rng=0, dtype=np.float64)
    assert signals.shape == (200, 1, 1, 64)
    flat = signals[:, 0, 0]
    assert np.all(np.count_nonzero(flat, axis=1) == 1) and np.all(flat.max(axis=1) == 1.0)
    assert np.array_equal(np.argmax(flat, axis=1), attributes["position"].astype(int))


def test_spaced_positions_stay_on_the_grid_and_cover_it():
    _, attributes = diracs(2000, 64, spacing=8, offset=3, rng=1)
    assert set(attributes["position"].astype(int)) == set(allowed_positions(64, 8, 3)) == set(range(3, 64, 8))


def test_subpixel_dirac_keeps_mass_and_centre_and_blur_keeps_mass():
    positions = np.array([0.0, 2.25, 30.5, 62.9, 63.0])
    for sigma in (0.0, 1.5):
        signals = dirac_signals(positions, 64, blur_sigma=sigma, dtype=np.float64)[:, 0, 0]
        inner = slice(2, 3) if sigma else slice(None)
        assert np.allclose(signals.sum(axis=1)[inner], 1.0, atol=1e-12)
        assert np.allclose((signals @ np.arange(64))[inner], positions[inner], atol=1e-9)


def test_diracs_are_deterministic_and_check_their_input():
    first, second = diracs(10, rng=5)[0], diracs(10, rng=5)[0]
    assert np.array_equal(first, second)
    with pytest.raises(ValueError, match="positions must lie"):
        dirac_signals(np.array([64.0]), 64)
    with pytest.raises(ValueError, match="spacing"):
        diracs(10, spacing=0)
    with pytest.raises(ValueError, match="subpixel"):
        diracs(10, spacing=2, subpixel=True)


def test_positioned_disks_are_centred_where_the_attributes_say():
    images, attributes = positioned_disks(50, 64, radius=4.0, blur_sigma=0.5, rng=2, dtype=np.float64)
    mass = images.sum(axis=(1, 2, 3))
    rows, cols = np.arange(64), np.arange(64)
    y = (images[:, 0].sum(axis=2) @ rows) / mass
    x = (images[:, 0].sum(axis=1) @ cols) / mass
    errors = np.concatenate([x - attributes["x"], y - attributes["y"]])
    assert np.max(np.abs(errors)) < 0.35 and abs(np.mean(errors)) < 0.05  # pixelisation of a radius-4 disk
    dots, where = positioned_disks(20, 32, kind="dirac", blur_sigma=0, rng=3)
    assert np.all(dots.sum(axis=(1, 2, 3)) == 1)
    assert np.all(dots[np.arange(20), 0, where["y"].astype(int), where["x"].astype(int)] == 1)


@given(st.integers(2, 300), st.data())
def test_ramp_encoder_gives_the_position_of_every_dirac(length, data):
    encoder = ramp_encoder(length)
    positions = data.draw(st.lists(st.integers(0, length - 1), min_size=1, max_size=8))
    codes = encoder.forward(np.eye(length)[positions][:, None, None, :]).ravel()
    assert np.max(np.abs(codes - np.array(positions))) < 1e-10


@given(st.integers(2, 200), st.integers(0, 99))
def test_ramp_encoder_is_the_ramp_inner_product_for_any_signal(length, seed):
    x = np.random.default_rng(seed).standard_normal((3, 1, 1, length))
    expected = x[:, 0, 0] @ np.arange(length)
    assert np.allclose(ramp_encoder(length).forward(x).ravel(), expected, rtol=1e-12, atol=1e-9 * length)


def test_ramp_encoder_uses_only_convolutions_and_subsampling_without_bias():
    encoder = ramp_encoder(64)
    kinds = {type(layer).__name__ for _, layer in encoder.named_layers()}
    assert kinds == {"Conv2d", "Subsample"} and len(encoder.layers) == 12


@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.sampled_from([np.float32, np.float64]))
def test_coord_channels_gradcheck_and_values(channels, h, w, dtype):
    layer = CoordChannels()
    x = np.random.default_rng(0).standard_normal((2, channels, h, w)).astype(dtype)
    y = layer.forward(x)
    assert y.dtype == dtype and y.shape == (2, channels + 2, h, w)
    assert np.array_equal(y[:, :channels], x)
    if w > 1:
        assert y[0, channels + 1, 0, 0] == -1 and y[0, channels + 1, 0, -1] == 1
    npae.gradcheck(layer, x, raise_on_fail=True)


def test_conv_autoencoder_shapes_for_signals_and_images():
    signal_model = conv_autoencoder((1, 1, 64), channels=4, rng=0, dtype=np.float64)
    assert signal_model.encode(np.zeros((2, 1, 1, 64))).shape == (2, 1, 1, 1)
    assert signal_model.forward(np.zeros((2, 1, 1, 64))).shape == (2, 1, 1, 64)
    image_model = conv_autoencoder((1, 32, 32), channels=4, latent_dim=2, coord_channels=True, rng=0)
    assert image_model.encode(np.zeros((2, 1, 32, 32), np.float32)).shape == (2, 2, 1, 1)
    npae.gradcheck(conv_autoencoder((1, 8, 8), channels=2, coord_channels=True, rng=1, output="sigmoid"),
                   np.random.default_rng(0).random((2, 1, 8, 8)), raise_on_fail=True)
    with pytest.raises(ValueError, match="not a power of the sub-sampling factor 2"):
        conv_autoencoder((1, 48, 48))
    with pytest.raises(ValueError, match="channels needs 5"):
        conv_autoencoder((1, 64, 64), channels=[4, 4])


def test_trainer_accepts_a_fixed_data_set_and_checks_it():
    model = conv_autoencoder((1, 1, 16), channels=4, rng=0)
    data = diracs(64, 16, blur_sigma=1.0, rng=0)[0]
    trainer = npae.Trainer(model, npae.TrainConfig(steps=30, batch_size=16, lr=1e-2, train_size=0), data=data)
    history = trainer.run(progress=False)
    assert len(history) == 30 and np.mean(history[-5:]) < np.mean(history[:5])
    with pytest.raises(TypeError, match="dtype"):
        npae.Trainer(model, npae.TrainConfig(), data=data.astype(np.float64))
    with pytest.raises(ValueError, match="NaN"):
        npae.Trainer(model, npae.TrainConfig(), data=np.full_like(data, np.nan))


def test_reproduce_position_end_to_end_at_tiny_settings(tmp_path):
    from npae.cli import main
    from npae.report import flatten

    out = tmp_path / "position"
    assert main(["reproduce", "position", "--smoke", "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["handcrafted"]["max_error_one_hot"] < 1e-10
    assert set(metrics["sampling"]) == {"k=1", "k=2", "k=4", "k=8"}
    assert metrics["sampling"]["k=1"]["error_unseen_integer"] is None
    values = [v for name, v in flatten(metrics) if not name.startswith("settings.") and v is not None]
    assert all(np.isfinite(v) for v in values)
    report = (out / "report.md").read_text()
    assert "hand-crafted encoder" in report and "r2_x_from_both_codes" in report
    for name in ("position_code.png", "dirac_recon.png", "sampling.png", "position_2d.png", "recon_2d.png"):
        assert (out / name).stat().st_size > 0


def test_a_1d_only_run_of_a_bias_free_network_skips_the_other_experiments(tmp_path):
    from npae.experiments.position import PositionSettings, run_position, signal_autoencoder
    from npae.nn import Bias

    settings = PositionSettings.mode("smoke", seed=2)
    settings.only_1d, settings.bias_1d = True, False
    assert not any(isinstance(layer, Bias) for _, layer in signal_autoencoder(settings, 0).named_layers())
    metrics = run_position(tmp_path, settings, progress=False)["metrics"]
    assert set(metrics) == {"settings", "handcrafted", "trained_1d", "seconds"}
    assert np.isfinite(metrics["trained_1d"]["spearman_z_position"])
    assert (tmp_path / "position_code.png").exists() and not (tmp_path / "sampling.png").exists()
