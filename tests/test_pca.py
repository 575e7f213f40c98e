"""PCA-like autoencoder (SCIENCE.md 3): BatchNorm, covariance penalty, freezing, statistics, pipeline."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import npae
from npae import BatchNorm
from npae.data import ellipses, image_statistics, render_ellipses
from npae.losses import covariance_penalty
from npae.pca_ae import PCATrainConfig, PCAAutoencoder, train_stage


@given(st.integers(2, 6), st.integers(1, 3), st.integers(1, 3), st.integers(0, 50))
def test_batchnorm_gradcheck_couples_the_batch(n, channels, side, seed):
    x = np.random.default_rng(seed).standard_normal((n, channels, side, side)) * 3 + 1
    npae.gradcheck(BatchNorm(channels), x, raise_on_fail=True)


def test_batchnorm_normalises_matches_torch_formula_and_keeps_dtype():
    x = np.random.default_rng(0).standard_normal((50, 2, 1, 1)).astype(np.float32) * 4 + 3
    layer = BatchNorm(2)
    y = layer.forward(x)
    assert y.dtype == np.float32
    assert np.allclose(y.mean(axis=0), 0, atol=1e-6) and np.allclose(y.std(axis=0), 1, atol=1e-4)
    expected_var = 0.9 + 0.1 * x.astype(np.float64).var(axis=0, ddof=1).ravel()
    assert np.allclose(layer.running_var, expected_var)
    layer.training = False
    single = layer.forward(x[:1])
    expected = (x[:1, :, 0, 0] - layer.running_mean) / np.sqrt(layer.running_var + 1e-5)
    assert np.allclose(single[:, :, 0, 0], expected, rtol=1e-5)
    with pytest.raises(ValueError, match="at least 2 values"):
        BatchNorm(2).forward(x[:1])


def test_batchnorm_matches_torch_when_installed():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((7, 3, 2, 2))
    grad = np.random.default_rng(2).standard_normal(x.shape)
    layer = BatchNorm(3)
    y, dx = layer.forward(x), layer.backward(grad)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.batch_norm(tx, None, None, training=True, eps=1e-5)
    ty.backward(torch.tensor(grad))
    assert np.allclose(y, ty.detach().numpy(), atol=1e-12) and np.allclose(dx, tx.grad.numpy(), atol=1e-10)


@given(st.integers(2, 8), st.integers(1, 4), st.integers(0, 50))
def test_covariance_penalty_gradcheck(n, k, seed):
    codes = np.random.default_rng(seed).standard_normal((n, k))
    npae.gradcheck(covariance_penalty, codes, raise_on_fail=True)


def test_covariance_penalty_values():
    z = np.array([[1.0, 1.0, 0.0], [-1.0, -1.0, 0.0], [1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]])
    assert covariance_penalty(z[:, :1])[0] == 0.0
    assert covariance_penalty(z[:, :2])[0] == 0.0
    assert covariance_penalty(np.column_stack([z[:, 0], z[:, 0]]))[0] == pytest.approx(1.0)
    assert covariance_penalty(z)[0] == pytest.approx((0.5**2 + 0.5**2) / 2)


def test_image_statistics_on_hand_made_images():
    image = np.zeros((1, 1, 8, 8))
    image[0, 0, 4, 1:7] = 1.0
    image[0, 0, 3:6, 4] = 1.0
    stats = image_statistics(image)
    assert stats["S"][0] == 8 and stats["H"][0] == pytest.approx(6 / 3)
    diagonal = np.zeros((1, 1, 8, 8))
    diagonal[0, 0, np.arange(8), np.arange(8)] = 1.0
    diagonal[0, 0, 0, 7] = 1.0
    assert image_statistics(diagonal)["V"][0] == pytest.approx(8.0)


def test_ellipses_have_the_asked_axes_and_rotations():
    images, attributes = ellipses(100, rng=0, blur_sigma=0)
    assert images.shape == (100, 1, 64, 64)
    assert set(np.unique(attributes["a"])) <= set(range(2, 32)) and attributes["angle"].max() < 90
    area = np.pi * attributes["a"] * attributes["b"]
    assert np.allclose(attributes["S"], area, rtol=0.15, atol=8)
    wide = render_ellipses(np.array([[20.0, 4.0]]), np.array([0.0]), blur_sigma=0)
    upright = render_ellipses(np.array([[20.0, 4.0]]), np.array([90.0]), blur_sigma=0)
    assert image_statistics(wide)["H"][0] > 4 and image_statistics(upright)["H"][0] < 0.25


def test_training_a_stage_freezes_the_earlier_encoders_bit_for_bit():
    images, _ = ellipses(64, image_size=16, rng=0)
    model = PCAAutoencoder(16, channels=(4, 4, 4), rng=0)
    config = PCATrainConfig(steps=5, batch_size=8)
    first = train_stage(model, images, config)
    frozen = {name: value.copy() for name, value in model.encoders[0].params.items()}
    stats = model.encoders[0].layers[-1].running_mean.copy()
    second = train_stage(model, images, config)
    assert len(first) == len(second) == 5 and model.components == 2
    assert all(np.array_equal(frozen[name], value) for name, value in model.encoders[0].params.items())
    assert np.array_equal(stats, model.encoders[0].layers[-1].running_mean)
    assert model.encode(images).shape == (64, 2, 1, 1) and model.forward(images).shape == images.shape
    assert np.allclose(model.encode(images, chunk=5), model.encode(images), atol=1e-5)


def test_reproduce_pca_end_to_end_at_tiny_settings(tmp_path):
    from npae.cli import main
    from npae.report import flatten

    out = tmp_path / "pca"
    assert main(["reproduce", "pca", "--smoke", "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["ellipses"]) >= {"plain_ae", "pca_ae", "pca_ae_no_cov", "linear_pca", "ordering",
                                        "pca_ae_checks", "criteria"}
    assert "one_axis_per_attribute" not in metrics["disks"]
    assert {"eta2_radius_z1", "neighbour_r2_all_z3"} <= set(metrics["disks"]["dependence"])
    assert len(metrics["ellipses"]["pca_ae_spearman"]) == 9
    explained = metrics["ellipses"]["linear_pca"]["explained_variance_fraction"]
    assert len(explained) == 4 and all(a >= b > 0 for a, b in zip(explained, explained[1:])) and sum(explained) < 1
    values = [v for name, v in flatten(metrics) if not name.startswith("settings.") and isinstance(v, float)]
    assert values and all(np.isfinite(v) for v in values)
    report = (out / "report.md").read_text()
    assert "(0.977)" in report and "S_on_z1" in report
    for name in ("pearson_ellipses.png", "ordering.png", "traversals_ellipses.png", "traversals_disks.png"):
        assert (out / name).stat().st_size > 0
    test, _ = ellipses(16, rng=np.random.default_rng(5))
    for name in ("pca_ae_ellipses.npz", "pca_ae_disks.npz"):
        model = npae.load_checkpoint(out / name)
        assert model.components == 3 and model.channels == [4, 4, 4, 4, 4]
        assert model.encode(test).shape == (16, 3, 1, 1) and np.all(np.isfinite(model.forward(test)))


def test_rotation_diagnostics_on_known_codes():
    from npae.experiments.pca import multiple_correlation, plane_angles
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(5000), rng.standard_normal(5000)
    noise = rng.standard_normal(5000)
    codes = np.column_stack([x, y, x + y])
    angles = plane_angles(codes, x, y)
    assert angles[0] < 2 and angles[1] > 88 and abs(angles[2] - 45) < 2
    assert multiple_correlation(codes[:, 2:], x) == pytest.approx(np.sqrt(0.5), abs=0.02)
    assert multiple_correlation(np.column_stack([x + y, x - y]), x) == pytest.approx(1.0, abs=1e-9)
    assert multiple_correlation(noise[:, None], x) < 0.05


def test_spearman_sees_monotone_codes_that_pearson_underrates():
    from npae.experiments.pca import abs_pearson, abs_spearman
    ratio = np.exp(np.random.default_rng(2).normal(0, 1.2, 3000))
    ratio[5] = np.nan
    codes = np.column_stack([np.log(ratio), -np.log(ratio)])
    codes[5] = 0.0
    assert abs_spearman(codes, ratio) == pytest.approx([1.0, 1.0])
    assert max(abs_pearson(codes, ratio)) < 0.8


def test_dependence_measures_see_nonlinear_functions():
    from npae.statistics import correlation_ratio, neighbour_r2
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-1, 1, 2000), rng.uniform(-1, 1, 2000)
    folded = x ** 2
    assert abs(np.corrcoef(folded, x)[0, 1]) < 0.1
    assert correlation_ratio(folded, x) > 0.98 and correlation_ratio(folded, y) < 0.03
    assert neighbour_r2(folded, np.column_stack([x, y])) > 0.98
    mixed = x + np.sin(3 * y)
    assert 0.2 < correlation_ratio(mixed, x) < 0.8
    assert neighbour_r2(mixed, np.column_stack([x, y])) > 0.95
    assert neighbour_r2(rng.standard_normal(2000), np.column_stack([x, y])) < 0.05
    assert correlation_ratio(rng.standard_normal(2000), x) < 0.03


def test_dependence_measures_leave_out_nan_and_refuse_bad_input():
    from npae.statistics import correlation_ratio, neighbour_r2
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-1, 1, 500), rng.uniform(-1, 1, 500)
    folded, holed = x ** 2, x.copy()
    holed[7] = np.nan
    assert correlation_ratio(folded, holed) > 0.95 and neighbour_r2(folded, np.column_stack([holed, y])) > 0.95
    assert neighbour_r2(folded, holed) > 0.95
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, m\)"):
        neighbour_r2(folded, np.vstack([x, y]))
    with pytest.raises(ValueError, match="constant"):
        neighbour_r2(folded, np.column_stack([x, np.ones(500)]))
    with pytest.raises(ValueError, match="k"):
        neighbour_r2(folded, x, k=500)
    with pytest.raises(ValueError, match="bins"):
        correlation_ratio(folded, x, bins=0)


def _small_trained_pca_ae(dtype=np.float32):
    images, _ = ellipses(48, image_size=16, axis_range=(2, 8), rng=np.random.default_rng(3), dtype=dtype)
    config = PCATrainConfig(steps=3, batch_size=8)
    model, _ = npae.train_pca_autoencoder(images, 2, config, channels=(4, 4, 4))
    return model, images


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saved_pca_autoencoder_codes_and_decodes_bit_for_bit(tmp_path, dtype):
    model, images = _small_trained_pca_ae(dtype)
    path = npae.save_model(tmp_path / "pca.npz", model, settings={"seed": 0})
    assert [p.name for p in tmp_path.iterdir()] == ["pca.npz"]
    loaded = npae.load_checkpoint(path)
    assert isinstance(loaded, npae.PCAAutoencoder) and isinstance(loaded, npae.Sequential)
    assert loaded.components == 2 and loaded.dtype == np.dtype(dtype)
    assert loaded.encoders[0].layers[-1].training is False
    codes = model.encode(images)
    assert np.array_equal(loaded.encode(images), codes) and loaded.encode(images).dtype == dtype
    assert np.array_equal(loaded.decode(codes[:, :1]), model.decode(codes[:, :1]))
    assert np.array_equal(loaded.forward(images), model.forward(images))
    buffers = [name for name in model.state_dict() if name.endswith(("running_mean", "running_var"))]
    assert sorted(name.split(".")[0] for name in buffers) == ["encoder1"] * 2 + ["encoder2"] * 2


def _legacy_file(path, model):
    """A PCA-AE file exactly as npae 0.1's save_pca_autoencoder wrote it."""
    from npae.checkpoint import atomic_savez
    config = model.config
    meta = {"format": "npae-pca-ae", "version": 1, "settings": {"seed": 0},
            "model": {"image_size": config.image_size, "channels": config.channels, "alpha": config.alpha,
                      "dtype": config.dtype, "components": config.components}}
    return atomic_savez(path, {"meta": np.array(json.dumps(meta)), **model.state_dict()})


