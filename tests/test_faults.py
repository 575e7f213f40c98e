"""Faults and bad input: nothing lost, nothing misleading (each case of issue 15 on tiny settings)."""
import errno
import io
import json
import os
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

import npae
from npae import run as runs
from npae.checkpoint import CheckpointError
from npae.cli import main
from npae.train import Trainer, TrainConfig


def tiny_model(seed=0):
    return npae.disk_autoencoder("talk", image_size=16, channels=4, rng=np.random.default_rng(seed))


def cli(*argv):
    return main([str(a) for a in argv])


# 1. gradcheck never passes a NaN

def test_gradcheck_fails_on_a_nan_analytic_gradient_and_raises():
    bad = lambda x: (float((x ** 2).sum()), np.full_like(x, np.nan))  # noqa: E731
    report = npae.gradcheck(bad, np.ones((2, 3)))
    assert not report.ok and "analytic gradient NaN/inf at index (0, 0)" in str(report)
    with pytest.raises(npae.GradcheckError):
        npae.gradcheck(bad, np.ones((2, 3)), raise_on_fail=True)


def test_gradcheck_fails_on_a_nan_input_a_nan_weight_and_a_nan_numeric_gradient():
    square = lambda x: (float((x ** 2).sum()), 2 * x)  # noqa: E731
    report = npae.gradcheck(square, np.array([1.0, np.nan, 2.0]))
    assert not report.ok and "value NaN/inf at index (1,)" in report.checks[0].where
    conv = npae.Conv2d(1, 2, 3, rng=0, dtype=np.float64)
    conv.params["weight"][1, 0, 2, 2] = np.nan
    report = npae.gradcheck(conv, np.ones((1, 1, 4, 4)))
    weight = next(c for c in report.checks if c.name == "weight")
    assert not report.ok and not weight.ok and "(1, 0, 2, 2)" in weight.where
    with np.errstate(all="ignore"):  # sqrt(0 - h) is NaN: the numeric side fails, the analytic one is finite
        report = npae.gradcheck(lambda x: (float(np.sum(np.sqrt(x))), np.zeros_like(x)), np.array([0.0, 1.0]))
    assert not report.ok and np.isnan(report.checks[0].numeric)


# 2. divergence that stays finite, and the last good checkpoint resumes

