"""3D CPU defaults from data: filters, patch, batch and masked pixels at an equal wall-clock budget (ours only).

The 3D twin of ``sweep.py``: self-training on the synthetic 32×128×128 stack of blurred points
(``common.synthetic_3d``, σ=25 noise, seed 1), denoising the same volume, one factor at a time around the
current defaults (``TrainConfig()`` on this machine's CPU: patch ``DEFAULT_PATCH_3D``, masked pixels
``DEFAULT_MASKED_FRACTION`` of the patch, 32 filters, batch ``default_batch_size(cpu, 3D)``). Each run is
a fresh ``ours_runner.py`` process training for ``--budget`` seconds (setup included, as everywhere in
these benchmarks); it reports the PSNR of the returned (validation-best) model on the volume, the steps
done and the training patches/s (steady state, validation steps excluded, as in ``speed.py``).

The default configuration runs ``--base-repeats`` times (first and last, by default) so that drift of the
machine's load shows; Δ is taken against the mean of those. ``--combo`` runs whole configurations, e.g. the
best value of each factor together:

    .venv/bin/python benchmarks/sweep_3d.py                                     # 90 s × 10 runs
    .venv/bin/python benchmarks/sweep_3d.py --factors batch,masked --budget 60
    .venv/bin/python benchmarks/sweep_3d.py --factors none --combo filters=16,batch=8 --combo patch=8x64x64
    .venv/bin/python benchmarks/sweep_3d.py --quick                             # smoke run

Combo keys: ``filters=N``, ``patch=ZxYxX``, ``batch=N``, ``masked=PCT`` (percent of the patch's pixels).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_noise, emit, log, machine, psnr, synthetic_3d
from speed import run_tool

FACTORS = {
    "filters": [16, 32],
    "patch": [(8, 64, 64), (16, 64, 64), (32, 64, 64), (16, 32, 32)],
    "batch": [2, 4, 8],
    "masked": [0.2, 0.5, 1.0],  # percent of the patch's pixels
    "val": [32, 128],  # validation patches (each validation costs their forward passes)
}


def defaults() -> dict:
    """The current 3D CPU defaults, as the engine resolves them."""
    import torch

    from napari_n2v.core.config import DEFAULT_MASKED_FRACTION, TrainConfig
    from napari_n2v.core.device import default_batch_size, resolved_n_filters

    cfg = TrainConfig(axes="ZYX")
    return {
        "filters": resolved_n_filters(cfg.replace(device="cpu")),
        "patch": tuple(cfg.resolved_patch_size),
        "batch": cfg.batch_size or default_batch_size(torch.device("cpu"), True),
        "masked": round(100 * DEFAULT_MASKED_FRACTION, 4),
        "val": cfg.val_patches,
    }


def label(key: str, value) -> str:
    if key == "patch":
        return "×".join(map(str, value))
    if key == "masked":
        return f"{value:g}%"
    return str(value)


def flags(key: str, value) -> list[str]:
    """ours_runner.py's flags for one override."""
    if key == "patch":
        return ["--patch", *map(str, value)]
    names = {
        "filters": "--filters",
        "batch": "--batch",
        "masked": "--masked-pct",
        "val": "--val-patches",
    }
    return [names[key], str(value)]


def parse_combo(text: str) -> dict:
    """``filters=16,batch=8,patch=8x64x64,masked=1`` -> {"filters": 16, ...}."""
    out: dict = {}
    for part in text.split(","):
        if not part.strip():
            continue
        k, _, v = part.partition("=")
        k = k.strip()
        if k == "patch":
            out[k] = tuple(int(x) for x in v.lower().replace("×", "x").split("x"))
        elif k in ("filters", "batch", "val"):
            out[k] = int(v)
        elif k == "masked":
            out[k] = float(v.rstrip("%"))
        else:
            raise SystemExit(f"--combo: unknown key {k!r} (filters, patch, batch, masked, val)")
    return out


def configs(a: argparse.Namespace, base: dict) -> list[dict]:
    """(factor, value label, overrides) for every run, the default first."""
    runs = [{"factor": "default", "value": "default", "over": {}}]
    for f in a.factors:
        for v in a.values[f]:
            if v != base[f]:
                runs.append({"factor": f, "value": label(f, v), "over": {f: v}})
    for c in a.combo:
        over = parse_combo(c)
        runs.append(
            {
                "factor": "combo",
                "value": ", ".join(f"{k} {label(k, v)}" for k, v in over.items()),
                "over": over,
            }
        )
    for _ in range(max(0, a.base_repeats - 1)):
        runs.append({"factor": "default", "value": "default (again)", "over": {}})
    return runs


