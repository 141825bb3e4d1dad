"""Training inside napari vs headless: the same image and settings, trained by ``napari_n2v.Trainer``
(what ``napari_n2v.train`` runs) and through the Train dock widget (a real viewer, the widget docked,
Train clicked, the live loss plot and preview running). Prints one JSON line: patches/s of each and
their ratio (issue 13's target: ≥ 0.9).

Rates are wall-clock: steps × batch / the last event's ``elapsed_s`` (so preview predictions and any
stall of the training thread count), plus the engine's own smoothed ``patches_per_s`` at the end.
The runs alternate (headless, widget, headless) and the widget is compared with the mean of the two
headless runs, so that a drift of the machine's load does not count as overhead.

Needs a display: ``xvfb-run -a .venv/bin/python benchmarks/widget_overhead.py [--steps N] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import numpy as np


def noisy_image(size: int = 512, seed: int = 0) -> np.ndarray:
    """Blurred random points plus Gaussian noise (σ = 25 on a 0–255 scale), float32."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    clean = np.zeros((size, size), np.float32)
    ys, xs = rng.integers(0, size, (2, size))
    clean[ys, xs] = 1.0
    clean = gaussian_filter(clean, 3.0)
    clean = 255 * clean / clean.max()
    return (clean + rng.normal(0, 25, clean.shape)).astype(np.float32)


def _rate(events: list[Any], batch: int) -> dict[str, float]:
    last = events[-1]
    return {
        "steps": last.step,
        "seconds": round(last.elapsed_s, 2),
        "patches_per_s": round(last.step * batch / last.elapsed_s, 1),
        "engine_patches_per_s": round(last.patches_per_s, 1),
    }


def headless(image: np.ndarray, cfg: Any) -> dict[str, float]:
    import napari_n2v as n2v

    trainer = n2v.Trainer(image, cfg)
    events = [ev for ev in _drain(trainer.run()) if isinstance(ev, n2v.TrainEvent)]
    return _rate(events, trainer.batch_size)


def _drain(gen: Any) -> Any:
    try:
        while True:
            yield next(gen)
    except StopIteration:
        return


def in_widget(image: np.ndarray, steps: int, seed: int) -> dict[str, float]:
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_n2v._qt.train_widget import TrainWidget

    viewer = napari.Viewer(show=True)
    viewer.add_image(image, name="noisy")
    w = TrainWidget(viewer)
    viewer.window.add_dock_widget(w, name="Train")
    w.settings.steps.setValue(steps)
    w.settings.seed.setValue(seed)
    events: list[Any] = []
    w.run.step.connect(events.append)
    app = QApplication.instance()
    for _ in range(20):  # let the window settle before the clock starts
        app.processEvents()
        time.sleep(0.05)
    # Wait the way napari does: in Qt's event loop, which sleeps until an event comes (a polling loop
    # of processEvents() would itself take CPU from the training thread on a 2-core machine).
    from qtpy.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    w.run.ended.connect(lambda *_: loop.quit())
    w.train_button.click()
    batch = w.run.trainer.batch_size
    if w.run.running:
        loop.exec_()
    for _ in range(5):  # let the last events arrive
        app.processEvents()
        QTimer.singleShot(0, lambda: None)
    out = _rate(events, batch)
    out["previews"] = w.preview.requests
    out["plot_points"] = w.loss_plot.n_train_points
    w.shutdown()
    viewer.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument(
        "--threads", type=int, default=None, help="torch threads for both (default: torch's)"
    )
    ap.add_argument(
        "--quick", action="store_true", help="30 steps (smoke test; numbers meaningless)"
    )
    args = ap.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.exit("needs a display: run under xvfb-run -a")
    import torch

    import napari_n2v as n2v

    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    steps = 30 if args.quick else args.steps
    image = noisy_image(args.size)
    cfg = n2v.TrainConfig(axes="YX", steps=steps, seed=0)  # the widget's defaults, same seed
    headless(image, n2v.TrainConfig(axes="YX", steps=10, seed=0))  # warm-up: kernels, caches
    h1 = headless(image, cfg)
    print(f"headless: {h1}", file=sys.stderr, flush=True)
    w = in_widget(image, steps, 0)
    print(f"widget: {w}", file=sys.stderr, flush=True)
    h2 = headless(image, cfg)
    print(f"headless: {h2}", file=sys.stderr, flush=True)
    base = (h1["patches_per_s"] + h2["patches_per_s"]) / 2
    result = {
        "benchmark": "widget_overhead",
        "image": [args.size, args.size],
        "steps": steps,
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_avg_before": load_before,
        "headless": [h1, h2],
        "widget": w,
        "ratio_widget_to_headless": round(w["patches_per_s"] / base, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