def test_a_finite_blow_up_stops_before_anything_non_finite_is_written(tmp_path):
    config = TrainConfig(steps=300, batch_size=8, lr=3.0, train_size=32, checkpoint_every=5)
    trainer = Trainer(tiny_model(), config, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(npae.TrainingDiverged, match=r"blew up|overflowed|NaN") as caught:
            trainer.run(progress=False)
    assert "saved in" in str(caught.value)
    for path in [tmp_path / "checkpoint.npz", *sorted((tmp_path / "snapshots").glob("*.npz"))]:
        with np.load(path, allow_pickle=False) as archive:
            assert all(np.all(np.isfinite(archive[key])) for key in archive.files if key != "meta"), path
    resumed = Trainer.resume(tmp_path / "checkpoint.npz")
    assert resumed.step_count == trainer.step_count


def test_an_update_that_overflows_adams_moments_is_undone():
    model = tiny_model()
    optimizer = npae.Adam(model, lr=1e-3)
    x = npae.data.disks(4, 16, rng=np.random.default_rng(0))[0]
    npae.training_step(model, optimizer, x)
    before = {k: v.copy() for k, v in model.params.items()}
    moments = {k: {m: v.copy() for m, v in s.items()} for k, s in optimizer.state.items()}
    scaled = model.decoder.layers[0]
    original = scaled.backward

    def huge(grad):
        result = original(grad)
        scaled.grads["weight"][...] = 3e38
        return result

    scaled.backward = huge
    with pytest.raises(npae.TrainingDiverged, match="overflowed: decoder.0.weight/v"):
        npae.training_step(model, optimizer, x)
    assert all(np.array_equal(before[k], v) for k, v in model.params.items())
    assert all(np.array_equal(moments[k][m], optimizer.state[k][m]) for k in moments for m in ("m", "v"))
    assert optimizer.step_count == 1


def test_cli_divergence_names_a_checkpoint_that_resumes(tmp_path, capsys):
    out = tmp_path / "R"
    assert cli("train", "--steps", 300, "--lr", 3, "--checkpoint-every", 5, "--out", out, "--quiet") == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and f"saved in {out / 'checkpoint.npz'}" in error[0]
    assert Trainer.resume(out / "checkpoint.npz").step_count >= 1


# 3. --overwrite validates first and keeps the old run until the new one has a checkpoint

def _small_run(out, *extra):
    return cli("train", "--steps", 4, "--checkpoint-every", 2, "--out", out, "--quiet", *extra)


def test_overwrite_with_a_bad_argument_deletes_nothing(tmp_path):
    out = tmp_path / "victim"
    assert _small_run(out) == 0
    files = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(SystemExit):
        _small_run(out, "--overwrite", "--batch-size", 0)
    assert cli("train", "--steps", 4, "--out", out, "--overwrite", "--lr", -1, "--quiet") == 2
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == files


def test_a_replacement_that_fails_before_its_first_checkpoint_puts_the_old_run_back(tmp_path, monkeypatch):
    out = tmp_path / "victim"
    assert _small_run(out) == 0
    files = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def full_disk(self, path=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(Trainer, "save", full_disk)
    assert _small_run(out, "--overwrite", "--seed", 3) == 1
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == files


def test_overwrite_replaces_the_run_once_the_new_one_has_started(tmp_path):
    out = tmp_path / "run"
    assert _small_run(out) == 0
    assert _small_run(out, "--overwrite", "--seed", 5) == 0
    assert json.loads((out / "metrics.json").read_text())["seed"] == 5
    assert not (out / runs.ASIDE_NAME).exists()
    assert npae.Trainer.resume(out / "snapshots" / "step_0000002.npz").config.seed == 5


# 4. a run folder is locked while a run writes into it

def test_a_second_run_into_a_busy_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "S"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out.mkdir()
        (out / runs.LOCK_NAME).write_text(f"{sleeper.pid}\n")
        assert _small_run(out) == 1
        assert f"in use by process {sleeper.pid}" in capsys.readouterr().err
        assert not (out / "checkpoint.npz").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert _small_run(out) == 0, "a lock whose process is gone is stale and taken over"
    assert not (out / runs.LOCK_NAME).exists()


# 5. expected file-system errors are one line, no traceback

def test_out_naming_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert _small_run(tmp_path / "afile" / "run") == 1
    assert cli("airy", "--out", tmp_path / "afile", "--pixel-disks", 0, "--points", 64) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all("Traceback" not in line and "afile" in line for line in lines)


def test_read_only_and_full_disks_are_one_line_and_leave_no_partial_file(tmp_path, monkeypatch, capsys):
    import npae.files

    real_replace = os.replace

    def refuse(source, target):
        if str(target).endswith(".png"):
            raise PermissionError(errno.EACCES, "Permission denied", str(target))
        return real_replace(source, target)

    monkeypatch.setattr(npae.files.os, "replace", refuse)
    assert _small_run(tmp_path / "ro") == 1
    assert "Permission denied" in capsys.readouterr().err
    monkeypatch.undo()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(npae.plots.plt.Figure, "savefig", full)
    assert _small_run(tmp_path / "full") == 1
    assert capsys.readouterr().err.strip() == "npae train: error: No space left on device"
    assert not (tmp_path / "full" / "loss.png").exists()
    assert not list((tmp_path / "full").rglob("*.tmp"))


def test_a_crafted_npy_header_is_refused_without_allocating(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10 ** 12,)})
    with zipfile.ZipFile(tmp_path / "crafted.npz", "w") as archive:
        archive.writestr("meta.npy", header.getvalue() + bytes(64))
    with pytest.raises(CheckpointError, match="too large|corrupt"):
        npae.load_checkpoint(tmp_path / "crafted.npz")


