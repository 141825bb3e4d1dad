"""Against classical filters (issue 23): N2V with its defaults at a training budget, against the filters a
microscopist already has, each tuned on the image itself without the clean image (Gaussian, median; BM3D
told σ where the optional package is installed), and against the Gaussian chosen *with* the clean image
(an oracle). Also checks that the no-clean-image score ranks the methods as the true PSNR does.

Images: Set12 by number (``02``), BSD68 by name (``test001``), or ``3d`` for the synthetic 32×128×128
stack of the time-to-quality suite (BM3D then runs slice by slice). N2V's output is scored as ``predict`` gives it
(blended with the input by the weight the run measured), without the blend (``psnr_no_blend``), and with
test-time augmentation (``tta``: the mean of the 8 flips/rotations, the same trained model).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from benchmarks.harness import basics as hb


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--images", nargs="+", default=["02", "05"], help="Set12 numbers, BSD68 names, or 3d"
    )
    p.add_argument("--sigmas", nargs="+", type=float, default=[15.0, 25.0, 50.0])
    p.add_argument("--budget", type=float, default=60.0, help="N2V training seconds (0: no N2V)")
    p.add_argument("--seed", type=int, default=1)


def _oracle_gaussian(clean: np.ndarray, noisy: np.ndarray) -> tuple[float, float]:
    from scipy import ndimage as ndi

    best = max(
        ((hb.psnr(clean, ndi.gaussian_filter(noisy, s)), s) for s in np.geomspace(0.3, 6, 40)),
    )
    return best


def _clean(name: str) -> tuple[np.ndarray, str]:
    """The clean image ``name`` names (see the module) and its axes."""
    if name == "3d":
        return hb.synthetic_3d(), "ZYX"
    folder = "BSD68" if name.startswith("test") else "Set12"
    return hb.load_png(hb.data_dir() / folder / f"{name}.png"), "YX"


def _one(name: str, sigma: float, budget: float, seed: int) -> dict[str, Any]:
    import napari_n2v as n2v
    from napari_n2v.core.baseline.versus import compare_with_baselines
    from napari_n2v.core.config import MAX_STEPS

    clean, axes = _clean(name)
    noisy = hb.add_noise(clean, seed, sigma)
    row: dict[str, Any] = {"image": name, "sigma": sigma, "psnr_noisy": hb.psnr(clean, noisy)}
    methods = ["gaussian", "median"]
    try:
        import bm3d  # noqa: F401

        methods.append("bm3d")
    except ImportError:
        pass
    base = n2v.baseline(noisy, axes, methods=tuple(methods), noise_var=sigma**2)
    for r in base.results:
        row[r.method] = {"param": r.param, "psnr": hb.psnr(clean, r.image), "score": r.score.mean}
    row["oracle_gaussian_psnr"], row["oracle_gaussian_sigma"] = _oracle_gaussian(clean, noisy)
    true_rank = sorted(base.results, key=lambda r: -hb.psnr(clean, r.image))
    score_rank = sorted(base.results, key=lambda r: r.score.mean)
    row["score_ranks_like_psnr"] = [r.method for r in true_rank] == [r.method for r in score_rank]
    if budget > 0:
        cfg = n2v.TrainConfig(axes=axes, steps=MAX_STEPS, time_limit_s=budget, seed=seed)
        model = n2v.train(noisy, cfg)
        tta = n2v.predict(model, noisy, axes, n2v.PredictConfig(tta=True))
        alone = n2v.predict(model, noisy, axes, n2v.PredictConfig(blend=False))
        row["n2v"] = {"psnr": hb.psnr(clean, n2v.predict(model, noisy, axes)),
                      "psnr_tta": hb.psnr(clean, tta), "psnr_no_blend": hb.psnr(clean, alone),
                      "blend": model.blend, "steps": model.steps_trained,
                      "filters": model.config.n_filters}  # fmt: skip
        cmp = compare_with_baselines(model, noisy, axes, methods=("gaussian", "median"))
        row["n2v"]["verdict"] = cmp.sentence
    hb.log(row)
    return row


def run(args: argparse.Namespace) -> dict[str, Any]:
    images = args.images[:1] if args.quick else args.images
    sigmas = args.sigmas[:1] if args.quick else args.sigmas
    budget = min(args.budget, 5.0) if args.quick else args.budget
    rows = [_one(name, s, budget, args.seed) for name in images for s in sigmas]
    return {"budget_s": budget, "rows": rows, "loadavg": hb.loadavg()}
