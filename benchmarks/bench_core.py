"""Time npae's layers and one training step against the plain-NumPy reference and PyTorch.

    python benchmarks/bench_core.py [--channels 8] [--batch 64] [--repeats 30] [--json out.json]

Every row is a median over ``--repeats`` runs after warm-up, all measured in
this one process, and ratios are computed pair by pair from those medians.
"npae" runs the Numba kernels, "numpy ref" the same layers on the plain-NumPy
reference kernels (``npae.kernels.use_backend("numpy")``), and PyTorch (when
installed) runs with as many threads as Numba.
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import numba
import numpy as np

import npae
from npae.models import disk_autoencoder
from npae.report import cpu_name

try:
    import torch
except ImportError:  # PyTorch is an optional reference
    torch = None


def median_ms(fn, repeats: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def machine() -> dict:
    return {"cpu": cpu_name(), "numba_threads": numba.get_num_threads(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__, "npae": npae.__version__,
            "torch": torch.__version__ if torch else None}


def npae_layers(channels: int, rng) -> dict:
    """The layers of one talk block at the 64 -> 32 resolution step, plus the literal up/sub-sampling ones."""
    return {
        "Conv2d 3x3 stride 2 (1->C, 64->32)": (npae.Conv2d(1, channels, 3, stride=2, rng=rng), (1, 64)),
        "Conv2d 3x3 same (C->C, 32)": (npae.Conv2d(channels, channels, 3, rng=rng), (channels, 32)),
        "ConvTranspose2d 3x3 s2 (C->1, 32->64)": (npae.ConvTranspose2d(channels, 1, 3, 2, 1, 1, rng=rng),
                                                   (channels, 32)),
        "Subsample 2 (C, 64)": (npae.Subsample(2), (channels, 64)),
        "Upsample zeros 2 (C, 32)": (npae.Upsample(2, "zeros"), (channels, 32)),
        "Upsample nearest 2 (C, 32)": (npae.Upsample(2, "nearest"), (channels, 32)),
        "Bias (C, 32)": (npae.Bias(channels), (channels, 32)),
        "LeakyReLU (C, 32)": (npae.LeakyReLU(0.2), (channels, 32)),
    }


def torch_layer(name: str, channels: int):
    nn = torch.nn
    table = {
        "Conv2d 3x3 stride 2 (1->C, 64->32)": nn.Conv2d(1, channels, 3, 2, 1, bias=False),
        "Conv2d 3x3 same (C->C, 32)": nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
        "ConvTranspose2d 3x3 s2 (C->1, 32->64)": nn.ConvTranspose2d(channels, 1, 3, 2, 1, 1, bias=False),
        "Upsample nearest 2 (C, 32)": nn.Upsample(scale_factor=2, mode="nearest"),
        "LeakyReLU (C, 32)": nn.LeakyReLU(0.2),
    }
    return table.get(name)


def bench_layers(channels, batch, repeats, rng) -> list[dict]:
    rows = []
    for name, (layer, (c, size)) in npae_layers(channels, rng).items():
        x = rng.standard_normal((batch, c, size, size)).astype(np.float32)
        row = {"layer": name}
        for backend in ("numba", "numpy"):
            with npae.kernels.use_backend(backend):
                y = layer.forward(x)
                g = np.ones_like(y)

                def forward_backward():
                    layer.forward(x)
                    layer.backward(g)

                row[f"{backend}_fwd"] = median_ms(lambda: layer.forward(x), repeats)
                row[f"{backend}_fwdbwd"] = median_ms(forward_backward, repeats)
        module = torch_layer(name, channels) if torch else None
        if module is not None:
            tx = torch.from_numpy(x).requires_grad_(True)

            def fwd():
                with torch.no_grad():
                    module(tx)

            def fwdbwd():
                module(tx).sum().backward()

            row["torch_fwd"] = median_ms(fwd, repeats)
            row["torch_fwdbwd"] = median_ms(fwdbwd, repeats)
        rows.append(row)
    return rows


def npae_step(channels, batch, rng, size=64):
    """One training step as npae.Trainer takes it (:func:`npae.training_step`: forward, MSE, backward, checks, Adam)."""
    model = disk_autoencoder("talk", channels=channels, image_size=size, rng=0)
    optimizer = npae.Adam(model, lr=1e-3)
    x = npae.data.disks(batch, size, rng=rng)[0]
    return lambda: npae.training_step(model, optimizer, x)


def torch_model(channels, size=64):
    """The talk autoencoder as a PyTorch user writes it: log2(size) stride-2 convs, nearest upsample + conv."""
    nn = torch.nn
    widths = [1] + [channels] * (int(np.log2(size)) - 1) + [1]
    encoder, decoder = [], []
    for c_in, c_out in zip(widths[:-1], widths[1:]):
        encoder += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
    for c_in, c_out in zip(widths[::-1][:-1], widths[::-1][1:]):
        decoder += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1),
                    nn.LeakyReLU(0.2)]
    return nn.Sequential(*encoder, *decoder)


def torch_step(channels, batch, rng, channels_last=False, size=64):
    model = torch_model(channels, size)
    x = torch.from_numpy(npae.data.disks(batch, size, rng=rng)[0])
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), x)
        loss.backward()
        optimizer.step()

    return step


def bench_step(channels, batch, repeats, rng) -> dict:
    row = {"channels": channels, "batch": batch}
    row["npae_ms"] = median_ms(npae_step(channels, batch, rng), repeats)
    with npae.kernels.use_backend("numpy"):
        row["numpy_ref_ms"] = median_ms(npae_step(channels, batch, rng), repeats)
    if torch:
        row["torch_ms"] = median_ms(torch_step(channels, batch, rng), repeats)
        row["torch_channels_last_ms"] = median_ms(torch_step(channels, batch, rng, channels_last=True), repeats)
    return row


def ratio(a, b) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    args = parser.parse_args(argv)
    if torch:
        torch.set_num_threads(numba.get_num_threads())
    rng = np.random.default_rng(0)
    info = machine()
    print("machine:", ", ".join(f"{k} {v}" for k, v in info.items()))
    print(f"\nlayers, float32, batch {args.batch}, C = {args.channels} (median ms; ratio = npae / other)")
    layers = bench_layers(args.channels, args.batch, args.repeats, rng)
    print(f"{'layer':<40} {'npae f':>8} {'npae f+b':>9} {'numpy f+b':>10} {'torch f+b':>10} "
          f"{'vs numpy':>9} {'vs torch':>9}")
    for r in layers:
        print(f"{r['layer']:<40} {r['numba_fwd']:8.3f} {r['numba_fwdbwd']:9.3f} {r['numpy_fwdbwd']:10.3f} "
              f"{r.get('torch_fwdbwd', float('nan')):10.3f} {ratio(r['numba_fwdbwd'], r['numpy_fwdbwd']):>9} "
              f"{ratio(r['numba_fwdbwd'], r.get('torch_fwdbwd')):>9}")
    step = bench_step(args.channels, args.batch, args.repeats, rng)
    print(f"\ntraining step of the talk autoencoder (forward + backward + Adam), 64x64, float32, "
          f"C = {args.channels}, batch {args.batch} (median of {args.repeats})")
    print(f"  npae (Numba)           {step['npae_ms']:8.2f} ms")
    print(f"  npae on NumPy ref      {step['numpy_ref_ms']:8.2f} ms   npae / numpy ref = "
          f"{ratio(step['npae_ms'], step['numpy_ref_ms'])}")
    if torch:
        print(f"  PyTorch default        {step['torch_ms']:8.2f} ms   npae / torch = "
              f"{ratio(step['npae_ms'], step['torch_ms'])}")
        print(f"  PyTorch channels_last  {step['torch_channels_last_ms']:8.2f} ms   npae / torch channels_last = "
              f"{ratio(step['npae_ms'], step['torch_channels_last_ms'])}")
    else:
        print("  PyTorch: not installed (pip install torch==2.13.0 to compare)")
    results = {"machine": info, "layers": layers, "step": step}
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(results, stream, indent=2)
    return results


if __name__ == "__main__":
    main()