def one_run(run: dict, a: argparse.Namespace, tmp: Path, clean: np.ndarray) -> dict:
    out = tmp / "out.npy"
    extra = [x for k, v in run["over"].items() for x in flags(k, v)]
    before = [round(x, 2) for x in os.getloadavg()]
    r = run_tool(
        "ours",
        [
            "--data",
            str(tmp / "vol.npy"),
            "--axes",
            "ZYX",
            "--budget-s",
            str(a.budget),
            "--seed",
            str(a.seed),
            "--predict",
            str(tmp / "vol.npy"),
            "--out",
            str(out),
            *extra,
        ],
        timeout=3 * a.budget + 900,
    )
    row = {
        **run,
        "psnr": psnr(clean, np.load(out)),
        "steps": r["steps"],
        "patches": r["patches"],
        "train_s": r["train_s"],
        "patches_per_s": r.get("steady_patches_per_s"),  # validation steps excluded (speed.py)
        "patches_per_s_incl_val": r.get("steady_incl_val_patches_per_s"),
        "overall_patches_per_s": r.get("overall_patches_per_s"),
        "patch": r.get("effective_patch", r["patch"]),
        "batch": r["batch"],
        "n_filters": r.get("n_filters"),
        "masked_pixels": r.get("effective_masked_pixels", r["masked_pixels"]),
        "best_val_loss": r.get("best_val_loss"),
        "final_lr": r.get("final_lr"),
        "peak_rss_mb": r.get("peak_rss_mb"),
        "loadavg_before": before,
    }
    row["over"] = {k: list(v) if isinstance(v, tuple) else v for k, v in run["over"].items()}
    log(
        f"[sweep3d] {run['factor']}={run['value']}: {row['psnr']:.2f} dB, {row['steps']} steps, "
        f"{row['patches_per_s'] or 0:.2f} patches/s (load {before[0]:.2f})"
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--budget", type=float, default=90.0, help="training seconds per run")
    ap.add_argument(
        "--factors", default="filters,patch,batch,masked,val", help="subset of FACTORS, or none"
    )
    ap.add_argument(
        "--combo", action="append", default=[], help="a whole configuration (repeatable)"
    )
    ap.add_argument(
        "--base-repeats", type=int, default=2, help="runs of the default (first, then last)"
    )
    ap.add_argument("--seed", type=int, default=1, help="training seed (the noise is fixed)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--save", default="sweep_3d")
    a = ap.parse_args()
    a.factors = [f for f in a.factors.split(",") if f.strip() and f != "none"]
    unknown = [f for f in a.factors if f not in FACTORS]
    if unknown:
        raise SystemExit(f"--factors: unknown {unknown} (choose from {', '.join(FACTORS)})")
    a.values = dict(FACTORS)
    if a.quick:  # a few seconds each: the default, one value of one factor, one combo
        a.budget, a.base_repeats = 6, 1
        a.factors = ["batch"]
        a.values = {**FACTORS, "batch": [2]}
        a.combo = a.combo or ["filters=16,patch=8x64x64,masked=1"]
    base = defaults()
    clean = synthetic_3d()
    noisy = add_noise(clean, seed=1)
    tmp = Path(tempfile.mkdtemp(prefix="n2v_sweep3d_"))
    np.save(tmp / "vol.npy", noisy)
    t0 = time.perf_counter()
    load_start = [round(x, 2) for x in os.getloadavg()]
    rows = [one_run(run, a, tmp, clean) for run in configs(a, base)]
    bases = [r for r in rows if r["factor"] == "default"]
    base_psnr = float(np.mean([r["psnr"] for r in bases]))
    for r in rows:
        r["delta_db"] = r["psnr"] - base_psnr
    best = {}
    for f in [*a.factors, "combo"]:
        cands = bases[:1] + [r for r in rows if r["factor"] == f]
        if len(cands) > 1:
            top = max(cands, key=lambda r: r["psnr"])
            best[f] = {"best": top["value"], "psnr": top["psnr"], "delta_db": top["delta_db"]}
    settings = {k: v for k, v in vars(a).items() if k != "values"}
    settings["values"] = {k: [label(k, v) for v in vs] for k, vs in a.values.items()}
    result = {
        "benchmark": "sweep_3d",
        "machine": machine(),
        "settings": settings,
        "defaults": {k: label(k, v) for k, v in base.items()},
        "shape": list(clean.shape),
        "input_psnr": psnr(clean, noisy),
        "base_psnr": base_psnr,
        "base_psnr_spread": (max(r["psnr"] for r in bases) - min(r["psnr"] for r in bases)),
        "rows": rows,
        "best": best,
        "loadavg_start": load_start,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "elapsed_s": time.perf_counter() - t0,
    }
    emit(result, None if a.quick else (a.save or None))


if __name__ == "__main__":
    main()
