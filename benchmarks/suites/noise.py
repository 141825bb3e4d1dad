"""Correlated noise (issue 18): the blind spot ``auto`` picks against today's one-pixel blind spot, at an
equal wall-clock budget, on Set12 images with white noise and two kinds of correlated noise (σ=25):

* ``iso``: white noise through a 2×2 box filter (lag-1 autocorrelation 0.5 along Y and X, like a camera);
* ``x``: white noise through a 2-pixel box along X only (lag-1 0.5 along X, like line scanning).

Part ``choice`` runs only the noise analysis on every image and kind and counts which blind spot ``auto``
takes (white must give ``pixel``); part ``train`` trains each arm for ``--budget`` seconds (same seed, arms
alternating) and reports PSNR against the clean image. Arm ``pairs`` is the bound: the same U-Net (width,
batch, patch, precision as the plan settles them) trained for the same time on noisy/clean pairs (MSE at
every pixel against the clean patch). Arm ``pd2`` (correlated kinds): pixel-shuffle downsampling with
stride 2, the alternative to a larger blind spot that AP-BSN builds on (see ``_pd2``); row ``pd2>1`` is
the same trained model run on the full image (AP-BSN's asymmetric inference, at stride 1). Every
prediction keeps the share of the input its training measured (``predict``'s default); rows ``auto
alone`` and ``pixel alone`` are the networks' outputs without that blend.

Image ``3d`` is the synthetic 32×128×128 stack (``basics.synthetic_3d``): its noise is correlated within
each plane (as a camera's), not between planes.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from benchmarks.harness import basics as hb

KINDS = ("white", "iso", "x")


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--parts", nargs="+", default=["choice", "train"], choices=["choice", "train"])
    p.add_argument("--images", nargs="+", default=["02", "05"], help="Set12 numbers, or 3d")
    p.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    p.add_argument("--budget", type=float, default=60.0, help="training seconds per run")
    p.add_argument("--seed", type=int, default=1)


def correlated_noise(
    shape: tuple[int, ...], kind: str, seed: int, sigma: float = hb.SIGMA
) -> np.ndarray:
    """Gaussian noise of std ``sigma``: white, or made correlated by a 2-pixel box (see the module)."""
    from scipy import ndimage as ndi

    w = np.random.default_rng(seed).normal(0, 1, shape)
    if kind == "iso":  # Y and X only: a camera's planes are independent
        w = ndi.uniform_filter(w, (1,) * (len(shape) - 2) + (2, 2), mode="wrap")
    elif kind == "x":
        w = ndi.uniform_filter1d(w, 2, axis=-1, mode="wrap")
    return (w / w.std() * sigma).astype(np.float32)


def _choice(seed: int) -> dict[str, Any]:
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.plan.train_plan import plan_training

    picks: dict[str, dict[str, int]] = {k: {} for k in KINDS}
    seconds = []
    for path in hb.image_paths("Set12"):
        clean = hb.load_png(path)
        for kind in KINDS:
            noisy = clean + correlated_noise(clean.shape, kind, seed)
            t0 = time.perf_counter()
            spec = plan_training(noisy, TrainConfig(axes="YX", device="cpu")).blind_spot.spec
            seconds.append(time.perf_counter() - t0)
            picks[kind][spec] = picks[kind].get(spec, 0) + 1
    return {"picks": picks, "plan_seconds_max": max(seconds)}


def _train(images: list[str], kinds: list[str], budget: float, seed: int) -> list[dict[str, Any]]:
    import napari_n2v as n2v
    from napari_n2v.core.config import MAX_STEPS

    rows = []
    for name in images:
        if name == "3d":
            clean, axes = hb.synthetic_3d(), "ZYX"
        else:
            clean, axes = hb.load_png(hb.data_dir() / "Set12" / f"{name}.png"), "YX"
        for kind in kinds:
            noisy = clean + correlated_noise(clean.shape, kind, seed)
            for arm in ("auto", "pixel", "pairs") + (("pd2",) if kind != "white" else ()):
                outs = {arm: None}
                if arm == "pairs":
                    outs[arm], steps, spot = (*_pairs(noisy, clean, axes, budget, seed), "–")
                elif arm == "pd2":
                    outs[arm], outs["pd2>1"], steps = _pd2(noisy, axes, budget, seed)
                    spot = "pixel on 2×2 sub-images"
                else:
                    cfg = n2v.TrainConfig(
                        axes=axes, steps=MAX_STEPS, time_limit_s=budget, seed=seed, blind_spot=arm
                    )
                    model = n2v.train(noisy, cfg)
                    outs[arm], steps = n2v.predict(model, noisy, axes), model.steps_trained
                    outs[arm + " alone"] = n2v.predict(
                        model, noisy, axes, n2v.PredictConfig(blend=False)
                    )
                    spot = model.config.blind_spot
                for label, out in outs.items():
                    rows.append({
                        "image": name, "kind": kind, "arm": label, "blind_spot": spot,
                        "steps": steps, "psnr_noisy": hb.psnr(clean, noisy),
                        "psnr": hb.psnr(clean, out), "loadavg": hb.loadavg(),
                    })  # fmt: skip
                    hb.log(rows[-1])
    return rows


def _pd2(
    noisy: np.ndarray, axes: str, budget: float, seed: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Pixel-shuffle downsampling (as AP-BSN trains): the four stride-2 sub-images in Y and X, whose
    noise is nearly white when its correlation reaches one pixel, trained as samples with a one-pixel
    blind spot for ``budget`` seconds, each denoised and shuffled back; and the same model run on the
    full image (stride 1); and its step count."""
    import napari_n2v as n2v
    from napari_n2v.core.config import MAX_STEPS

    grid = [(i, j) for i in (0, 1) for j in (0, 1)]
    subs = np.stack([noisy[..., i::2, j::2] for i, j in grid])
    cfg = n2v.TrainConfig(axes="S" + axes, steps=MAX_STEPS, time_limit_s=budget, seed=seed,
                          blind_spot="pixel")  # fmt: skip
    model = n2v.train(subs, cfg)
    den, out = n2v.predict(model, subs, "S" + axes), np.empty_like(noisy)
    for k, (i, j) in enumerate(grid):
        out[..., i::2, j::2] = den[k]
    return out, n2v.predict(model, noisy, axes), model.steps_trained


