"""Seed and setting sweeps of a reproduction on a Dask cluster: ``npae sweep``.

Every (setting, seed) is one run, written to ``DIR/<section>/<setting>/seed-<s>/`` (report.md,
metrics.json and figures, as ``npae reproduce`` writes them) and closed by ``status.json``, written
atomically last: a run is done only when its status says so, so a killed sweep started again skips
the runs that are complete and does the others.  A run that fails (an exception, a diverged training)
is recorded as failed with its error and does not stop the others.  Dask schedules, retries and
moves data: npae only submits the runs (``Client.map``) and collects them as they complete.

Without a scheduler address, a local cluster of worker processes is sized to the machine: N workers
with C // N Numba threads each (BLAS is on one thread in every npae process), so that workers x
threads = cores.  ``DIR/summary.json`` and ``DIR/report.md`` give, for every numeric metric and every
setting, the median, quartiles, min and max over seeds, and a strip plot of the section's headline
metrics.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import time
import traceback
from pathlib import Path

import numpy as np

from .files import write_json, write_text
from .report import flatten

SECTIONS = ("size", "position", "pca", "shapes", "train")
HEADLINE = {
    "size": ["with_bias.test_mse", "with_bias.spearman_z_area", "without_bias.fraction_codes_of_one_sign",
             "without_bias.gap_profile_to_airy"],
    "position": ["trained_1d.spearman_z_position", "trained_1d.corr_codes_of_one_hots_vs_ramp"],
    "pca": ["ellipses.pca_ae_checks.S_on_z1", "ellipses.pca_ae_checks.R_log_H_from_z2_z3",
            "ellipses.pca_ae_checks.R_log_V_from_z2_z3", "ellipses.pca_ae_checks.max_latent_correlation",
            "ellipses.pca_ae_checks.z2_z3_angles_from_log_H_deg[0]"],
    "shapes": [],
    "train": ["test_mse", "spearman_z_r2"],
}
TRAIN_SMOKE = dict(steps=15, batch_size=8, train_size=64, checkpoint_every=0)
BLAS_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
"""Dask's nanny sets these to 1 in its workers; OpenBLAS started with one thread computes some LAPACK results
(the radial energy solver's eigenvectors) differently in the last bits from one started as a plain process,
so local workers start without them, exactly like ``npae reproduce``, and npae pins BLAS to one thread itself."""


class SweepError(ValueError):
    """Bad sweep arguments (seeds, settings, section) or an unreachable scheduler."""


def parse_seeds(text: str) -> list[int]:
    """"0-15", "0,3,7" or "0-3,8" -> sorted distinct non-negative seeds."""
    seeds = set()
    try:
        for part in str(text).split(","):
            low, _, high = part.strip().partition("-")
            low, high = int(low), int(high) if high else int(low)
            if low < 0 or high < low:
                raise ValueError
            seeds.update(range(low, high + 1))
    except ValueError:
        raise SweepError(f"--seeds must look like 0-15, 0,3,7 or 0-3,8 (non-negative, low-high), got {text!r}") from None
    return sorted(seeds)


def _settings_class(section: str):
    from .experiments.pca import PCASettings
    from .experiments.position import PositionSettings
    from .experiments.shapes import ShapeSettings
    from .experiments.size import SizeSettings
    from .train import TrainConfig

    return {"size": SizeSettings, "position": PositionSettings, "pca": PCASettings, "shapes": ShapeSettings,
            "train": TrainConfig}[section]


TRAIN_NETWORK = {"channels": list, "bias": bool, "latent_dim": int}
"""Settings of the ``train`` section that build the network rather than configure its training."""


def _value(text: str):
    if text.startswith("[") and text.endswith("]"):
        return [_value(item.strip()) for item in text[1:-1].split(",") if item.strip()]
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def parse_sets(section: str, assignments: list[str]) -> list[dict]:
    """["lr=1e-3,3e-3", "steps=2000"] -> the grid of settings [{lr: 0.001, steps: 2000}, {lr: 0.003, ...}]."""
    if section not in SECTIONS:
        raise SweepError(f"unknown section {section!r}; expected one of {SECTIONS}")
    settings_class = _settings_class(section)
    types = {f.name: f.type for f in dataclasses.fields(settings_class) if f.name != "seed"}
    if section == "train":
        types.update(TRAIN_NETWORK)
    fields = set(types)
    axes = []
    for assignment in assignments or ():
        key, equals, values = assignment.partition("=")
        key = key.strip()
        if not equals or not key or not values:
            raise SweepError(f"--set needs key=value[,value...], got {assignment!r}")
        if key not in fields:
            raise SweepError(f"--set {key}: {section} has no setting {key!r}; its settings are {sorted(fields)}")
        axis = [(key, _value(v.strip())) for v in re.findall(r"\[[^\]]*\]|[^,\[\]]+", values)]
        if types[key] in (bool, "bool") and any(not isinstance(value, bool) for _, value in axis):
            raise SweepError(f"--set {key}: a yes/no setting takes true or false, got {values!r}")
        if types[key] is int and not all(isinstance(value, int) and value > 0 for _, value in axis):
            raise SweepError(f"--set {key}: takes positive integers, got {values!r}")
        if types[key] is list and not all(isinstance(value, list) and value and
                                          all(isinstance(v, int) and v > 0 for v in value) for _, value in axis):
            raise SweepError(f"--set {key}: takes lists of positive integers such as [8,16,32], got {values!r}")
        axes.append(axis)
    grid = [dict(combination) for combination in itertools.product(*axes)] or [{}]
    if hasattr(settings_class, "check"):
        for overrides in grid:
            try:
                dataclasses.replace(settings_class(), **overrides).check()
            except ValueError as error:
                raise SweepError(f"--set: {error}") from None
    return grid


def split_network(overrides: dict) -> tuple[dict, dict]:
    """A ``train`` setting's overrides as (network settings, training settings)."""
    network = {key: value for key, value in overrides.items() if key in TRAIN_NETWORK}
    return network, {key: value for key, value in overrides.items() if key not in TRAIN_NETWORK}


def setting_name(overrides: dict) -> str:
    """{"lr": 0.003, "channels": [8, 16]} -> "lr=0.003_channels=8-16" (a directory name)."""
    return "_".join(f"{key}={'-'.join(map(str, value)) if isinstance(value, list) else value}"
                    for key, value in overrides.items()) or "default"


def run_directory(out, section: str, overrides: dict, seed: int) -> Path:
    return Path(out) / section / setting_name(overrides) / f"seed-{seed}"


def is_done(directory: Path) -> bool:
    try:
        return json.loads((directory / "status.json").read_text()).get("status") == "done"
    except (OSError, ValueError):
        return False


def _section_result(section: str, mode: str, seed: int, overrides: dict, directory: Path) -> dict:
    """Run one reproduction (or one training) exactly as ``npae reproduce`` / ``npae train`` does."""
    settings_class = _settings_class(section)
    if section == "train":
        from .run import train_run
        from .train import default_config

        network, training = split_network(overrides)
        config = default_config("talk", seed=seed, **{**(TRAIN_SMOKE if mode == "smoke" else {}), **training})
        start = time.perf_counter()
        metrics = train_run(directory, config, progress=False, overwrite=True, **network)
        return {"metrics": metrics, "seconds": time.perf_counter() - start}
    from .cli import SECTIONS as RUNNERS
    from .report import write_report

    settings = settings_class.mode(mode, seed=seed) if section != "size" else settings_class.mode(mode, "talk", seed)
    for key, value in overrides.items():
        setattr(settings, key, value)
    runner = {"size": "run_size", "position": "run_position", "pca": "run_pca", "shapes": "run_shapes"}[section]
    module = __import__(f"npae.experiments.{section}", fromlist=[runner])
    result = getattr(module, runner)(directory, settings, progress=False)
    heading, title, _ = RUNNERS[section]
    write_report(directory, title, f"npae sweep {section} (seed {seed}, {setting_name(overrides)}, {mode})",
                 [(heading, result)])
    return result


def run_one(section: str, mode: str, seed: int, overrides: dict, directory: str, threads: int | None = None) -> dict:
    """One run on a worker: its status (done with the metrics' path, or failed with the error)."""
    if threads:
        import numba

        numba.set_num_threads(int(threads))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        result = _section_result(section, mode, seed, overrides, directory)
        status = {"status": "done", "seconds": round(time.perf_counter() - start, 2),
                  "run_seconds": round(float(result["seconds"]), 2)}
    except Exception as error:  # a failed run is recorded, the sweep goes on
        status = {"status": "failed", "error": f"{type(error).__name__}: {error}",
                  "traceback": traceback.format_exc(), "seconds": round(time.perf_counter() - start, 2)}
    status.update(section=section, mode=mode, seed=seed, setting=overrides)
    write_json(directory / "status.json", status)
    return status


def _client(scheduler: str | None, workers: int | None):
    """A Dask client: of the cluster at ``scheduler``, or of a local cluster of processes sized to the machine."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SweepError("npae sweep needs Dask: pip install 'npae[sweep]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="3s"), None
        except (OSError, TimeoutError) as error:
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
    import dask

    cores = os.cpu_count() or 1
    workers = max(1, min(int(workers or cores), cores))
    environ = {key: value for key, value in dask.config.get("distributed.nanny.pre-spawn-environ").items()
               if key not in BLAS_VARIABLES}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster), cores // workers


def sweep(section: str, seeds: list[int], grid: list[dict], mode: str, out, scheduler: str | None = None,
          workers: int | None = None, progress: bool = True) -> dict:
    """Run every (setting, seed) not done yet on Dask, then aggregate; returns the summary."""
    from tqdm.auto import tqdm

    out = Path(out)
    runs = [(overrides, seed) for overrides in grid for seed in seeds]
    todo = [(overrides, seed) for overrides, seed in runs if not is_done(run_directory(out, section, overrides, seed))]
    executed = []
    if todo:
        client, threads = _client(scheduler, workers)
        try:
            from distributed import as_completed

            futures = [client.submit(run_one, section, mode, seed, overrides,
                                     str(run_directory(out, section, overrides, seed)), threads, pure=False)
                       for overrides, seed in todo]
            for future in tqdm(as_completed(futures), total=len(futures), disable=not progress, desc="runs"):
                executed.append(future.result())
        finally:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    summary = aggregate(out, section, seeds, grid)
    summary["executed"] = len(executed)
    return summary


def _quartiles(values: list[float]) -> dict:
    q = np.percentile(values, [0, 25, 50, 75, 100])
    return {"min": float(q[0]), "q1": float(q[1]), "median": float(q[2]), "q3": float(q[3]), "max": float(q[4]),
            "count": len(values)}


def aggregate(out, section: str, seeds: list[int], grid: list[dict]) -> dict:
    """summary.json, report.md and the strip plot of the runs in ``out`` (done ones counted, failed ones listed)."""
    out = Path(out)
    summary = {"section": section, "seeds": seeds, "settings": {}}
    for overrides in grid:
        name = setting_name(overrides)
        values, flags, failed = {}, {}, []
        for seed in seeds:
            directory = run_directory(out, section, overrides, seed)
            if not is_done(directory):
                status = directory / "status.json"
                failed.append({"seed": seed, "error": json.loads(status.read_text()).get("error") if status.exists()
                               else "not run"})
                continue
            for key, value in numbers_and_flags(json.loads((directory / "metrics.json").read_text())):
                (flags if isinstance(value, bool) else values).setdefault(key, {})[seed] = value
        summary["settings"][name] = {"overrides": overrides, "failed": failed,
                                     "metrics": {key: {**_quartiles(list(by_seed.values())), "values": by_seed}
                                                 for key, by_seed in values.items()},
                                     "flags": {key: {"true": sum(by_seed.values()), "count": len(by_seed),
                                                     "values": by_seed} for key, by_seed in flags.items()}}
    write_json(out / "summary.json", summary)
    headline = [key for key in HEADLINE[section] if any(key in s["metrics"] for s in summary["settings"].values())]
    if headline:
        strip_plot(summary, headline, out / "headline.png")
    write_text(out / "report.md", sweep_report(summary, headline))
    return summary


def numbers_and_flags(metrics: dict) -> list[tuple[str, object]]:
    """The metrics a sweep aggregates: numbers (a list of numbers as key[0], key[1], ...) and booleans."""
    rows = []
    for key, value in flatten(metrics):
        if key.startswith("settings.") or key.endswith("_matrix"):
            continue
        if isinstance(value, list) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                     for v in value):
            rows += [(f"{key}[{i}]", float(v)) for i, v in enumerate(value)]
        elif isinstance(value, bool):
            rows.append((key, value))
        elif isinstance(value, (int, float)):
            rows.append((key, float(value)))
    return rows


def strip_plot(summary: dict, keys: list[str], path) -> Path:
    from . import plots

    return plots.strip_plot({name: {key: list(s["metrics"][key]["values"].values()) for key in keys
                                    if key in s["metrics"]} for name, s in summary["settings"].items()}, path)


def sweep_report(summary: dict, headline: list[str]) -> str:
    lines = [f"# npae sweep: {summary['section']}", "", f"Seeds: {summary['seeds']}", ""]
    for name, setting in summary["settings"].items():
        lines += [f"## {name}", "", f"Runs done: {len(summary['seeds']) - len(setting['failed'])} of "
                                    f"{len(summary['seeds'])}", ""]
        for failure in setting["failed"]:
            lines.append(f"- seed {failure['seed']} failed: {failure['error']}")
        lines += ["", "| metric | median | q1 | q3 | min | max |", "| --- | --- | --- | --- | --- | --- |"]
        for key, stats in setting["metrics"].items():
            lines.append(f"| {key} | {stats['median']:.6g} | {stats['q1']:.6g} | {stats['q3']:.6g} | "
                         f"{stats['min']:.6g} | {stats['max']:.6g} |")
        if setting.get("flags"):
            lines += ["", "| statement | true in |", "| --- | --- |"]
            lines += [f"| {key} | {flag['true']} of {flag['count']} runs |" for key, flag in setting["flags"].items()]
        lines.append("")
    if headline:
        lines += ["![headline metrics by seed](headline.png)", ""]
    return "\n".join(lines)
