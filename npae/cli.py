"""The ``npae`` command line: it parses arguments, calls library functions and prints what they return."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path



def _train(args) -> int:
    from .run import resume_run, run_directory, train_run
    from .train import default_config

    out = Path(args.out) if args.out else run_directory(args.preset, args.latent_dim, not args.no_bias)
    if args.resume:
        if args.overwrite:
            raise ValueError("--resume continues the run in --out and --overwrite replaces it: give one of them")
        print(f"npae train: resuming the run in {out}")
        metrics = resume_run(out, steps=args.steps, progress=not args.quiet)
    else:
        given = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr}
        config = default_config(args.preset, seed=args.seed, train_size=args.train_size,
                                weight_decay=args.weight_decay, decay_on=args.decay_on,
                                checkpoint_every=args.checkpoint_every,
                                **{key: value for key, value in given.items() if value is not None})
        print(f"npae train: {args.preset} preset, latent {args.latent_dim}, bias {not args.no_bias}, "
              f"{config.steps} steps of batch {config.batch_size}, lr {config.lr}, seed {config.seed} -> {out}")
        metrics = train_run(out, config, args.preset, args.latent_dim, not args.no_bias, args.channels,
                            progress=not args.quiet, overwrite=args.overwrite)
    final = metrics["final_train_loss"]
    print(f"done in {metrics['train_seconds']:.1f} s: final training loss "
          f"{'-' if final is None else f'{final:.3e}'}; on the 300 test disks MSE per pixel "
          f"{metrics['test_mse']:.3e}, |Spearman(z, r^2)| {metrics['spearman_z_r2']:.5f}")
    print(f"wrote {out / 'checkpoint.npz'}, metrics.json, loss.png, reconstructions.png, latent.png")
    return 0


def _inspect(args) -> int:
    from .files import atomic_savez
    from .train import load_checkpoint, replay_to, run_length

    load_checkpoint(args.run_dir)
    final_step = run_length(args.run_dir)
    if not 1 <= args.step <= final_step:
        raise ValueError(f"{args.run_dir} holds steps 0 to {final_step}; --step must be in 1..{final_step}")
    trainer = replay_to(args.run_dir, args.step - 1)
    record = trainer.inspect_step()
    print(record.table())
    if args.save:
        path = Path(args.save if args.save.endswith(".npz") else args.save + ".npz")
        atomic_savez(path, record.arrays())
        print(f"\nwrote every array of step {record.step} to {path}")
    return 0


def _gradcheck(args) -> int:
    from .gradcheck import gradcheck_model, preset_check_inputs

    model, x = preset_check_inputs(args.preset, args.latent_dim, args.channels, args.batch, args.seed)
    size = model.config.image_size
    print(f"gradcheck of the {args.preset} autoencoder (float64, batch {args.batch} of {size}x{size} disks plus "
          f"N(0, 0.01^2) noise, random biases so that no pre-activation sits on the LeakyReLU kink); "
          f"worst relative error per layer:")
    failed = 0
    for name, layer, report in gradcheck_model(model, x, args.max_elements, args.seed):
        failed += not report.ok
        print(f"  {name:<14} {type(layer).__name__:<16} worst rel err {report.worst.max_rel_error:9.2e} "
              f"({report.worst.name}) {'ok' if report.ok else 'FAILED'}")
    return 1 if failed else 0


def _airy(args) -> int:
    from .experiments.airy import pixel_disk_family, run_airy
    from .train import load_checkpoint

    model = load_checkpoint(args.checkpoint) if args.checkpoint else None
    size = model.config.image_size if model is not None else 64
    radius = args.radius if args.radius is not None else size / 2
    pixel = pixel_disk_family(args.pixel_disks, size, radius) if args.pixel_disks else None
    numbers = run_airy(args.out, radius, args.points, model=model, pixel_images=pixel)
    print(f"R = {radius:g}, n = {args.points}: k R^3 closed form {numbers['kR3_closed_form']:.6f}, energy solver "
          f"{numbers['kR3_energy_solver']:.6f}, finite differences {numbers['kR3_fd_solver']:.6f}")
    print(f"max |f - f_closed| (f(0) = 1): energy solver {numbers['max_error_energy_solver']:.2e}, "
          f"finite differences {numbers['max_error_fd_solver']:.2e}")
    if "gap_pixel_energy_to_airy" in numbers:
        print(f"pixel-exact energy maximiser vs Airy: relative L2 gap {numbers['gap_pixel_energy_to_airy']:.4f}")
    if model is not None:
        print(f"trained decoder vs Airy: relative L2 gap {numbers['gap_to_airy']:.4f}, "
              f"max abs {numbers['max_abs_to_airy']:.4f}")
    print(f"wrote {Path(args.out) / 'airy.png'} and airy.json")
    return 0


def _size(args, out: Path, mode: str) -> dict:
    from .experiments.size import SizeSettings, estimate_seconds, run_size

    from .published import find_reference

    settings = SizeSettings.mode(mode, args.preset, args.seed)
    if args.steps is not None:
        settings.steps = args.steps
    if args.preset == "official":
        published = args.published or find_reference("disk")
        settings.published = None if published is None else str(published)
    if mode == "full":
        print(f"size --full: 2 trainings of {settings.steps} steps of batch {settings.batch_size}; "
              f"estimated {estimate_seconds(settings) / 60:.0f} minutes from 3 timed steps on this machine")
    print(f"npae reproduce size ({mode}, {settings.preset} preset, seed {settings.seed}) -> {out}")
    return run_size(out, settings, progress=not args.quiet)


def _position(args, out: Path, mode: str) -> dict:
    from .experiments.position import PositionSettings, run_position

    settings = PositionSettings.mode(mode, args.seed)
    if args.steps is not None:
        settings.steps_1d = settings.steps_2d = args.steps
    print(f"npae reproduce position ({mode}, seed {settings.seed}): {1 + len(settings.spacings)} trainings on 1-D "
          f"Diracs of {settings.steps_1d} steps, 2 on 2-D disks of {settings.steps_2d} steps -> {out}")
    return run_position(out, settings, progress=not args.quiet)


def _pca(args, out: Path, mode: str) -> dict:
    from .experiments.pca import PCASettings, estimate_seconds, run_pca

    from .published import find_reference

    settings = PCASettings.mode(mode, args.seed)
    if args.steps is not None:
        settings.steps = args.steps
    settings.network = args.network or settings.network
    settings.drawing = args.drawing or settings.drawing
    published = args.published or find_reference("pcaae")
    settings.published = None if published is None else str(published)
    if mode == "full":
        print(f"pca --full: {1 + 3 * settings.components} stage trainings of {settings.steps} steps of batch {settings.batch_size}; "
              f"estimated {estimate_seconds(settings) / 3600:.1f} hours from 2 timed steps on this machine")
    print(f"npae reproduce pca ({mode}, seed {settings.seed}): 3 models on ellipses and one on disks, "
          f"{settings.network} network, {settings.drawing} ellipses, {settings.components} codes, {settings.steps} steps of batch {settings.batch_size} per stage -> {out}")
    return run_pca(out, settings, progress=not args.quiet)


def _shapes(args, out: Path, mode: str) -> dict:
    from .experiments.shapes import ShapeSettings, run_shapes

    settings = ShapeSettings.mode(mode, args.seed, args.shape)
    if args.steps is not None:
        settings.training.steps = args.steps
    print(f"npae reproduce shapes ({mode}, seed {settings.training.seed}): {', '.join(settings.shapes)}; two "
          f"trainings each of {settings.training.steps} steps of batch {settings.training.batch_size} -> {out}")
    return run_shapes(out, settings, progress=not args.quiet)


SECTIONS = {
    "size": ("Size", "npae: autoencoding size", _size),
    "position": ("Position", "npae: autoencoding position", _position),
    "pca": ("PCA-like autoencoder", "npae: the PCA-like autoencoder", _pca),
    "shapes": ("Size for any shape", "npae: the size result for any shape", _shapes),
}


def _print_metrics(metrics: dict) -> None:
    from .report import flatten

    print(f"\n{'metric':<52} value")
    for name, value in flatten(metrics):
        if not name.startswith("settings."):
            print(f"{name:<52} {value:.6g}" if isinstance(value, float) else f"{name:<52} {value}")


def _reproduce(args) -> int:
    from .report import write_report

    mode = "full" if args.full else "smoke" if args.smoke else "quick"
    out = Path(args.out or f"runs/{args.section}")
    command = "npae " + " ".join(args.argv)
    names = list(SECTIONS) if args.section == "all" else [args.section]
    sections = []
    for name in names:
        heading, title, run = SECTIONS[name]
        result = run(args, out / name if args.section == "all" else out, mode)
        _print_metrics(result["metrics"])
        if args.section != "all":
            report = write_report(out, title, command, [(heading, result)])
            print(f"\nwrote {report}, metrics.json and the figures in {out} ({result['seconds']:.0f} s)")
            return 0
        sections.append((heading, result))
    report = write_report(out, "npae: the talk's reproductions", command, sections)
    print(f"\nwrote {report} and metrics.json; figures in {', '.join(str(out / n) for n in names)}")
    return 0


def _int_at_least(low: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value

    return parse


positive_int = _int_at_least(1, "a positive integer")
natural_int = _int_at_least(0, "a non-negative integer")


def channel_widths(text: str) -> int | list[int]:
    """"8" (every block) or "8,16,32,64,64" (one width per block, image side to code)."""
    try:
        widths = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer or integers separated by commas, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"must be positive integers, got {text!r}")
    return widths[0] if len(widths) == 1 else widths


def _sweep(args) -> int:
    from .sweep import parse_seeds, parse_sets, sweep

    seeds, grid = parse_seeds(args.seeds), parse_sets(args.section, args.set)
    mode = "full" if args.full else "smoke" if args.smoke else "quick"
    print(f"npae sweep {args.section} ({mode}): seeds {args.seeds}, {len(grid)} setting(s) -> {args.out}")
    summary = sweep(args.section, seeds, grid, mode, args.out, args.scheduler, args.workers, progress=not args.quiet)
    failed = sum(len(s["failed"]) for s in summary["settings"].values())
    print(f"ran {summary['executed']} run(s) now; {len(seeds) * len(grid) - failed} of {len(seeds) * len(grid)} done, "
          f"{failed} failed; wrote {Path(args.out) / 'summary.json'} and report.md")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="npae", description="A transparent, CPU-only autoencoder lab.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    fmt = argparse.ArgumentDefaultsHelpFormatter

    train = commands.add_parser("train", help="train a disk autoencoder", formatter_class=fmt,
                                description="Train a disk autoencoder and write checkpoint, metrics and figures.")
    train.add_argument("--preset", choices=["talk", "official"], default="talk", help="network and data preset")
    train.add_argument("--latent-dim", type=positive_int, default=1, help="size of the latent code")
    train.add_argument("--steps", type=natural_int, default=None,
                       help="training steps (default: the preset's, 13000 talk / 10000 official)")
    train.add_argument("--out", default=None, help="run directory (default runs/<preset>-latent<d>[-nobias])")
    train.add_argument("--no-bias", action="store_true", help="remove every bias (the talk's ablation)")
    train.add_argument("--seed", type=natural_int, default=0, help="seed of weights, data and batches")
    train.add_argument("--channels", type=channel_widths, default=None,
                       help="hidden channels: one width, or one per block such as 8,16,32,64,64 (default: the preset's)")
    train.add_argument("--batch-size", type=positive_int, default=None,
                       help="batch size (default: the preset's, 16 talk / 64 official)")
    train.add_argument("--lr", type=float, default=None,
                       help="Adam learning rate (default: the preset's, 5e-3 with cosine decay for talk, "
                            "1e-2 constant for official)")
    train.add_argument("--train-size", type=natural_int, default=1000,
                       help="size of the fixed training set; 0 draws fresh disks every step")
    train.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay added to the gradient")
    train.add_argument("--decay-on", choices=["encoder", "all"], default="encoder",
                       help="which weights the weight decay applies to")
    train.add_argument("--checkpoint-every", type=natural_int, default=500,
                       help="steps between checkpoints (and kept snapshots for `npae inspect`)")
    train.add_argument("--overwrite", action="store_true",
                       help="replace a run already in --out (the old run is deleted once the new one has written "
                            "its first checkpoint)")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its last checkpoint, with its saved settings (--steps "
                            "may extend it; the other training options are ignored), then write its results")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)

    inspect = commands.add_parser("inspect", help="replay one training step and show every layer", formatter_class=fmt,
                                  description="Replay a run exactly to step N and print activations, gradients, "
                                              "Adam moments and update ratios of that step.")
    inspect.add_argument("run_dir", help="run directory written by `npae train`")
    inspect.add_argument("--step", type=positive_int, required=True, help="the step to inspect (1 = the first step)")
    inspect.add_argument("--save", default=None, help="write every recorded array to this .npz file")
    inspect.set_defaults(run=_inspect)

    check = commands.add_parser("gradcheck", help="finite-difference check of a whole model", formatter_class=fmt,
                                description="Check every layer's backward pass of a preset model in float64.")
    check.add_argument("--preset", choices=["talk", "official"], default="talk", help="model preset")
    check.add_argument("--latent-dim", type=positive_int, default=1, help="size of the latent code")
    check.add_argument("--channels", type=channel_widths, default=None,
                       help="hidden channels: one width, or one per block such as 4,4,4,8,8 (default: the preset's)")
    check.add_argument("--batch", type=positive_int, default=2, help="images in the checked batch")
    check.add_argument("--max-elements", type=positive_int, default=64,
                       help="entries checked one by one per array (plus random directions)")
    check.add_argument("--seed", type=natural_int, default=0, help="seed of weights and data")
    check.set_defaults(run=_gradcheck)

    airy = commands.add_parser("airy", help="solve the radial problem and hold a decoder against Airy",
                               formatter_class=fmt,
                               description="Solve the radial variational problem (energy maximiser, finite "
                                           "differences, closed form) and, with --checkpoint, compare a trained "
                                           "bias-free decoder's profile with them.")
    airy.add_argument("--radius", type=float, default=None,
                      help="outer radius R (default: half the image size, 32 for 64 x 64)")
    airy.add_argument("--points", type=positive_int, default=512, help="grid points of the solvers")
    airy.add_argument("--checkpoint", default=None, help="run directory or checkpoint of a bias-free, 1-D model")
    airy.add_argument("--pixel-disks", type=natural_int, default=1000,
                      help="disks for the pixel-exact energy maximiser (0: skip it)")
    airy.add_argument("--out", default="runs/airy", help="output directory")
    airy.set_defaults(run=_airy)

    reproduce = commands.add_parser("reproduce", help="regenerate a section of the talk, with a report",
                                    formatter_class=fmt,
                                    description="Train, measure and write report.md, metrics.json and figures.")
    reproduce.add_argument("section", choices=[*SECTIONS, "all"], nargs="?", default="size",
                           help="which section; 'all' runs every section into one report with a table of contents")
    mode = reproduce.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true",
                      help="the papers' settings (long); default: quick settings, minutes on 2 cores")
    mode.add_argument("--quick", action="store_true", help="quick settings (the default)")
    mode.add_argument("--smoke", action="store_true",
                      help="tiny data, networks and step counts: checks the pipeline in seconds (numbers meaningless)")
    reproduce.add_argument("--preset", choices=["talk", "official"], default="talk",
                           help="network and data preset of the size section")
    reproduce.add_argument("--steps", type=natural_int, default=None,
                           help="override the training steps of every network of the mode")
    reproduce.add_argument("--seed", type=natural_int, default=0, help="seed of weights, data and batches")
    reproduce.add_argument("--published", default=None,
                           help="pca and size --preset official: the authors' published weights (.npz, .pt or .h5) "
                                "to report beside npae's models (default: shared/reference beside the working "
                                "directory or the source tree, if there)")
    reproduce.add_argument("--network", choices=["talk", "authors"], default=None,
                           help="pca section: the PCA-AE's blocks, npae's talk blocks or the authors' 4x4 stride-2 "
                                "network (default: the mode's)")
    reproduce.add_argument("--drawing", choices=["npae", "authors"], default=None,
                           help="pca section: ellipses drawn as npae does or as the authors' notebook "
                                "(scikit-image) did (default: the mode's)")
    reproduce.add_argument("--shape", action="append", default=None,
                           help="shapes section: a shape to run (repeat for several): disk, square, triangle, star, "
                                "ellipse, ring, glyph:X or image:PATH (a binary PNG or .npy mask); default: square, "
                                "star, glyph:7 and the disk")
    reproduce.add_argument("--out", default=None, help="output directory (default: runs/<section>)")
    reproduce.add_argument("--quiet", action="store_true", help="no progress bars")
    reproduce.set_defaults(run=_reproduce)

    sweeping = commands.add_parser("sweep", help="run a section over seeds and settings on a Dask cluster",
                                   formatter_class=fmt,
                                   description="Run a reproduction (or one training) for every seed and setting on "
                                               "Dask, each into DIR/<section>/<setting>/seed-<s>/, then write "
                                               "summary.json and report.md with the spread over seeds. A sweep "
                                               "started again skips the runs that are done.")
    sweeping.add_argument("section", choices=["size", "position", "pca", "shapes", "train"],
                          help="a reproduction, or 'train' (one talk model)")
    sweeping.add_argument("--seeds", required=True, help="seeds: 0-15, 0,3,7 or 0-3,8")
    sweeping.add_argument("--set", action="append", default=[], metavar="KEY=V1[,V2...]",
                          help="vary a setting of the section (several values and several --set give a grid)")
    sweep_mode = sweeping.add_mutually_exclusive_group()
    sweep_mode.add_argument("--quick", action="store_true", help="quick settings (the default)")
    sweep_mode.add_argument("--full", action="store_true", help="the papers' settings")
    sweep_mode.add_argument("--smoke", action="store_true", help="tiny settings (checks the pipeline)")
    sweeping.add_argument("--scheduler", default=None,
                          help="address of a running Dask scheduler (tcp://host:8786); default: a local cluster of "
                               "processes sized to this machine")
    sweeping.add_argument("--workers", type=positive_int, default=None,
                          help="local cluster: worker processes (default: one per core)")
    sweeping.add_argument("--out", required=True, help="sweep directory")
    sweeping.add_argument("--quiet", action="store_true", help="no progress bar")
    sweeping.set_defaults(run=_sweep)
    for command in commands.choices.values():
        command.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    return parser


def main(argv=None) -> int:
    """Run a command; an expected error is one line on stderr naming the problem: exit 2 for bad input
    (arguments, data, checkpoints), 1 for the environment (files, disk, memory, a busy run folder)."""
    from .run import RunInUse
    from .step import TrainingDiverged

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.run(args)
    except (ValueError, TypeError, FileNotFoundError, TrainingDiverged) as error:
        return _fail(args, error, 2)
    except (OSError, MemoryError, RunInUse) as error:
        return _fail(args, error, 1)


def _fail(args, error: BaseException, code: int) -> int:
    if args.debug:
        raise error
    message = str(error) or type(error).__name__
    if isinstance(error, MemoryError):
        message = f"out of memory ({message}); try smaller settings"
    elif isinstance(error, OSError) and error.strerror:
        message = f"{error.strerror}: {error.filename}" if error.filename is not None else error.strerror
    print(f"npae {args.command}: error: {message}", file=sys.stderr)
    return code
