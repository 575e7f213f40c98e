"""The size reproduction end to end at tiny settings: every file written, every metric finite."""
import json
import re

import numpy as np

from npae.cli import main
from npae.report import flatten


def test_reproduce_size_writes_the_whole_report(tmp_path):
    out = tmp_path / "size"
    assert main(["reproduce", "size", "--steps", "15", "--out", str(out), "--quiet"]) == 0
    for name in ("report.md", "metrics.json", "reconstructions.png", "latent.png", "interpolation.png",
                 "integrator.png", "scaled_outputs.png", "airy.png", "amplitude.png", "loss_bias.png",
                 "loss_nobias.png"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    values = [v for name, v in flatten(metrics) if not name.startswith("settings.")]
    assert values and all(np.isfinite(v) for v in values)
    assert metrics["without_bias"]["homogeneity_max_relative_error"] < 1e-12
    report = (out / "report.md").read_text()
    assert "![" in report and "spearman_z_r2" in report and "what it measures" in report
    images = re.findall(r"^!\[.*\]\((.+)\)$", report, flags=re.MULTILINE)
    assert len(images) >= 9 and all((out / name).exists() for name in images)


def test_theory_solvers_are_deterministic():
    from npae.theory import solve_airy_fd

    first, second = solve_airy_fd(32.0, 300), solve_airy_fd(32.0, 300)
    assert first.k == second.k and np.array_equal(first.f, second.f)


def test_same_seed_same_numbers(tmp_path):
    for name in ("a", "b"):
        assert main(["reproduce", "--steps", "5", "--out", str(tmp_path / name), "--quiet"]) == 0
    first = json.loads((tmp_path / "a" / "metrics.json").read_text())
    second = json.loads((tmp_path / "b" / "metrics.json").read_text())
    first.pop("seconds"), second.pop("seconds")
    assert first == second


def test_full_mode_settings_and_time_estimate():
    from npae.experiments.size import SizeSettings, estimate_seconds

    full = SizeSettings.mode("full")
    assert (full.steps, full.batch_size, full.lr) == (20000, 300, 1e-3)
    assert SizeSettings.mode("full", "official").supersample == 800
    small = SizeSettings(steps=10, batch_size=4)
    assert 0 < estimate_seconds(small, timed_steps=1) < 60


def test_reproduce_all_writes_one_report_with_a_table_of_contents(tmp_path):
    out = tmp_path / "all"
    assert main(["reproduce", "all", "--smoke", "--out", str(out), "--quiet"]) == 0
    report = (out / "report.md").read_text()
    assert "## Contents" in report
    for heading in ("Size", "Position", "PCA-like autoencoder", "Size for any shape"):
        assert f"## {heading}" in report
    images = re.findall(r"^!\[.*\]\((.+)\)$", report, flags=re.MULTILINE)
    assert {name.split("/")[0] for name in images} == {"size", "position", "pca", "shapes"}
    assert all((out / name).exists() for name in images)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"Size", "Position", "PCA-like autoencoder", "Size for any shape"}
