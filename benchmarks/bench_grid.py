"""The speed table of npae against PyTorch on the same function, plus the cold start.

    python benchmarks/bench_grid.py [--repeats 25] [--quick] [--out benchmarks/results]

Rows: the talk autoencoder with C = 8 at every resolution (batch 64 and 16) and with the preset's
widths (TALK_CHANNELS, 16-16-32-64-64; batch 16), for each up-sampling npae offers (zeros: the transposed
convolution; nearest and bilinear: Upsample then a 3x3 convolution), then C in {16, 32} x B in
{32, 64, 128} with the zero-insertion decoder.  Each row checks first that the PyTorch twin
computes npae's function (:func:`bench_core.check_twin`), then times one training step
(forward + MSE + backward + Adam) of npae, PyTorch and PyTorch channels_last, interleaved, medians of
``--repeats``.  Then the per-layer table of the C = 8, B = 64 step, and the time from launching a
process to the end of its first training step with an empty and with a filled Numba cache.
Writes grid.json into ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_core  # noqa: E402

from npae.presets import TALK_CHANNELS  # noqa: E402

PRESET_WIDTHS = list(TALK_CHANNELS)
HEADLINE = [(8, 64), (8, 16), (PRESET_WIDTHS, 16)]
GRID = [(c, b) for c in (16, 32) for b in (32, 64, 128)]

FIRST_STEP = """
import time; start = time.perf_counter()
import numpy as np, npae
model = npae.disk_autoencoder("talk", rng=0); opt = npae.Adam(model, lr=1e-3)
x = npae.data.disks(16, 64, rng=0)[0]
npae.training_step(model, opt, x)
print(time.perf_counter() - start, time.time())
"""


def time_to_first_step() -> dict:
    """Seconds from launching a fresh interpreter to the end of its first training step (imports and Numba
    compilation included), with an empty and with a filled Numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = []
        for _ in range(2):
            launched = time.time()
            inner = subprocess.run([sys.executable, "-c", FIRST_STEP], env=env, capture_output=True, text=True,
                                   check=True)
            runs.append(float(inner.stdout.split()[-1]) - launched)
    return {"empty_cache_s": runs[0], "filled_cache_s": runs[1]}


def print_row(r) -> None:
    t, cl = r.get("torch_ms"), r.get("torch_channels_last_ms")
    print(f"{str(r['channels']):<14} {r['upsampling']:<9} {r['batch']:>4} {r['npae_ms']:9.1f} "
          f"{t if t else float('nan'):9.1f} {cl if cl else float('nan'):9.1f} {bench_core.ratio(r['npae_ms'], t):>8} "
          f"{bench_core.ratio(r['npae_ms'], cl):>8}  {r.get('twin_rel_error', float('nan')):.1e}", flush=True)
    if "torch_fused_channels_last_ms" in r:
        fused = r["torch_fused_channels_last_ms"]
        print(f"{'':<14} {'':<9} {'':>4} {'':>9} {'':>9} {fused:9.1f} {'':>8} {bench_core.ratio(r['npae_ms'], fused):>8}"
              f"  {r['fused_twin_rel_error']:.1e}  <- PyTorch channels_last with npae's 4x4 transposed convolutions",
              flush=True)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="the headline rows only, no grid, no cold start")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args(argv)
    if bench_core.torch:
        bench_core.torch.set_num_threads(bench_core.numba.get_num_threads())
    info = bench_core.machine()
    print("machine:", ", ".join(f"{k} {v}" for k, v in info.items()))
    results = {"machine": info, "date": time.strftime("%Y-%m-%d %H:%M"), "repeats": args.repeats, "steps": []}
    print(f"\ntraining step (forward + MSE + backward + Adam), float32, 64 x 64, median ms of {args.repeats} "
          f"interleaved; ratios npae / PyTorch; last column: twin check (max rel. error of the outputs)")
    print(f"{'channels':<14} {'decoder':<9} {'B':>4} {'npae':>9} {'PyTorch':>9} {'t. c_last':>9} {'/torch':>8} "
          f"{'/c_last':>8}  check")
    points = [(c, b, mode) for mode in ("zeros", "nearest", "bilinear") for c, b in HEADLINE]
    if not args.quick:
        points += [(c, b, "zeros") for c, b in GRID]
    for channels, batch, mode in points:
        row = bench_core.step_times(channels, batch, mode, args.repeats)
        results["steps"].append(row)
        print_row(row)
    print("\nper layer of the C = 8, B = 64 step (zero-insertion decoder), median ms:")
    results["layers"] = bench_core.layer_times(8, 64, "zeros", args.repeats)
    bench_core.print_layers(results["layers"])
    if not args.quick:
        results["first_step"] = time_to_first_step()
        print("\nprocess launch to the end of its first training step: empty Numba cache {empty_cache_s:.1f} s, "
              "filled cache {filled_cache_s:.1f} s".format(**results["first_step"]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "grid.json").write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out / 'grid.json'}")
    return results


if __name__ == "__main__":
    main()
