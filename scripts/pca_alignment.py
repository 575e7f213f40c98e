"""The H/V alignment of PCA-AEs over seeds, per network, from `npae sweep pca` directories.

    python scripts/pca_alignment.py OUT SWEEP_DIR [SWEEP_DIR ...]

Reads every finished run of each sweep directory and writes OUT/alignment.md (one row per run: S on z1,
the angles of z2 and z3 from the H and log H axes, R(log H | z2, z3), R(log V | z2, z3), the largest
|corr| between codes, and whether the run splits H and V as the published model does) with a summary per
setting, and OUT/alignment.png (the angle of z2 from the log H axis and the two R's, one dot per seed, labelled by the sweep directory).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from npae import plots
from npae.experiments.pca import ALIGNMENT_TOLERANCE_DEG, CRITERIA, meets
from npae.files import write_text

COLUMNS = ("S_on_z1", "z2_angle_H", "z2_angle_log_H", "z3_angle_log_H", "R_log_H", "R_log_V", "max_corr")


def run_rows(sweep_dir: Path) -> dict[str, list[dict]]:
    """{"<sweep directory>/<setting>": [row per finished run]} of one sweep directory."""
    settings = {}
    for status_path in sorted(sweep_dir.glob("pca/*/seed-*/status.json")):
        if json.loads(status_path.read_text()).get("status") != "done":
            continue
        checks = json.loads((status_path.parent / "metrics.json").read_text())["ellipses"]["pca_ae_checks"]
        log_angles = checks["z2_z3_angles_from_log_H_deg"]
        settings.setdefault(f"{sweep_dir.name}/{status_path.parent.parent.name}", []).append({
            "seed": int(status_path.parent.name.split("-")[1]), "S_on_z1": checks["S_on_z1"],
            "z2_angle_H": checks["z2_z3_angles_from_H_deg"][0], "z2_angle_log_H": log_angles[0],
            "z3_angle_log_H": log_angles[1], "R_log_H": checks["R_log_H_from_z2_z3"],
            "R_log_V": checks["R_log_V_from_z2_z3"], "max_corr": checks["max_latent_correlation"],
            "aligned": checks.get("aligned_as_published", log_angles[0] <= ALIGNMENT_TOLERANCE_DEG
                                  and log_angles[1] >= 90 - ALIGNMENT_TOLERANCE_DEG),
            "seconds": json.loads(status_path.read_text()).get("run_seconds")})
    return settings


def summary_lines(name: str, rows: list[dict]) -> list[str]:
    values = {key: np.array([row[key] for row in rows]) for key in COLUMNS}
    checks = {"S_on_z1": "S_on_z1", "max_corr": "max_latent_correlation"}
    met = {key: sum(meets(check, row[key]) for row in rows) for key, check in checks.items()}
    median_met = {key: meets(check, float(np.median(values[key])))
                  for key, check in (("R_log_H", "R_log_H_from_z2_z3"), ("R_log_V", "R_log_V_from_z2_z3"))}
    return [f"- {name}: {len(rows)} runs; aligned as published (z2 within {ALIGNMENT_TOLERANCE_DEG:g} degrees of "
            f"log H, z3 of log V) in {sum(row['aligned'] for row in rows)} of {len(rows)}; "
            f"S on z1 {CRITERIA['S_on_z1'][0]} {CRITERIA['S_on_z1'][1]} in {met['S_on_z1']}; "
            f"median R(log H) {np.median(values['R_log_H']):.3f}, R(log V) {np.median(values['R_log_V']):.3f} "
            f"(median criterion {CRITERIA['R_log_H_from_z2_z3'][0]} {CRITERIA['R_log_H_from_z2_z3'][1]}: "
            f"{median_met['R_log_H']}, {median_met['R_log_V']}); max |corr| "
            f"{CRITERIA['max_latent_correlation'][0]} {CRITERIA['max_latent_correlation'][1]} in {met['max_corr']}; "
            f"angle of z2 from log H: median "
            f"{np.median(values['z2_angle_log_H']):.1f}, range {values['z2_angle_log_H'].min():.1f}-"
            f"{values['z2_angle_log_H'].max():.1f} degrees"]


def main(out: str, *sweep_dirs: str) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {}
    for sweep_dir in sweep_dirs:
        settings.update(run_rows(Path(sweep_dir)))
    if not settings:
        sys.exit(f"no finished pca runs in {', '.join(sweep_dirs)}")
    lines = ["# PCA-AE: the H/V alignment over seeds", "", "Per setting:", ""]
    for name, rows in settings.items():
        lines += summary_lines(name, rows)
    lines += ["", "| setting | seed | " + " | ".join(COLUMNS) + " | aligned | run s |",
              "| --- | --- | " + " | ".join("---" for _ in COLUMNS) + " | --- | --- |"]
    for name, rows in settings.items():
        for row in sorted(rows, key=lambda r: r["seed"]):
            lines.append(f"| {name} | {row['seed']} | " + " | ".join(f"{row[key]:.3f}" for key in COLUMNS)
                         + f" | {row['aligned']} | {row['seconds']} |")
    lines += ["", "![alignment by seed](alignment.png)", ""]
    write_text(out / "alignment.md", "\n".join(lines))
    short = {name: name.split("/")[0] if len({n.split("/")[0] for n in settings}) == len(settings) else name
             for name in settings}
    plots.strip_plot({short[name]: {key: [row[key] for row in rows] for key in ("z2_angle_log_H", "R_log_H", "R_log_V")}
                      for name, rows in settings.items()}, out / "alignment.png")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
