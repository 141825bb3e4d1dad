"""Defaults from data: one setting at a time around the current defaults at an equal wall-clock
budget (ours only), in 2D or 3D.

* ``--dims 2``: self-training on noisy Set12 images (``--images``, σ=25), 30 s per run; adds SSIM
  and a checkerboard score (the power of the error image at the period-2 and period-4 frequencies of
  the U-Net's pooling grid over the median power around each: ~1 none, ≫ 1 a visible grid).
* ``--dims 3``: self-training on the synthetic 32×128×128 stack (σ=25), 90 s per run.

Each run is a fresh ``runners/ours.py`` process that denoises its own training data; the default
runs ``--base-repeats`` times (first and last) so that drift of the machine's load shows, and Δ is
taken against the mean of those. ``--combo filters=16,batch=8`` runs a whole configuration. Keys:
``filters``, ``patch`` (``16x32x32``), ``batch``, ``masked`` (% of the patch's pixels), ``val``
(validation patches), ``lr``, ``variant`` (``n2v2``).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import basics as hb
from benchmarks.harness.peer import run_tool

FACTORS: dict[int, dict[str, list[Any]]] = {
    2: {"filters": [16, 24, 32], "masked": [0.1, 0.2, 0.5, 1.0], "lr": [1e-4, 4e-4, 1e-3],
        "batch": [8, 16, 32], "variant": ["n2v2"]},
    3: {"filters": [16, 32], "patch": [(8, 64, 64), (16, 64, 64), (32, 64, 64), (16, 32, 32)],
        "batch": [2, 4, 8], "masked": [0.2, 0.5, 1.0], "val": [32, 128]},
}  # fmt: skip
FLAGS = {"filters": "--filters", "batch": "--batch", "masked": "--masked-pct", "lr": "--lr",
         "val": "--val-patches"}  # fmt: skip
#: Per image and run: what the runner reports that shows the configuration it really trained.
KEEP = ("steps", "batch", "effective_patch", "effective_masked_pixels", "n_filters", "lr",
        "steady_patches_per_s", "peak_rss_mb")  # fmt: skip
PARSE: dict[str, Callable[[str], Any]] = {"patch": lambda s: tuple(int(x) for x in s.lower().replace("×", "x").split("x")),
         "masked": lambda s: float(s.rstrip("%")), "lr": float, "variant": str}  # fmt: skip


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dims", type=int, choices=(2, 3), default=2)
    p.add_argument("--budget", type=float, help="training seconds per run (default 30 / 90)")
    p.add_argument("--factors", help="comma-separated keys of FACTORS, or none (default all)")
    p.add_argument(
        "--combo", action="append", default=[], help="a whole configuration (repeatable)"
    )
    p.add_argument("--images", nargs="+", default=["02", "05"], help="2D: Set12 images")
    p.add_argument("--base-repeats", type=int, default=2, help="runs of the default (first, last)")
    p.add_argument("--seed", type=int, default=1, help="training seed (the noise is fixed)")
    p.add_argument(
        "--precision", help="auto | fp32 | bf16: the path to sweep (default: the machine's)"
    )


def defaults(dims: int, precision: str | None = None) -> dict[str, Any]:
    """The current CPU defaults, as a Trainer on this machine resolves them (on a small random
    image: nothing is trained), in FACTORS' keys."""
    import napari_n2v as n2v

    axes = "ZYX" if dims == 3 else "YX"
    cfg = n2v.TrainConfig(axes=axes, device="cpu", precision=precision or "auto")
    shape = (32, 128, 128) if dims == 3 else (256, 256)
    tr = n2v.Trainer(np.random.default_rng(0).normal(100, 25, shape).astype(np.float32), cfg)
    masked = round(100 * tr.data.n_masked / float(np.prod(tr.data.patch)), 1)
    return {"filters": tr.config.n_filters, "patch": tuple(tr.data.patch), "batch": tr.batch_size,
            "masked": masked, "val": cfg.val_patches, "lr": cfg.learning_rate, "variant": "n2v"}  # fmt: skip


def label(key: str, value: Any) -> str:
    if key == "patch":
        return "×".join(map(str, value))
    return f"{value:g}%" if key == "masked" else f"{value:g}" if key == "lr" else str(value)


def flags(over: dict[str, Any]) -> list[str]:
    """The runner's flags for a set of overrides."""
    out: list[str] = []
    for k, v in over.items():
        if k == "patch":
            out += ["--patch", *map(str, v)]
        elif k == "variant":
            out += ["--n2v2"] if v == "n2v2" else []
        else:
            out += [FLAGS[k], str(v)]
    return out


def parse_combo(text: str) -> dict[str, Any]:
    """``filters=16,patch=8x64x64,masked=1`` -> {"filters": 16, "patch": (8, 64, 64), ...}."""
    out: dict[str, Any] = {}
    for part in filter(None, (x.strip() for x in text.split(","))):
        k, _, v = part.partition("=")
        if k not in (*FLAGS, "patch", "variant"):
            raise SystemExit(
                f"--combo: unknown key {k!r} ({', '.join((*FLAGS, 'patch', 'variant'))})"
            )
        out[k] = PARSE.get(k, int)(v)
    return out