def test_files_of_the_former_save_pca_autoencoder_still_load(tmp_path):
    model, images = _small_trained_pca_ae()
    loaded = npae.load_checkpoint(_legacy_file(tmp_path / "old.npz", model))
    assert loaded.components == 2
    assert np.array_equal(loaded.forward(images), model.forward(images))


def test_pca_autoencoder_files_that_do_not_fit_are_refused(tmp_path):
    from npae.checkpoint import CheckpointError, atomic_savez
    model, _ = _small_trained_pca_ae()
    path = npae.save_model(tmp_path / "pca.npz", model)
    (tmp_path / "cut.npz").write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        npae.load_checkpoint(tmp_path / "cut.npz")
    with np.load(path, allow_pickle=False) as archive:
        contents = {key: archive[key] for key in archive.files}
    meta = json.loads(str(contents["meta"]))
    without = {k: v for k, v in contents.items() if k != "model/decoder2.0.weight"}
    atomic_savez(tmp_path / "missing.npz", without)
    with pytest.raises(CheckpointError, match="do not fit.*decoder2.0.weight"):
        npae.load_checkpoint(tmp_path / "missing.npz")
    meta["model_config"]["channels"] = [8, 4, 4]
    atomic_savez(tmp_path / "wider.npz", {**contents, "meta": np.array(json.dumps(meta))})
    with pytest.raises(CheckpointError, match="shape"):
        npae.load_checkpoint(tmp_path / "wider.npz")
    with pytest.raises(FileNotFoundError):
        npae.load_checkpoint(tmp_path / "absent.npz")
    legacy = _legacy_file(tmp_path / "legacy.npz", model)
    with np.load(legacy, allow_pickle=False) as archive:
        old = {key: archive[key] for key in archive.files}
    old_meta = json.loads(str(old["meta"]))
    atomic_savez(tmp_path / "bare.npz", {**old, "meta": np.array(json.dumps(dict(old_meta, model=None)))})
    with pytest.raises(CheckpointError, match="metadata lacks"):
        npae.load_checkpoint(tmp_path / "bare.npz")
    atomic_savez(tmp_path / "future.npz", {**contents, "meta": np.array(json.dumps(dict(meta, version=2)))})
    with pytest.raises(CheckpointError, match="version 2"):
        npae.load_checkpoint(tmp_path / "future.npz")
    model.decoders[0].params["0.weight"][0, 0, 0, 0] = np.nan
    with pytest.raises(CheckpointError, match="NaN"):
        npae.save_model(tmp_path / "nan.npz", model)
    assert not (tmp_path / "nan.npz").exists()


