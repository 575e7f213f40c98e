"""npae sweep: runs on a local Dask cluster, resumes, records failures, refuses bad arguments."""
import json

import pytest

pytest.importorskip("distributed")

from npae import load_checkpoint  # noqa: E402
from npae.cli import main  # noqa: E402
from npae.sweep import SweepError, is_done, parse_seeds, parse_sets, run_directory, run_one, setting_name, sweep  # noqa: E402,E501


def test_seeds_and_settings_parse_into_a_grid():
    assert parse_seeds("0-3,8") == [0, 1, 2, 3, 8] and parse_seeds("5") == [5]
    assert parse_sets("size", ["lr=1e-3,3e-3", "steps=20"]) == [{"lr": 1e-3, "steps": 20}, {"lr": 3e-3, "steps": 20}]
    assert parse_sets("train", []) == [{}]
    for bad in ("3-1", "a", "-2", "1,,2"):
        with pytest.raises(SweepError, match="--seeds"):
            parse_seeds(bad)
    with pytest.raises(SweepError, match="size has no setting 'learning_rate'"):
        parse_sets("size", ["learning_rate=1"])
    with pytest.raises(SweepError, match="key=value"):
        parse_sets("size", ["lr"])
    assert parse_sets("position", ["bias_1d=true,false"]) == [{"bias_1d": True}, {"bias_1d": False}]
    with pytest.raises(SweepError, match="bias_1d: a yes/no setting takes true or false"):
        parse_sets("position", ["bias_1d=no"])
    with pytest.raises(SweepError, match="unknown PCA-AE network 'foo'"):
        parse_sets("pca", ["network=talk,foo"])
    with pytest.raises(SweepError, match="unknown drawing 'skimage'"):
        parse_sets("pca", ["drawing=skimage"])


def test_the_train_section_sweeps_widths_given_as_lists(tmp_path):
    grid = parse_sets("train", ["channels=[8,16,32,64,64],[4, 4,4,4,4]", "lr=1e-3,2e-3"])
    assert grid[:2] == [{"channels": [8, 16, 32, 64, 64], "lr": 1e-3}, {"channels": [8, 16, 32, 64, 64], "lr": 2e-3}]
    assert len(grid) == 4 and setting_name(grid[3]) == "channels=4-4-4-4-4_lr=0.002"
    for bad in ("channels=8", "channels=[8,0]", "channels=[a]"):
        with pytest.raises(SweepError, match="channels: takes lists of positive integers"):
            parse_sets("train", [bad])
    for bad in ("latent_dim=abc", "latent_dim=0", "latent_dim=1.5"):
        with pytest.raises(SweepError, match="latent_dim: takes positive integers"):
            parse_sets("train", [bad])
    assert parse_sets("train", ["latent_dim=1,2"]) == [{"latent_dim": 1}, {"latent_dim": 2}]
    status = run_one("train", "smoke", 0, {"channels": [4, 4, 4, 4, 4], "bias": False}, str(tmp_path / "run"))
    assert status["status"] == "done", status.get("error")
    model = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    assert model.config.channels == [4, 4, 4, 4, 4] and not model.config.bias


def test_bad_arguments_and_an_unreachable_scheduler_are_one_line_errors(tmp_path, capsys):
    assert main(["sweep", "train", "--seeds", "2-1", "--out", str(tmp_path)]) == 2
    assert main(["sweep", "train", "--seeds", "0", "--set", "nope=1", "--out", str(tmp_path)]) == 2
    assert main(["sweep", "train", "--seeds", "0", "--smoke", "--scheduler", "tcp://127.0.0.1:9",
                 "--out", str(tmp_path / "unreachable"), "--quiet"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in errors[2]
    assert not is_done(run_directory(tmp_path / "unreachable", "train", {}, 0))


def test_a_two_worker_sweep_matches_reproduce_bit_for_bit_and_resumes(tmp_path):
    out = tmp_path / "sweep"
    summary = sweep("size", [0, 1], [{}], "smoke", out, workers=2, progress=False)
    assert summary["executed"] == 2 and not summary["settings"]["default"]["failed"]
    assert main(["reproduce", "size", "--smoke", "--seed", "1", "--out", str(tmp_path / "alone"), "--quiet"]) == 0
    alone = json.loads((tmp_path / "alone" / "metrics.json").read_text())
    swept = json.loads((run_directory(out, "size", {}, 1) / "metrics.json").read_text())
    for metrics in (alone, swept):
        metrics.pop("seconds")
    assert swept == alone
    stats = summary["settings"]["default"]["metrics"]["with_bias.test_mse"]
    assert stats["count"] == 2 and stats["min"] <= stats["median"] <= stats["max"]
    assert (out / "summary.json").exists() and (out / "headline.png").stat().st_size > 0
    (run_directory(out, "size", {}, 1) / "status.json").unlink()
    again = sweep("size", [0, 1], [{}], "smoke", out, workers=2, progress=False)
    assert again["executed"] == 1, "only the run without a done status is run again"


def test_a_failing_run_is_recorded_and_the_others_complete(tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(["sweep", "train", "--seeds", "0", "--smoke", "--set", "steps=-1,3", "--workers", "2",
                 "--out", str(out), "--quiet"])
    assert code == 1
    summary = json.loads((out / "summary.json").read_text())
    failed, done = summary["settings"]["steps=-1"], summary["settings"]["steps=3"]
    assert "steps must be >= 0" in failed["failed"][0]["error"] and not done["failed"]
    assert done["metrics"]["steps"]["median"] == 3
    assert "1 failed" in capsys.readouterr().out


def test_aggregation_counts_statements_and_spreads_lists_of_numbers(tmp_path):
    from npae.files import write_json
    from npae.sweep import aggregate

    for seed, (angle, aligned) in enumerate([(4.0, True), (40.0, False), (10.0, True)]):
        directory = run_directory(tmp_path, "pca", {}, seed)
        directory.mkdir(parents=True)
        write_json(directory / "metrics.json", {"settings": {"steps": 3}, "checks": {
            "angles": [angle, 90.0 - angle], "aligned": aligned, "matrix_matrix": [1.0, 0.0], "mse": 0.1 * seed}})
        write_json(directory / "status.json", {"status": "done"})
    summary = aggregate(tmp_path, "pca", [0, 1, 2], [{}])["settings"]["default"]
    assert summary["metrics"]["checks.angles[0]"]["median"] == 10.0
    assert summary["metrics"]["checks.angles[1]"]["max"] == 86.0
    assert summary["flags"]["checks.aligned"] == {"true": 2, "count": 3, "values": {0: True, 1: False, 2: True}}
    assert "settings.steps" not in summary["metrics"] and "checks.matrix_matrix[0]" not in summary["metrics"]
    assert "| checks.aligned | 2 of 3 runs |" in (tmp_path / "report.md").read_text()