def checkerboard_score(den: np.ndarray, clean: np.ndarray) -> float:
    """Mean, over the pooling grid's frequencies, of the error power over its surroundings'."""
    err = den.astype(np.float64) - clean
    err -= err.mean()
    h, w = err.shape
    pw = np.abs(np.fft.fft2(err)) ** 2
    scores = []
    for fy in (0, h // 4, h // 2, 3 * h // 4):
        for fx in (0, w // 4, w // 2, 3 * w // 4):
            if fy or fx:
                ys, xs = ([(f + d) % n for d in range(-3, 4)] for f, n in ((fy, h), (fx, w)))
                nb = pw[np.ix_(ys, xs)]
                nb[3, 3] = np.nan
                scores.append(pw[fy, fx] / np.nanmedian(nb))
    return float(np.mean(scores))


def configs(a: argparse.Namespace, base: dict[str, Any]) -> list[dict[str, Any]]:
    """(factor, value label, overrides) of every run, the default first (and last)."""
    runs = [{"factor": "default", "value": "default", "over": {}}]
    for f in a.factors:
        values = [v for v in FACTORS[a.dims][f] if v != base[f]]
        runs += [{"factor": f, "value": label(f, v), "over": {f: v}} for v in values]
    for c in a.combo:
        over = parse_combo(c)
        value = ", ".join(f"{k} {label(k, v)}" for k, v in over.items())
        runs.append({"factor": "combo", "value": value, "over": over})
    again = {"factor": "default", "value": "default (again)", "over": {}}
    return runs + [again] * (a.base_repeats - 1)


def one_run(
    run: dict[str, Any], a: argparse.Namespace, images: list[tuple[str, np.ndarray, Path]]
) -> dict[str, Any]:
    """One configuration on every image, each a fresh runner process; means over the images."""
    per, before = [], hb.loadavg()
    for name, clean, data in images:
        out = data.with_name("out.npy")
        axes = "ZYX" if a.dims == 3 else "YX"
        args = hb.argv("--data", data, "--axes", axes, "--budget-s", a.budget, "--seed", a.seed,
                       "--predict", data, "--out", out, *flags(run["over"]))  # fmt: skip
        args += ["--precision", a.precision] if a.precision else []
        r = run_tool("ours", args, timeout=3 * a.budget + 900)
        den = np.load(out)
        row = {"image": name, "psnr": hb.psnr(clean, den), **{k: r.get(k) for k in KEEP}}
        row["patches_per_s"] = row.pop("steady_patches_per_s")
        if a.dims == 2:
            row.update(ssim=hb.ssim(clean, den), checkerboard=checkerboard_score(den, clean))
        per.append(row)
    keys = [k for k in ("psnr", "ssim", "checkerboard", "steps", "patches_per_s") if k in per[0]]
    over = {k: list(v) if isinstance(v, tuple) else v for k, v in run["over"].items()}
    means: dict[str, Any] = {k: float(np.mean([p[k] or 0 for p in per])) for k in keys}
    row = {**run, "over": over, "per_image": per, "loadavg_before": before, **means}
    what = f"[sweep {a.dims}D] {run['factor']}={run['value']}"
    hb.log(f"{what}: {row['psnr']:.2f} dB, {row['steps']:.0f} steps")
    return row


def run(a: argparse.Namespace) -> dict[str, Any]:
    a.budget = a.budget or (90.0 if a.dims == 3 else 30.0)
    a.factors = [f for f in (a.factors or ",".join(FACTORS[a.dims])).split(",") if f != "none"]
    unknown = [f for f in a.factors if f not in FACTORS[a.dims]]
    if unknown:
        raise SystemExit(f"--factors: unknown {unknown} (choose from {', '.join(FACTORS[a.dims])})")
    if a.quick:
        a.budget, a.base_repeats, a.images = 4.0, 1, ["01"]
        a.factors, a.combo = ["batch"], a.combo or ["masked=1"]
    tmp = Path(tempfile.mkdtemp(prefix="n2v_sweep_"))
    if a.dims == 3:
        clean = hb.synthetic_3d()
        sets = [("synthetic 32×128×128", clean, hb.add_noise(clean, seed=1))]
    else:
        sets = hb.noisy_set("Set12", names=a.images)
    images = []
    for i, (name, clean, noisy) in enumerate(sets):
        np.save(tmp / f"in{i}.npy", noisy)
        images.append((name, clean, tmp / f"in{i}.npy"))
    base = defaults(a.dims, a.precision)
    rows = [one_run(r, a, images) for r in configs(a, base)]
    bases = [r for r in rows if r["factor"] == "default"]
    base_psnr = float(np.mean([r["psnr"] for r in bases]))
    for r in rows:
        r["delta_db"] = r["psnr"] - base_psnr
    spread = max(r["psnr"] for r in bases) - min(r["psnr"] for r in bases)
    defaults_ = {k: label(k, v) for k, v in base.items()}
    input_psnr = float(np.mean([hb.psnr(c, n) for _, c, n in sets]))
    return {"dims": a.dims, "precision": a.precision or "auto", "defaults": defaults_, "rows": rows, "input_psnr": input_psnr,
            "base_psnr": base_psnr, "base_psnr_spread": spread}  # fmt: skip