def test_full_mode_is_the_notebook_and_its_time_is_estimated():
    from npae.experiments.pca import PCASettings, estimate_seconds
    full = PCASettings.mode("full")
    assert (full.train_count, full.test_count, full.steps, full.batch_size, full.lr) == (12800, 2560, 2500, 512, 1e-3)
    tiny = PCASettings(steps=10, batch_size=4, channels=(2, 2, 2, 2, 2))
    assert 0 < estimate_seconds(tiny, timed_steps=1) < 60
    with pytest.raises(ValueError, match="unknown mode"):
        PCASettings.mode("long")


def test_principal_axes_order_the_variance_and_project_exactly():
    from npae.experiments.pca import linear_pca_errors, principal_axes
    rng = np.random.default_rng(6)
    directions = np.linalg.qr(rng.standard_normal((16, 3)))[0].T
    images = (rng.standard_normal((200, 3)) * [5.0, 2.0, 1.0]) @ directions
    axes = principal_axes(images.reshape(200, 1, 4, 4), 3)
    assert np.all(np.diff(axes.explained) < 0) and axes.explained.sum() == pytest.approx(1.0)
    assert np.allclose(np.abs(axes.basis @ directions.T), np.eye(3), atol=0.1)
    errors = linear_pca_errors(axes, images.reshape(200, 1, 4, 4), 3)
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-20
    with pytest.raises(ValueError, match="components"):
        axes.coordinates(images, 4)


