"""``napari-n2v demo``: the whole job on the bundled nuclei sample, headless.

Adds known noise to the clean nuclei (2D plane and/or 3D stack), trains for a wall-clock budget, denoises,
writes the TIFFs and a side-by-side PNG (noisy | N2V | clean) and prints PSNR before and after.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from napari_n2v.core.errors import N2VError
from napari_n2v.core.metrics import psnr

#: Default wall-clock training budget per sample (seconds); ~3 minutes in all on a 2-core CPU.
BUDGET_S = {"2d": 50.0, "3d": 90.0}


def _to_u8(img: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (np.clip((img - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def save_side_by_side(
    path: Path,
    noisy: np.ndarray,
    denoised: np.ndarray,
    clean: np.ndarray,
    *,
    overwrite: bool = False,
) -> None:
    """noisy | denoised | clean, same contrast (clean's 0.5–99.5 percentiles), 4-px white gaps;
    written atomically."""
    from PIL import Image

    from napari_n2v.core.io.atomic import atomic_write

    lo, hi = np.percentile(clean, (0.5, 99.5))
    gap = np.full((noisy.shape[0], 4), 255, np.uint8)
    row = np.concatenate(
        [_to_u8(noisy, lo, hi), gap, _to_u8(denoised, lo, hi), gap, _to_u8(clean, lo, hi)], 1
    )
    with atomic_write(path, overwrite=overwrite) as tmp:
        Image.fromarray(row).save(tmp, format="PNG")


def run_one(
    kind: str, out: Path, steps: int | None, device: str, overwrite: bool, precision: str = "auto"
) -> dict[str, float]:
    from napari_n2v._sample_data import load_sample
    from napari_n2v.core.config import MAX_STEPS, PredictConfig, TrainConfig
    from napari_n2v.core.io.atomic import check_writable
    from napari_n2v.core.io.image_io import write_image
    from napari_n2v.core.predict.prediction import predict
    from napari_n2v.core.progress import drain
    from napari_n2v.core.train.trainer import InfoEvent, Trainer, TrainEvent

    noisy, clean = load_sample(kind, seed=0)
    axes = "ZYX" if kind == "3d" else "YX"
    files = {n: out / f"nuclei{kind}_{n}" for n in ("noisy.tif", "n2v.tif", "side_by_side.png")}
    for f in files.values():
        if f.exists() and not overwrite:
            raise N2VError(f"{f} already exists: use another --out folder, or add --overwrite.")
        check_writable(f, overwrite=overwrite)  # before training: the folder, a run writing it
    budget = None if steps else BUDGET_S[kind]  # a wall-clock budget unless steps are given
    common: dict[str, Any] = dict(
        axes=axes,
        steps=steps or MAX_STEPS,
        time_limit_s=budget,
        learning_rate=1e-3,
        steps_per_epoch=25,
        device=device,
        precision=precision,
        seed=0,
    )
    # the defaults (on a CPU: 16 filters in 3D and in fp32 2D; bf16 where native)
    cfg = TrainConfig(**common)
    print(
        f"[{kind}] noisy nuclei {noisy.shape}, PSNR {psnr(noisy, clean):.2f} dB; training "
        + (f"{steps} steps" if steps else f"for {budget:.0f} s")
    )
    t0 = time.perf_counter()
    last: list[TrainEvent] = []

    def show(ev: Any) -> None:
        if isinstance(ev, InfoEvent):
            print(f"[{kind}] {ev.message}")
        elif isinstance(ev, TrainEvent):
            last[:] = [ev]
            if ev.val_loss is not None:
                print(
                    f"[{kind}] step {ev.step}: loss {ev.train_loss:.4f}, val {ev.val_loss:.4f}, "
                    f"{ev.patches_per_s:.0f} patches/s"
                )

    model = drain(Trainer(noisy, cfg, name=f"nuclei{kind}").run(), show)
    t_train = time.perf_counter() - t0
    t1 = time.perf_counter()
    den = predict(model, noisy, axes, PredictConfig(device=device, precision=precision))
    t_pred = time.perf_counter() - t1
    write_image(files["noisy.tif"], noisy, axes, overwrite=overwrite)
    write_image(files["n2v.tif"], den, axes, overwrite=overwrite)
    mid = (lambda a: a[a.shape[0] // 2]) if kind == "3d" else (lambda a: a)
    save_side_by_side(
        files["side_by_side.png"], mid(noisy), mid(den), mid(clean), overwrite=overwrite
    )
    res = {
        "psnr_noisy": psnr(noisy, clean),
        "psnr_n2v": psnr(den, clean),
        "steps": last[0].step if last else 0,
        "train_s": t_train,
        "predict_s": t_pred,
    }
    print(
        f"[{kind}] PSNR noisy {res['psnr_noisy']:.2f} dB -> N2V {res['psnr_n2v']:.2f} dB "
        f"(+{res['psnr_n2v'] - res['psnr_noisy']:.2f}) after {res['steps']} steps in {t_train:.0f} s; "
        f"prediction {t_pred:.1f} s; wrote {', '.join(str(f) for f in files.values())}"
    )
    return res


def run_demo(
    out: Path,
    kind: str = "both",
    steps: int | None = None,
    device: str = "auto",
    overwrite: bool = False,
    precision: str = "auto",
) -> dict[str, dict[str, float]]:
    from napari_n2v.core.io.outputs import check_folder

    check_folder(out)  # a file in the way, a read-only folder: said before any training
    out.mkdir(parents=True, exist_ok=True)
    kinds = ["2d", "3d"] if kind == "both" else [kind]
    return {k: run_one(k, out, steps, device, overwrite, precision) for k in kinds}
