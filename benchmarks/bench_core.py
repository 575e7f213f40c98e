"""npae against PyTorch on the same function: the twin model, its check, step builders and a per-layer table.

    python benchmarks/bench_core.py [--channels 8 | 16,16,32,64,64] [--batch 64] [--upsampling zeros] [--repeats 25]

A ratio counts only between two programs that compute the same function.  :func:`torch_twin`
builds, layer by layer, the PyTorch model that computes what an npae model computes (same
layers, same FLOPs: a Bias layer becomes the bias of the convolution before it), copies npae's
weights into it, and :func:`check_twin` compares the two outputs on one batch (relative error
below 1e-5 in float32) before anything is timed.  Timings are medians of interleaved runs
(npae, PyTorch, PyTorch channels_last, npae, ...) in this one process; PyTorch runs with as
many threads as Numba.
"""
from __future__ import annotations

import argparse
import platform
import time

import numba
import numpy as np

import npae
from npae.cli import channel_widths
from npae.models import disk_autoencoder
from npae.report import cpu_name

try:
    import torch
except ImportError:  # PyTorch is an optional reference
    torch = None

TWIN_TOLERANCE = 1e-5


def machine() -> dict:
    return {"cpu": cpu_name(), "numba_threads": numba.get_num_threads(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__, "npae": npae.__version__,
            "torch": torch.__version__ if torch else None}


def interleaved_medians(functions: dict, repeats: int, warmup: int = 3) -> dict:
    """Median seconds of each function, the functions called in turn ``repeats`` times after warm-up."""
    for _ in range(warmup):
        for fn in functions.values():
            fn()
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def talk_model(channels, upsampling: str = "zeros", size: int = 64):
    """The talk autoencoder with ``channels`` (one number for every block, or the list of hidden widths)."""
    return disk_autoencoder("talk", channels=channels, upsampling=upsampling, image_size=size, rng=0)


class _Subsample(torch.nn.Module if torch else object):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x[:, :, ::self.factor[0], ::self.factor[1]]


def _torch_layer(layer, fused_nearest: bool = False):
    """The PyTorch module computing what the npae layer computes, with npae's weights copied in.

    An npae NearestUpConv2d becomes, as a PyTorch user writes it, Upsample(nearest) then Conv2d 3x3; with
    ``fused_nearest``, the 4x4 ConvTranspose2d that npae computes (same function, same algorithm)."""
    nn = torch.nn
    if isinstance(layer, npae.NearestUpConv2d) and fused_nearest:
        layer.forward(np.zeros((1, layer.in_channels, 1, 1), layer.params["weight"].dtype))
        module = nn.ConvTranspose2d(layer.in_channels, layer.out_channels, 4, 2, 1, bias=False)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(layer._transposed.params["weight"]))
        return module
    if isinstance(layer, npae.NearestUpConv2d):
        conv = nn.Conv2d(layer.in_channels, layer.out_channels, 3, 1, 1, bias=False)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(layer.params["weight"]))
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv)
    if isinstance(layer, npae.Conv2d):
        pt, pb, pl, pr = layer.pads
        if (pt, pl) != (pb, pr):
            raise ValueError(f"no symmetric PyTorch padding for {layer!r}")
        module = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, (pt, pl), bias=False)
    elif isinstance(layer, npae.ConvTranspose2d):
        module = nn.ConvTranspose2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                                    layer.padding, layer.output_padding, bias=False)
    elif isinstance(layer, npae.LeakyReLU):
        return nn.LeakyReLU(layer.alpha)
    elif isinstance(layer, npae.Sigmoid):
        return nn.Sigmoid()
    elif isinstance(layer, npae.Upsample) and layer.mode in ("nearest", "bilinear"):
        extra = {"align_corners": False} if layer.mode == "bilinear" else {}
        return nn.Upsample(scale_factor=layer.factor, mode=layer.mode, **extra)
    elif isinstance(layer, npae.Subsample):
        return _Subsample(layer.factor)
    else:
        raise ValueError(f"no PyTorch twin for {layer!r}")
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(layer.params["weight"]))
    return module


def torch_twin(model, fused_nearest: bool = False):
    """A torch.nn.Sequential computing ``model``'s function; each npae Bias becomes the previous conv's bias."""
    modules = []
    for _, layer in model.named_layers():
        if isinstance(layer, npae.Bias):
            conv = modules[-1][-1] if isinstance(modules[-1], torch.nn.Sequential) else modules[-1]
            conv.bias = torch.nn.Parameter(torch.from_numpy(layer.params["bias"].copy()))
            continue
        modules.append(_torch_layer(layer, fused_nearest))
    return torch.nn.Sequential(*modules)


def check_twin(model, twin, x: np.ndarray) -> float:
    """max |npae(x) - torch(x)| / max |torch(x)|; raises if it is not below TWIN_TOLERANCE (not the same function)."""
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    error = float(np.max(np.abs(model.forward(x) - expected)) / max(np.max(np.abs(expected)), 1e-30))
    if not error < TWIN_TOLERANCE:
        raise AssertionError(f"npae and PyTorch compute different functions (relative error {error:.2e})")
    return error


