"""Each CLI command runs on tiny settings and writes its files."""
import json
import subprocess
import sys

import numpy as np
import pytest

from npae import load_checkpoint
from npae.cli import build_parser, main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--steps", "30", "--batch-size", "8", "--channels", "4,4,4,8,8", "--checkpoint-every", "10",
                 "--train-size", "64", "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_train_writes_everything(run_dir):
    for name in ("checkpoint.npz", "metrics.json", "loss.png", "reconstructions.png", "latent.png",
                 "loss_history.npy"):
        assert (run_dir / name).stat().st_size > 0, name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["steps"] == 30
    assert all(np.isfinite(metrics[k]) for k in ("test_mse", "spearman_z_r2", "final_train_loss"))
    assert sorted(p.name for p in (run_dir / "snapshots").iterdir())[0] == "step_0000000.npz"
    assert load_checkpoint(run_dir / "checkpoint.npz").config.channels == [4, 4, 4, 8, 8]


def test_inspect_replays_the_recorded_loss(run_dir, tmp_path, capsys):
    save = tmp_path / "step.npz"
    assert main(["inspect", str(run_dir), "--step", "15", "--save", str(save)]) == 0
    printed = capsys.readouterr().out
    assert "step 15" in printed and "encoder.0.weight" in printed
    with np.load(save) as arrays:
        history = np.load(run_dir / "loss_history.npy")
        assert float(arrays["loss_before"]) == history[14]
        assert "param/decoder.0.weight/v" in arrays.files


def test_gradcheck_command(capsys):
    assert main(["gradcheck", "--preset", "official", "--max-elements", "8"]) == 0
    printed = capsys.readouterr().out
    assert "encoder.0" in printed and "FAILED" not in printed
    assert build_parser().parse_args(["gradcheck", "--channels", "2,2,3,4,4"]).channels == [2, 2, 3, 4, 4]
    assert main(["gradcheck", "--channels", "2,2,3,4,4", "--batch", "1", "--max-elements", "4"]) == 0
    assert "FAILED" not in capsys.readouterr().out


def test_bad_arguments_are_reported(tmp_path, capsys):
    assert main(["inspect", str(tmp_path), "--step", "3"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--preset", "huge"])
    for widths in ("0", "8,a", "8,-1"):
        with pytest.raises(SystemExit):
            main(["train", "--channels", widths, "--out", str(tmp_path / "never")])
        assert "argument --channels: must be" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "npae", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--latent-dim" in result.stdout and "default" in result.stdout


def test_airy_command(tmp_path, capsys):
    assert main(["airy", "--points", "128", "--pixel-disks", "50", "--out", str(tmp_path)]) == 0
    numbers = json.loads((tmp_path / "airy.json").read_text())
    assert abs(numbers["kR3_energy_solver"] - 7.8373) < 1e-3
    assert (tmp_path / "airy.png").stat().st_size > 0
    assert "k R^3" in capsys.readouterr().out


def test_inspect_reads_only_and_refuses_steps_past_the_run(run_dir, capsys):
    before = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    assert main(["inspect", str(run_dir), "--step", "25"]) == 0
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == before
    assert main(["inspect", str(run_dir), "--step", "31"]) == 2
    assert "steps 0 to 30" in capsys.readouterr().err


def test_train_refuses_to_overwrite_a_run(run_dir, capsys):
    assert main(["train", "--steps", "2", "--out", str(run_dir), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