def test_the_authors_drawing_is_scikit_images():
    draw = pytest.importorskip("skimage.draw")
    filters = pytest.importorskip("skimage.filters")
    rng = np.random.default_rng(1)
    semi_axes = rng.integers(2, 32, (60, 2)).astype(float)
    angles = rng.integers(0, 90, 60).astype(float)
    ours = render_ellipses(semi_axes, angles, drawing="authors")
    for (a, b), angle, image in zip(semi_axes, angles, ours):
        theirs = np.zeros((64, 64), np.uint8)
        rows, cols = draw.ellipse(32.0, 32.0, a, b, rotation=np.deg2rad(angle))
        theirs[rows, cols] = 255
        theirs = filters.gaussian(theirs, sigma=0.5, preserve_range=True) / 255.0
        assert np.abs(theirs - image[0]).max() < 1e-12


def test_the_authors_drawing_puts_a_on_the_rows_and_takes_h_at_row_31():
    tall = render_ellipses(np.array([[20.0, 4.0]]), np.array([0.0]), blur_sigma=0, drawing="authors")
    assert image_statistics(tall)["H"][0] < 0.25
    column = tall[0, 0, :, 32]
    assert column[13:52].all() and not column[:13].any() and not column[52:].any()  # strict: |i - 32| < 20
    assert tall[0, 0, 32, 29:36].all() and not tall[0, 0, 32, 28] and not tall[0, 0, 32, 36]
    images, attributes = ellipses(20, rng=3, drawing="authors", dtype=np.float64)
    assert np.array_equal(attributes["H"], image_statistics(images, 31)["H"])
    assert not np.array_equal(attributes["H"], image_statistics(images)["H"])
    with pytest.raises(ValueError, match="drawing"):
        ellipses(2, rng=0, drawing="skimage")
    with pytest.raises(ValueError, match="middle"):
        image_statistics(images, 64)


