"""The performance grid of issue 6: training step and inference of the talk autoencoder on a C x B grid.

    python benchmarks/bench_grid.py [--channels 8 16 32] [--batches 32 64 128] [--repeats 20]
                                    [--sizes 64 128 256] [--out benchmarks/results]

For each (C, B): one training step (forward + backward + Adam) and one inference (forward), median
of ``--repeats`` after warm-up, for npae (Numba kernels), npae on the plain-NumPy reference kernels,
PyTorch default (NCHW) and PyTorch channels_last (PyTorch rows only when installed); ratios are
computed pair by pair from medians measured in this one run.  Also, for npae: the peak memory a
step allocates (tracemalloc, which sees NumPy's buffers) against the sum of the activations of its
forward pass; the time per layer within a step; the step time against image size; and the time
from process start to the end of the first step, in a fresh process with an empty Numba cache and
again with the cache filled.  Writes grid.json and grid.png into ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_core  # noqa: E402  (same directory: the step builders and the machine description)

import npae  # noqa: E402
from npae.models import disk_autoencoder  # noqa: E402

torch = bench_core.torch


def npae_model(channels: int, size: int = 64):
    return disk_autoencoder("talk", channels=channels, image_size=size, rng=0)


def npae_inference(channels, batch, rng):
    model, x = npae_model(channels), npae.data.disks(batch, 64, rng=rng)[0]
    return lambda: model.forward(x)


def torch_inference(channels, batch, rng, channels_last=False):
    model = bench_core.torch_model(channels)
    x = torch.from_numpy(npae.data.disks(batch, 64, rng=rng)[0])
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    def forward():
        with torch.no_grad():
            model(x)

    return forward


def grid_row(channels, batch, repeats, rng) -> dict:
    row = bench_core.bench_step(channels, batch, repeats, rng)
    row["npae_infer_ms"] = bench_core.median_ms(npae_inference(channels, batch, rng), repeats)
    with npae.kernels.use_backend("numpy"):
        row["numpy_ref_infer_ms"] = bench_core.median_ms(npae_inference(channels, batch, rng), repeats)
    if torch:
        row["torch_infer_ms"] = bench_core.median_ms(torch_inference(channels, batch, rng), repeats)
        row["torch_channels_last_infer_ms"] = bench_core.median_ms(
            torch_inference(channels, batch, rng, channels_last=True), repeats)
    row.update(memory_row(channels, batch, rng))
    return row


def activation_bytes(channels, batch, rng) -> int:
    """Bytes of the input and of every layer output of one forward pass."""
    model, x = npae_model(channels), npae.data.disks(batch, 64, rng=rng)[0]
    total, h = x.nbytes, x
    for _, layer in model.named_layers():
        h = layer.forward(h)
        total += h.nbytes
    return total


def step_allocation(step) -> tuple[float, float]:
    """(peak, retained) bytes newly allocated during one step after three, by tracemalloc."""
    for _ in range(3):
        step()
    tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    step()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - before, after - before


def memory_row(channels, batch, rng) -> dict:
    """The peak memory a steady-state training step allocates, against the sum of its activations."""
    peak, retained = step_allocation(bench_core.npae_step(channels, batch, rng))
    mb = 2**20
    return {"activations_mb": activation_bytes(channels, batch, rng) / mb, "step_peak_mb": peak / mb,
            "step_retained_mb": retained / mb}


def layer_breakdown(channels, batch, repeats, rng) -> list[dict]:
    """Median forward and backward time of each layer of the model inside a training step."""
    model, x = npae_model(channels), npae.data.disks(batch, 64, rng=rng)[0]
    layers = list(model.named_layers())
    times = {name: ([], []) for name, _ in layers}
    for _ in range(repeats + 3):
        h = x
        for name, layer in layers:
            start = time.perf_counter()
            h = layer.forward(h)
            times[name][0].append(time.perf_counter() - start)
        _, grad = npae.mse_loss(h, x)
        for name, layer in reversed(layers):
            start = time.perf_counter()
            grad = layer.backward(grad)
            times[name][1].append(time.perf_counter() - start)
    return [{"layer": f"{name} {layer!r}", "forward_ms": float(np.median(times[name][0][3:]) * 1e3),
             "backward_ms": float(np.median(times[name][1][3:]) * 1e3)} for name, layer in layers]


def size_scaling(channels, batch, sizes, repeats, rng) -> list[dict]:
    rows = []
    for size in sizes:
        row = {"size": size,
               "npae_ms": bench_core.median_ms(bench_core.npae_step(channels, batch, rng, size=size), repeats, warmup=2)}
        if torch:
            row["torch_ms"] = bench_core.median_ms(bench_core.torch_step(channels, batch, rng, size=size), repeats,
                                                   warmup=2)
        rows.append(row)
    return rows


FIRST_STEP = """
import time; start = time.perf_counter()
import numpy as np, npae
model = npae.disk_autoencoder("talk", rng=0); opt = npae.Adam(model, lr=1e-3)
x = npae.data.disks(16, 64, rng=0)[0]
_, g = npae.mse_loss(model.forward(x), x); model.backward(g); opt.step()
print(time.perf_counter() - start, time.time())
"""


def time_to_first_step() -> dict:
    """Seconds from launching a fresh interpreter to the end of its first training step (imports and Numba
    compilation included), with an empty and with a filled Numba cache; also the whole process (exit included)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = []
        for _ in range(2):
            launched, start = time.time(), time.perf_counter()
            inner = subprocess.run([sys.executable, "-c", FIRST_STEP], env=env, capture_output=True, text=True,
                                   check=True)
            in_python, first_step_done = map(float, inner.stdout.split()[-2:])
            runs.append({"to_first_step_s": first_step_done - launched, "in_python_s": in_python,
                         "process_s": time.perf_counter() - start})
    return {"empty_cache": runs[0], "filled_cache": runs[1]}


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    channels = sorted({r["channels"] for r in rows})
    fig, axes = plt.subplots(1, len(channels), figsize=(4.2 * len(channels), 3.4), squeeze=False)
    systems = [("npae_ms", "npae"), ("numpy_ref_ms", "npae, NumPy ref"), ("torch_ms", "PyTorch"),
               ("torch_channels_last_ms", "PyTorch channels_last")]
    for ax, c in zip(axes[0], channels):
        sub = [r for r in rows if r["channels"] == c]
        for key, label in systems:
            if key in sub[0]:
                ax.plot([r["batch"] for r in sub], [r[key] for r in sub], "o-", label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch")
        ax.set_ylabel("ms per training step")
        ax.set_title(f"talk autoencoder, C = {c}, 64 x 64")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.savefig(path, dpi=90, bbox_inches="tight")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args(argv)
    if torch:
        torch.set_num_threads(bench_core.numba.get_num_threads())
    rng = np.random.default_rng(0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info = bench_core.machine()
    print("machine:", ", ".join(f"{k} {v}" for k, v in info.items()))
    results = {"machine": info, "date": time.strftime("%Y-%m-%d %H:%M"), "grid": []}
    print("\ntraining step (ms, median of {}) and inference (ms); ratio = npae / other".format(args.repeats))
    print(f"{'C':>3} {'B':>4} {'npae':>7} {'numpy':>7} {'torch':>7} {'t.cl':>7} {'/numpy':>7} {'/torch':>7} "
          f"{'/t.cl':>7} | {'inf npae':>8} {'inf torch':>9} {'/torch':>7} | {'act MB':>7} {'peak MB':>8}")
    for c in args.channels:
        for b in args.batches:
            r = grid_row(c, b, args.repeats, rng)
            results["grid"].append(r)
            print(f"{c:3d} {b:4d} {r['npae_ms']:7.1f} {r['numpy_ref_ms']:7.1f} {r.get('torch_ms', np.nan):7.1f} "
                  f"{r.get('torch_channels_last_ms', np.nan):7.1f} {bench_core.ratio(r['npae_ms'], r['numpy_ref_ms']):>7} "
                  f"{bench_core.ratio(r['npae_ms'], r.get('torch_ms')):>7} "
                  f"{bench_core.ratio(r['npae_ms'], r.get('torch_channels_last_ms')):>7} | "
                  f"{r['npae_infer_ms']:8.1f} {r.get('torch_infer_ms', np.nan):9.1f} "
                  f"{bench_core.ratio(r['npae_infer_ms'], r.get('torch_infer_ms')):>7} | "
                  f"{r['activations_mb']:7.1f} {r['step_peak_mb']:8.1f}", flush=True)
    results["layers"] = layer_breakdown(8, 64, args.repeats, rng)
    print("\nwhere npae's step goes (C = 8, batch 64): median ms per layer")
    for r in results["layers"]:
        print(f"  {r['layer']:<90} fwd {r['forward_ms']:7.3f}  bwd {r['backward_ms']:7.3f}")
    results["sizes"] = size_scaling(8, 32, args.sizes, max(5, args.repeats // 4), rng)
    print("\nimage size scaling, C = 8, batch 32 (ms per training step)")
    for r in results["sizes"]:
        print(f"  {r['size']:4d}: npae {r['npae_ms']:8.1f}  torch {r.get('torch_ms', np.nan):8.1f}  "
              f"ratio {bench_core.ratio(r['npae_ms'], r.get('torch_ms'))}")
    results["first_step"] = time_to_first_step()
    first = results["first_step"]
    print("\nprocess launch to end of first step: empty Numba cache {:.1f} s, filled cache {:.1f} s "
          "(whole process, exit included: {:.1f} s, {:.1f} s)".format(
              first["empty_cache"]["to_first_step_s"], first["filled_cache"]["to_first_step_s"],
              first["empty_cache"]["process_s"], first["filled_cache"]["process_s"]))
    (out / "grid.json").write_text(json.dumps(results, indent=2))
    plot(results["grid"], out / "grid.png")
    print(f"\nwrote {out / 'grid.json'} and {out / 'grid.png'}")
    return results


if __name__ == "__main__":
    main()
