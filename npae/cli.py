"""The ``npae`` command line: argument parsing only; the work is done by the library."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def _train(args) -> int:
    from . import plots
    from .evaluate import evaluate_disks
    from .models import disk_autoencoder
    from .train import Trainer, default_config

    out = Path(args.out or f"runs/{args.preset}-latent{args.latent_dim}{'-nobias' if args.no_bias else ''}")
    model = disk_autoencoder(args.preset, latent_dim=args.latent_dim, bias=not args.no_bias,
                             channels=args.channels, rng=np.random.default_rng([args.seed, 0]))
    config = default_config(args.preset, steps=args.steps, seed=args.seed, batch_size=args.batch_size,
                            lr=args.lr, train_size=args.train_size,
                            weight_decay=args.weight_decay, decay_on=args.decay_on,
                            checkpoint_every=args.checkpoint_every)
    print(f"npae train: {args.preset} preset, latent {args.latent_dim}, bias {not args.no_bias}, "
          f"{config.steps} steps of batch {config.batch_size}, lr {config.lr}, seed {config.seed} -> {out}")
    start = time.perf_counter()
    trainer = Trainer(model, config, out)
    trainer.run(progress=not args.quiet)
    seconds = time.perf_counter() - start
    result = evaluate_disks(trainer.model)
    metrics = {
        "preset": args.preset, "latent_dim": args.latent_dim, "bias": not args.no_bias, "steps": trainer.step_count,
        "seed": args.seed, "train_seconds": round(seconds, 2),
        "final_train_loss": float(np.mean(trainer.loss_history[-20:])),
        "test_mse": result["test_mse"], "spearman_z_r2": result["spearman_z_r2"],
        "spearman_z_area": result["spearman_z_area"],
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    np.save(out / "loss_history.npy", np.asarray(trainer.loss_history))
    plots.loss_curve(trainer.loss_history, out / "loss.png")
    plots.reconstructions(result["images"], result["reconstructions"], out / "reconstructions.png")
    plots.latent_vs_attributes(result["radius"], result["area"], result["z"], result["spearman_z_r2"],
                               result["spearman_z_area"], out / "latent.png")
    print(f"done in {seconds:.1f} s: final training loss {metrics['final_train_loss']:.3e}; on the 300 test disks "
          f"MSE per pixel {metrics['test_mse']:.3e}, |Spearman(z, r^2)| {metrics['spearman_z_r2']:.5f}")
    print(f"wrote {out / 'checkpoint.npz'}, metrics.json, loss.png, reconstructions.png, latent.png")
    return 0


def _inspect(args) -> int:
    from .inspect import Inspector
    from .train import replay_to

    if args.step < 1:
        raise SystemExit("npae inspect: --step must be at least 1")
    trainer = replay_to(args.run_dir, args.step - 1)
    trainer.optimizer.lr = trainer.config.lr_at(trainer.step_count)
    record = Inspector(trainer.model, trainer.optimizer).step(trainer.next_batch())
    print(record.table())
    if args.save:
        np.savez(args.save, **record.arrays())
        print(f"\nwrote every array of step {record.step} to {args.save}")
    return 0


def _gradcheck(args) -> int:
    from .gradcheck import gradcheck
    from .models import disk_autoencoder

    model = disk_autoencoder(args.preset, latent_dim=args.latent_dim, dtype=np.float64,
                             channels=args.channels, rng=np.random.default_rng(args.seed))
    size = model.config.image_size
    from .data import disks

    rng = np.random.default_rng(args.seed)
    x, _ = disks(args.batch, size, rng=rng, dtype=np.float64)
    x += 0.01 * rng.standard_normal(x.shape)
    for name, value in model.params.items():
        if name.endswith("bias"):
            value[...] = rng.uniform(-0.1, 0.1, value.shape)
    failed = 0
    print(f"gradcheck of the {args.preset} autoencoder (float64, batch {args.batch} of {size}x{size} disks plus "
          f"N(0, 0.01^2) noise, random biases so that no pre-activation sits on the LeakyReLU kink); "
          f"worst relative error per layer:")
    for part in ("encoder", "decoder"):
        sequential = getattr(model, part)
        h = x if part == "encoder" else model.encoder.forward(x)
        for name, layer in sequential.named_layers(part + "."):
            report = gradcheck(layer, h, max_elements=args.max_elements, seed=args.seed)
            worst = report.worst
            failed += not report.ok
            print(f"  {name:<12} {type(layer).__name__:<16} worst rel err {worst.max_rel_error:9.2e} "
                  f"({worst.name}) {'ok' if report.ok else 'FAILED'}")
            h = layer.forward(h)
    whole = gradcheck(model.encoder, x, max_elements=args.max_elements, seed=args.seed)
    print(f"  whole encoder: {'ok' if whole.ok else 'FAILED'} (worst rel err {whole.worst.max_rel_error:.2e})")
    failed += not whole.ok
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="npae", description="A transparent, CPU-only autoencoder lab.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    fmt = argparse.ArgumentDefaultsHelpFormatter

    train = commands.add_parser("train", help="train a disk autoencoder", formatter_class=fmt,
                                description="Train a disk autoencoder and write checkpoint, metrics and figures.")
    train.add_argument("--preset", choices=["talk", "official"], default="talk", help="network and data preset")
    train.add_argument("--latent-dim", type=int, default=1, help="size of the latent code")
    train.add_argument("--steps", type=int, default=None,
                       help="training steps (default: the preset's, 3000 talk / 10000 official)")
    train.add_argument("--out", default=None, help="run directory (default runs/<preset>-latent<d>[-nobias])")
    train.add_argument("--no-bias", action="store_true", help="remove every bias (the talk's ablation)")
    train.add_argument("--seed", type=int, default=0, help="seed of weights, data and batches")
    train.add_argument("--channels", type=int, default=None, help="hidden channels (default: the preset's)")
    train.add_argument("--batch-size", type=int, default=None, help="batch size (default: the preset's, 64)")
    train.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: 1e-3 talk, 1e-2 official)")
    train.add_argument("--train-size", type=int, default=1000,
                       help="size of the fixed training set; 0 draws fresh disks every step")
    train.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay added to the gradient")
    train.add_argument("--decay-on", choices=["encoder", "all"], default="encoder",
                       help="which weights the weight decay applies to")
    train.add_argument("--checkpoint-every", type=int, default=500,
                       help="steps between checkpoints (and kept snapshots for `npae inspect`)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)

    inspect = commands.add_parser("inspect", help="replay one training step and show every layer", formatter_class=fmt,
                                  description="Replay a run exactly to step N and print activations, gradients, "
                                              "Adam moments and update ratios of that step.")
    inspect.add_argument("run_dir", help="run directory written by `npae train`")
    inspect.add_argument("--step", type=int, required=True, help="the step to inspect (1 = the first step)")
    inspect.add_argument("--save", default=None, help="write every recorded array to this .npz file")
    inspect.set_defaults(run=_inspect)

    check = commands.add_parser("gradcheck", help="finite-difference check of a whole model", formatter_class=fmt,
                                description="Check every layer's backward pass of a preset model in float64.")
    check.add_argument("--preset", choices=["talk", "official"], default="talk", help="model preset")
    check.add_argument("--latent-dim", type=int, default=1, help="size of the latent code")
    check.add_argument("--channels", type=int, default=None, help="hidden channels (default: the preset's)")
    check.add_argument("--batch", type=int, default=2, help="images in the checked batch")
    check.add_argument("--max-elements", type=int, default=64,
                       help="entries checked one by one per array (plus random directions)")
    check.add_argument("--seed", type=int, default=0, help="seed of weights and data")
    check.set_defaults(run=_gradcheck)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, FileNotFoundError) as error:
        print(f"npae {args.command}: error: {error}", file=sys.stderr)
        return 2
