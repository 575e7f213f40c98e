"""What the split matrix product buys: npae's training step with `npae.kernels.blas.matmul` against the same
step with each product made by one ``np.matmul`` call on one BLAS thread (what npae did before), interleaved.

    python benchmarks/bench_blas.py [--repeats 40]

Both models start from the same weights and take the same steps; the script first checks that one step
of each leaves weights equal to 1e-5 (the two differ only in rounding), then times them in turns, and
prints the matrix products of the preset's step (shape, ms, GFLOP/s) with the split and without.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_core  # noqa: E402

import npae  # noqa: E402
import npae.nn.conv as conv_module  # noqa: E402
from npae.kernels import blas  # noqa: E402
from npae.presets import TALK_CHANNELS  # noqa: E402

POINTS = [(list(TALK_CHANNELS), 16, "zeros"), (8, 64, "zeros"), (8, 16, "zeros"),
          (list(TALK_CHANNELS), 16, "nearest"), (8, 64, "nearest")]


def one_blas_call(a, b, out=None):
    """The former product: one np.matmul on one BLAS thread."""
    if blas.blas_threads() != 1:
        blas.set_blas_threads(1)
    return np.matmul(a, b, out=out)


PRODUCTS = {"split": blas.matmul, "one call": one_blas_call}


def with_product(product, function):
    """``function`` run with the convolutions' matrix product set to ``product``."""
    def run():
        conv_module.matmul = product
        return function()
    return run


def check_same_step(channels, batch, upsampling, x) -> float:
    """Max relative difference of the weights after one step with each product."""
    weights = []
    for name in PRODUCTS:
        model = bench_core.talk_model(channels, upsampling)
        with_product(PRODUCTS[name], bench_core.npae_step(model, x))()
        weights.append(np.concatenate([p.ravel() for p in model.params.values()]))
    return float(np.max(np.abs(weights[0] - weights[1])) / np.max(np.abs(weights[1])))


def step_rows(repeats: int) -> list[dict]:
    rows = []
    for channels, batch, upsampling in POINTS:
        x = npae.data.disks(batch, 64, rng=np.random.default_rng(0))[0]
        difference = check_same_step(channels, batch, upsampling, x)
        functions = {name: with_product(product, bench_core.npae_step(bench_core.talk_model(channels, upsampling), x))
                     for name, product in PRODUCTS.items()}
        medians = bench_core.interleaved_medians(functions, repeats)
        row = {"channels": channels if np.isscalar(channels) else "-".join(map(str, channels)), "batch": batch,
               "upsampling": upsampling, "weights_rel_difference": difference,
               **{f"{name}_ms": 1e3 * seconds for name, seconds in medians.items()}}
        rows.append(row)
        print(f"{row['channels']:<15} {upsampling:<8} {batch:>4} {row['split_ms']:9.2f} {row['one call_ms']:9.2f} "
              f"{row['split_ms'] / row['one call_ms']:7.2f}  {difference:.1e}", flush=True)
    return rows


def product_rows(steps: int = 100) -> list[dict]:
    """Every product of the preset's step: median ms with each implementation (the steps alternate)."""
    x = npae.data.disks(16, 64, rng=np.random.default_rng(0))[0]
    times = defaultdict(list)

    def timed(name, product):
        def call(a, b, out=None):
            start = time.perf_counter()
            result = product(a, b, out=out)
            times[(name, a.shape, b.shape)].append(time.perf_counter() - start)
            return result
        return call

    step = bench_core.npae_step(bench_core.talk_model(list(TALK_CHANNELS)), x)
    runs = [with_product(timed(name, product), step) for name, product in PRODUCTS.items()]
    for _ in range(steps):
        for run in runs:
            run()
    rows = []
    for a_shape, b_shape in dict.fromkeys((a, b) for _, a, b in times):
        flops = 2 * a_shape[0] * a_shape[1] * b_shape[1]
        split, single = (1e3 * float(np.median(times[(name, a_shape, b_shape)])) for name in ("split", "one call"))
        rows.append({"a": a_shape, "b": b_shape, "split_ms": split, "one_call_ms": single})
        print(f"{str(a_shape):>12} @ {str(b_shape):<14} {split:7.3f} {single:7.3f} {split / single:6.2f}"
              f"   {flops / split / 1e6:6.1f} {flops / single / 1e6:6.1f}")
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args(argv)
    print("machine:", ", ".join(f"{k} {v}" for k, v in bench_core.machine().items()))
    print("\ntraining step (forward + MSE + backward + Adam), float32, 64 x 64, median ms of "
          f"{args.repeats} interleaved")
    print(f"{'channels':<15} {'decoder':<8} {'B':>4} {'split':>9} {'one call':>9} {'ratio':>7}  weights differ")
    steps = step_rows(args.repeats)
    print("\nthe products of the preset's step (B 16), median ms and GFLOP/s: split, one call, ratio")
    products = product_rows()
    return {"steps": steps, "products": products}


if __name__ == "__main__":
    main()