def _pairs(
    noisy: np.ndarray, clean: np.ndarray, axes: str, budget: float, seed: int
) -> tuple[np.ndarray, int]:
    """The supervised bound: our default network for this image and machine, trained for ``budget``
    seconds on random noisy/clean patch pairs (flips included); its output and step count."""
    import torch

    from benchmarks import engine
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.plan.train_plan import plan_training

    plan = plan_training(noisy, TrainConfig(axes=axes, device="cpu", seed=seed))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = engine.build_unet(plan.config, 1).train()
    opt = torch.optim.Adam(net.parameters(), lr=plan.config.learning_rate)
    mean, std = float(noisy.mean()), float(noisy.std())
    x_all, y_all = ((torch.from_numpy(a.astype(np.float32)) - mean) / std for a in (noisy, clean))
    patch, b, steps = tuple(plan.patch), plan.batch_size, 0
    t_end = time.perf_counter() + budget
    while time.perf_counter() < t_end:
        starts = [rng.integers(0, n - p + 1, b) for n, p in zip(noisy.shape, patch, strict=True)]
        corners = zip(*starts, strict=True)
        boxes = [tuple(slice(c, c + p) for c, p in zip(cs, patch, strict=True)) for cs in corners]
        pair = torch.stack([torch.stack([x_all[box], y_all[box]]) for box in boxes])
        pair = pair.flip(-1) if rng.random() < 0.5 else pair
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=plan.machine.precision == "bf16"):
            pred = net(pair[:, :1])
        loss = (pred.float() - pair[:, 1:]).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
    with torch.no_grad():
        out = net.eval()(x_all[None, None])[0, 0].numpy() * std + mean
    return out, steps


def run(args: argparse.Namespace) -> dict[str, Any]:
    budget = 5.0 if args.quick else args.budget
    images = args.images[:1] if args.quick else args.images
    out: dict[str, Any] = {"budget_s": budget, "sigma": hb.SIGMA}
    if "choice" in args.parts:
        out["choice"] = _choice(args.seed)
    if "train" in args.parts:
        rows = _train(images, args.kinds, budget, args.seed)
        out["train"] = rows
        gain: dict[str, list[float]] = {}
        for r in rows:
            if r["arm"] == "auto":
                pix = next(
                    q
                    for q in rows
                    if q["arm"] == "pixel" and (q["image"], q["kind"]) == (r["image"], r["kind"])
                )
                gain.setdefault(r["kind"], []).append(r["psnr"] - pix["psnr"])
        out["auto_minus_pixel_db"] = {k: float(np.mean(v)) for k, v in gain.items()}
    return out