def test_a_pca_autoencoder_with_the_authors_network_has_their_shapes_and_trains():
    from npae.published import PublishedPCAAE

    images, _ = ellipses(32, rng=0, drawing="authors")
    model = PCAAutoencoder(network="authors", rng=0)
    for _ in range(3):
        train_stage(model, images, PCATrainConfig(steps=2, batch_size=8))
    published = PublishedPCAAE()
    assert [v.shape for v in model.decoders[2].params.values()] == [v.shape for v in published.decoder3.params.values()]
    assert [v.shape for v in model.encoders[2].params.values()] == [v.shape for v in published.encoder3.params.values()]
    assert model.forward(images).shape == images.shape and model.forward(images).dtype == np.float32
    plain = model.new_encoder(3)
    assert [v.shape[0] for name, v in plain.params.items() if name.endswith("weight")] == [96, 48, 24, 12, 6, 3]
    with pytest.raises(ValueError, match="64 x 64"):
        PCAAutoencoder(32, network="authors")
    with pytest.raises(ValueError, match="unknown PCA-AE network"):
        PCAAutoencoder(network="pytorch")


@given(st.floats(0, 2 * np.pi), st.integers(0, 100))
def test_the_alignment_criteria_do_not_see_a_rotation_of_z2_and_z3(angle, seed):
    from npae.experiments.pca import alignment, criteria

    rng = np.random.default_rng(seed)
    images, attributes = ellipses(200, rng=rng)
    log_h, log_v = np.log(attributes["H"]), np.log(attributes["V"])
    plane = np.column_stack([log_h, log_v]) + 0.1 * rng.standard_normal((200, 2))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    codes = np.column_stack([attributes["S"], plane])
    turned = np.column_stack([attributes["S"], plane @ rotation])
    straight, rotated = alignment(codes, attributes), alignment(turned, attributes)
    for name in ("R_log_H_from_z2_z3", "R_log_V_from_z2_z3", "R_H_from_z2_z3", "R_V_from_z2_z3"):
        assert rotated[name] == pytest.approx(straight[name], abs=1e-9)
    assert straight["z2_z3_angles_from_log_H_deg"][0] < 20 and straight["z2_z3_angles_from_log_H_deg"][1] > 70
    assert rotated["R_log_H_from_z2_z3"] > 0.9 and rotated["R_log_V_from_z2_z3"] > 0.9
    checks = {"S_on_z1": 0.99, "max_latent_correlation": 0.2, **rotated}
    assert criteria(checks) == {"S_on_z1": True, "R_log_H_from_z2_z3": True, "R_log_V_from_z2_z3": True,
                                "max_latent_correlation": False}
    assert criteria({"S_on_z1": 0.5}) == {"S_on_z1": False} and alignment(codes[:, :2], attributes) == {}


def test_an_alignment_run_trains_only_the_pca_ae_with_the_authors_network(tmp_path):
    from npae.experiments.pca import PCASettings, run_pca

    settings = PCASettings.mode("smoke", seed=1)
    settings.network, settings.drawing, settings.pca_ae_only = "authors", "authors", True
    metrics = run_pca(tmp_path, settings, progress=False)["metrics"]
    assert "disks" not in metrics and set(metrics["ellipses"]) >= {"pca_ae", "pca_ae_checks", "criteria"}
    assert "plain_ae" not in metrics["ellipses"] and "pca_ae_no_cov" not in metrics["ellipses"]
    assert set(metrics["ellipses"]["criteria"]) == {"S_on_z1", "R_log_H_from_z2_z3", "R_log_V_from_z2_z3",
                                                    "max_latent_correlation"}
    model = npae.load_checkpoint(tmp_path / "pca_ae_ellipses.npz")
    assert model.config.network == "authors" and model.components == 3