def npae_step(model, x):
    """One training step as npae.Trainer takes it (:func:`npae.training_step`: forward, MSE, backward, checks, Adam)."""
    optimizer = npae.Adam(model, lr=1e-3)
    return lambda: npae.training_step(model, optimizer, x)


def torch_step(twin, x: np.ndarray, channels_last: bool = False):
    tx = torch.from_numpy(x)
    if channels_last:
        twin = twin.to(memory_format=torch.channels_last)
        tx = tx.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(twin.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(twin(tx), tx)
        loss.backward()
        optimizer.step()

    return step


def step_times(channels, batch, upsampling="zeros", repeats=25, rng=None) -> dict:
    """Median ms of one training step of npae, PyTorch and PyTorch channels_last on the same function."""
    rng = np.random.default_rng(0) if rng is None else rng
    model = talk_model(channels, upsampling)
    x = npae.data.disks(batch, 64, rng=rng)[0]
    functions = {}
    row = {"channels": channels if np.isscalar(channels) else "-".join(map(str, channels)), "batch": batch,
           "upsampling": upsampling}
    if torch:
        twin = torch_twin(model)
        row["twin_rel_error"] = check_twin(model, twin, x)
        functions["torch"] = torch_step(twin, x)
        functions["torch_channels_last"] = torch_step(torch_twin(model), x, channels_last=True)
        if upsampling == "nearest":
            fused = torch_twin(model, fused_nearest=True)
            row["fused_twin_rel_error"] = check_twin(model, fused, x)
            functions["torch_fused_channels_last"] = torch_step(fused, x, channels_last=True)
    functions["npae"] = npae_step(model, x)
    medians = interleaved_medians(functions, repeats)
    row.update({f"{name}_ms": 1e3 * seconds for name, seconds in medians.items()})
    return row


def layer_times(channels, batch, upsampling="zeros", repeats=25, rng=None) -> list[dict]:
    """Forward and backward ms of every npae layer inside the model, beside PyTorch's layer computing the same
    function with the same algorithm (a NearestUpConv2d beside the same 4x4 ConvTranspose2d), on the same
    channels-last activations."""
    rng = np.random.default_rng(0) if rng is None else rng
    model = talk_model(channels, upsampling)
    x = npae.data.disks(batch, 64, rng=rng)[0]
    rows, h = [], x
    for name, layer in model.named_layers():
        inputs = h
        h = layer.forward(inputs)
        grad = np.ones_like(h)

        def forward_backward(layer=layer, inputs=inputs, grad=grad):
            layer.forward(inputs)
            layer.backward(grad)

        functions = {"npae_fwd": (lambda layer=layer, inputs=inputs: layer.forward(inputs)),
                     "npae_fwdbwd": forward_backward}
        if torch and not isinstance(layer, npae.Bias):
            module = _torch_layer(layer, fused_nearest=True)
            tx = torch.from_numpy(inputs).requires_grad_(True)
            tg = torch.from_numpy(grad)

            def torch_fwd(module=module, tx=tx):
                with torch.no_grad():
                    module(tx)

            functions["torch_fwd"] = torch_fwd
            functions["torch_fwdbwd"] = lambda module=module, tx=tx, tg=tg: module(tx).backward(tg)
        medians = interleaved_medians(functions, repeats)
        rows.append({"layer": f"{name} {layer!r}", "shape": list(inputs.shape),
                     **{key: 1e3 * value for key, value in medians.items()}})
    return rows


def ratio(a, b) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def print_layers(rows) -> None:
    print(f"{'layer':<78} {'npae f':>7} {'npae f+b':>9} {'torch f':>8} {'torch f+b':>10} {'f+b ratio':>9}")
    for r in rows:
        print(f"{r['layer'][:78]:<78} {r['npae_fwd']:7.3f} {r['npae_fwdbwd']:9.3f} {r.get('torch_fwd', np.nan):8.3f} "
              f"{r.get('torch_fwdbwd', np.nan):10.3f} {ratio(r['npae_fwdbwd'], r.get('torch_fwdbwd')):>9}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=channel_widths, default=8,
                        help="one width for every block, or one per block such as 16,16,32,64,64 (the preset's)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--upsampling", choices=["zeros", "nearest", "bilinear"], default="zeros")
    parser.add_argument("--repeats", type=int, default=25)
    args = parser.parse_args(argv)
    if torch:
        torch.set_num_threads(numba.get_num_threads())
    print("machine:", ", ".join(f"{k} {v}" for k, v in machine().items()))
    step = step_times(args.channels, args.batch, args.upsampling, args.repeats)
    print(f"\ntraining step, talk model, C = {args.channels}, B = {args.batch}, {args.upsampling} decoder: "
          f"npae {step['npae_ms']:.1f} ms" + (f", PyTorch {step['torch_ms']:.1f} ms, channels_last "
                                             f"{step['torch_channels_last_ms']:.1f} ms (twin rel. error "
                                             f"{step['twin_rel_error']:.1e})" if torch else ""))
    print(f"\nper layer (median ms, batch {args.batch}; f+b ratio = npae / PyTorch):")
    layers = layer_times(args.channels, args.batch, args.upsampling, args.repeats)
    print_layers(layers)
    return {"step": step, "layers": layers}


if __name__ == "__main__":
    main()
