"""npae's training step at another commit against the working tree, in one process, interleaved.

    python benchmarks/bench_versions.py [COMMIT] [--repeats 30] [--train]

This virtual machine's speed moves by up to 2x for minutes at a time, so two versions timed in two
processes minutes apart can differ by more than the change between them.  This script extracts
``npae/`` at COMMIT (default HEAD) with ``git archive`` into a temporary folder as the package
``npae_then`` (every import inside npae is relative), imports it beside the working tree's ``npae``,
checks that both build the same weights and that one step of each leaves them within 1e-4 relative
(same function, different rounding), then times the steps in turns (medians).  What a version sets
for the whole process (BLAS threads, npae.allocator) then holds for both.  ``--train`` also runs the
Trainer of ``npae train`` (talk preset, seed 0, no checkpoints) of both versions in turns of 500 steps
to the end, and prints each one's total seconds and test MSE.
"""
from __future__ import annotations

import argparse
import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

import npae

ROOT = Path(__file__).resolve().parent.parent
POINTS = [([16, 16, 32, 64, 64], 16, "zeros"), (8, 64, "zeros"), ([16, 16, 32, 64, 64], 16, "nearest"),
          (8, 64, "nearest"), ([16, 16, 32, 64, 64], 16, "bilinear")]


def import_at(commit: str, folder: Path):
    """npae as it was at ``commit``, imported as the package ``npae_then``."""
    archive = subprocess.run(["git", "archive", commit, "npae"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "npae").rename(folder / "npae_then")
    sys.path.insert(0, str(folder))
    return importlib.import_module("npae_then")


def step(package, channels, batch, upsampling):
    """(the model, a function taking one training step) for a talk model of ``package``."""
    model = package.disk_autoencoder("talk", channels=channels, upsampling=upsampling, rng=0)
    optimizer = package.Adam(model, lr=1e-3)
    x = np.random.default_rng(0).random((batch, 1, 64, 64)).astype(np.float32)
    return model, lambda: package.training_step(model, optimizer, x)


def weights(model) -> np.ndarray:
    return np.concatenate([value.ravel() for value in model.params.values()])


def compare(then, channels, batch, upsampling, repeats: int) -> dict:
    (model_then, step_then), (model_now, step_now) = (step(p, channels, batch, upsampling) for p in (then, npae))
    if not np.array_equal(weights(model_then), weights(model_now)):
        raise AssertionError("the two versions build different initial weights")
    step_then(), step_now()
    difference = float(np.max(np.abs(weights(model_then) - weights(model_now))) / np.max(np.abs(weights(model_now))))
    if not difference < 1e-4:
        raise AssertionError(f"one step of each leaves weights {difference:.1e} apart: not the same function")
    for _ in range(4):
        step_then(), step_now()
    times = {"then": [], "now": []}
    for _ in range(repeats):
        for name, function in (("then", step_then), ("now", step_now)):
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    then_ms, now_ms = (1e3 * float(np.median(times[name])) for name in ("then", "now"))
    return {"channels": channels, "batch": batch, "upsampling": upsampling, "then_ms": then_ms, "now_ms": now_ms,
            "weights_rel_difference": difference}


def trainer(package):
    """The Trainer ``npae train`` runs for the talk preset and seed 0, without a run folder."""
    model = package.disk_autoencoder("talk", rng=np.random.default_rng([0, 0]))
    return package.train.Trainer(model, package.train.default_config("talk", seed=0, checkpoint_every=0))


def compare_trainers(then, chunk: int = 500) -> dict:
    """Seconds each version's Trainer spends in its steps (the two alternate every ``chunk`` steps), test MSE."""
    trainers = {"then": trainer(then), "now": trainer(npae)}
    seconds = {name: 0.0 for name in trainers}
    steps = trainers["now"].config.steps
    for until in range(chunk, steps + chunk, chunk):
        for name, run in trainers.items():
            start = time.perf_counter()
            run.run(until=min(until, steps), progress=False)
            seconds[name] += time.perf_counter() - start
    test = npae.data.disks(300, 64, rng=np.random.default_rng(12345))[0]
    mse = {name: float(np.mean((run.model.forward(test) - test) ** 2)) for name, run in trainers.items()}
    return {"steps": steps, **{f"{name}_seconds": seconds[name] for name in trainers},
            **{f"{name}_test_mse": mse[name] for name in trainers}}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit", nargs="?", default="HEAD")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--train", action="store_true", help="also time the Trainer of `npae train`, in turns")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        then = import_at(args.commit, Path(folder))
        sys.path.remove(folder)
        print(f"training step, float32, 64 x 64, median ms of {args.repeats} interleaved: npae at {args.commit} "
              "('then') and the working tree ('now')")
        print(f"{'channels':<15} {'decoder':<9} {'B':>4} {'then':>8} {'now':>8} {'now/then':>9}  weights differ")
        for channels, batch, upsampling in POINTS:
            row = compare(then, channels, batch, upsampling, args.repeats)
            rows.append(row)
            name = channels if np.isscalar(channels) else "-".join(map(str, channels))
            print(f"{name:<15} {upsampling:<9} {batch:>4} {row['then_ms']:8.2f} {row['now_ms']:8.2f} "
                  f"{row['now_ms'] / row['then_ms']:9.2f}  {row['weights_rel_difference']:.1e}", flush=True)
        if args.train:
            row = compare_trainers(then)
            rows.append(row)
            print(f"\nnpae train's Trainer, {row['steps']} steps in turns of 500: then {row['then_seconds']:.1f} s, "
                  f"now {row['now_seconds']:.1f} s ({row['now_seconds'] / row['then_seconds']:.2f}); test MSE on "
                  f"300 disks then {row['then_test_mse']:.4e}, now {row['now_test_mse']:.4e}")
    return rows


if __name__ == "__main__":
    main()