# 6. resume from the command line, bit for bit; stale temporaries removed

def test_resume_continues_bit_for_bit_and_writes_results(tmp_path):
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    assert cli("train", "--steps", 8, "--checkpoint-every", 2, "--out", straight, "--quiet") == 0
    assert cli("train", "--steps", 8, "--checkpoint-every", 2, "--out", interrupted, "--quiet") == 0
    for name in ("checkpoint.npz", "metrics.json", "loss.png"):
        (interrupted / name).unlink()
    (interrupted / "snapshots" / "step_0000006.npz").rename(interrupted / "checkpoint.npz")
    for late in ("step_0000008.npz",):
        (interrupted / "snapshots" / late).unlink()
    (interrupted / ".checkpoint-killed.npz.tmp").write_bytes(b"half")
    (interrupted / "snapshots" / ".step_0000008-killed.npz.tmp").write_bytes(b"half")
    assert cli("train", "--out", interrupted, "--resume", "--quiet") == 0
    assert not list(interrupted.rglob("*.tmp"))
    a, b = npae.load_checkpoint(straight), npae.load_checkpoint(interrupted)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    metrics = json.loads((interrupted / "metrics.json").read_text())
    assert metrics["steps"] == 8 and (interrupted / "loss.png").stat().st_size > 0


def test_rerunning_without_resume_or_overwrite_says_how_to_go_on(tmp_path, capsys):
    out = tmp_path / "run"
    assert _small_run(out) == 0
    assert _small_run(out) == 2
    assert "--resume" in capsys.readouterr().err
    assert cli("train", "--out", tmp_path / "empty", "--resume", "--quiet") == 2


# 7. the smaller items

def test_zero_steps_write_valid_json(tmp_path):
    assert cli("train", "--steps", 0, "--out", tmp_path, "--quiet") == 0
    text = (tmp_path / "metrics.json").read_text()
    assert json.loads(text)["final_train_loss"] is None and "NaN" not in text


def test_negative_seed_names_the_option(capsys):
    with pytest.raises(SystemExit):
        cli("train", "--seed", -1)
    assert "argument --seed: must be a non-negative integer, got -1" in capsys.readouterr().err


def test_inspect_names_the_file_it_wrote_and_validates_the_weights(tmp_path, capsys):
    out = tmp_path / "run"
    assert _small_run(out) == 0
    assert cli("inspect", out, "--step", 2, "--save", tmp_path / "step") == 0
    assert f"to {tmp_path / 'step.npz'}" in capsys.readouterr().out and (tmp_path / "step.npz").exists()
    with np.load(out / "checkpoint.npz", allow_pickle=False) as archive:
        contents = {key: archive[key] for key in archive.files}
    contents["model/decoder.0.weight"] = contents["model/decoder.0.weight"][..., :1]
    np.savez(out / "checkpoint.npz", **contents)
    assert cli("inspect", out, "--step", 2) == 2
    assert "do not fit" in capsys.readouterr().err


def test_mse_loss_refuses_mixed_dtypes():
    with pytest.raises(TypeError, match="float32.*float64"):
        npae.mse_loss(np.zeros(3, np.float32), np.zeros(3, np.float64))


def test_checkpoints_get_the_same_permissions_as_other_outputs(tmp_path):
    mask = os.umask(0o022)
    try:
        assert _small_run(tmp_path / "run") == 0
    finally:
        os.umask(mask)
    assert (tmp_path / "run" / "checkpoint.npz").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "run" / "metrics.json").stat().st_mode & 0o777 == 0o644


def test_a_rise_from_a_tiny_loss_below_the_runs_largest_loss_is_not_a_blow_up():
    trainer = Trainer(tiny_model(), TrainConfig(steps=1, batch_size=4, train_size=8, checkpoint_every=0))
    trainer.loss_history = [0.3] + [1e-6] * 60
    assert trainer.max_loss() == pytest.approx(0.3)
    trainer.loss_history = [0.3] + [0.01] * 60
    assert trainer.max_loss() == pytest.approx(10.0)
