"""Training inside napari vs headless: the same image and settings trained by ``napari_n2v.Trainer``
and through the Train dock widget (a real viewer, the widget docked, Train clicked, the live loss
plot and preview running). Issue 13's target: the widget's rate ≥ 0.9 of headless.

Rates are wall-clock: steps × batch / the last event's ``elapsed_s`` (previews and any stall of the
training thread count). Each run is a fresh process and they alternate (``--rounds`` pairs); the
ratio is of the medians. Fresh processes matter: torch's OpenMP keeps a thread team per thread that
ever ran a parallel op, and a second team alive (headless on the main thread, then the widget's
worker thread) makes libgomp stop spinning between ops, which slows training on few cores.

Needs a display: ``xvfb-run -a python -m benchmarks run widget``. The default run is the widget's
default (1000 steps on 512², or 300 steps on the synthetic 32×128×128 stack with ``--dims 3``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import basics as hb
from benchmarks.harness.child import spawn


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, help="steps per run (default: the widget's default)")
    p.add_argument("--dims", type=int, choices=(2, 3), default=2, help="3: the 32×128×128 stack")
    p.add_argument("--rounds", type=int, default=2, help="headless/widget pairs")
    p.add_argument("--threads", type=int, default=2, help="torch threads of both")


def image(dims: int, seed: int = 0) -> np.ndarray:
    """2D: blurred random points on 512² plus noise σ=25; 3D: the synthetic stack plus noise."""
    rng = np.random.default_rng(seed)
    if dims == 3:
        clean = hb.synthetic_3d()
    else:
        from scipy.ndimage import gaussian_filter

        clean = np.zeros((512, 512), np.float32)
        clean[tuple(rng.integers(0, 512, (2, 512)))] = 1.0
        clean = gaussian_filter(clean, 3.0)
        clean = 255 * clean / clean.max()
    return (clean + rng.normal(0, 25, clean.shape)).astype(np.float32)


def rate(events: list[Any], batch: int) -> dict[str, Any]:
    last = events[-1]
    return {"steps": last.step, "seconds": round(last.elapsed_s, 2),
            "engine_patches_per_s": round(last.patches_per_s, 1),
            "patches_per_s": round(last.step * batch / last.elapsed_s, 1)}  # fmt: skip


def in_widget(img: np.ndarray, steps: int) -> dict[str, Any]:
    """One run through the Train widget, waiting in Qt's event loop as napari does."""
    import napari
    from qtpy.QtCore import QEventLoop
    from qtpy.QtWidgets import QApplication

    from benchmarks import engine

    viewer = napari.Viewer(show=True)
    viewer.add_image(img, name="noisy")
    w = engine.TrainWidget(viewer)
    viewer.window.add_dock_widget(w, name="Train")
    w.settings.steps.setValue(steps)
    w.settings.seed.setValue(0)
    events: list[Any] = []
    w.run.step.connect(events.append)
    app = QApplication.instance()
    assert app is not None, "napari.Viewer() makes the QApplication"
    for _ in range(20):  # let the window settle before the clock starts
        app.processEvents()
        time.sleep(0.05)
    loop = QEventLoop()  # sleeps until an event comes: polling would take CPU from training
    w.run.ended.connect(lambda *_: loop.quit())
    w.train_button.click()
    batch = w.run.trainer.batch_size
    if w.run.running:
        loop.exec()
    for _ in range(5):  # let the last events arrive
        app.processEvents()
    out = rate(events, batch)
    out.update(previews=w.preview.requests, plot_points=w.loss_plot.n_train_points)
    w.shutdown()
    viewer.close()
    return out


def child(kind: str, dims: int, steps: int, threads: int) -> dict[str, Any]:
    """One measurement in this (fresh) process."""
    import torch

    import napari_n2v as n2v

    torch.set_num_threads(threads)
    img = image(dims)
    if kind == "widget":
        return in_widget(img, steps)
    axes = "ZYX" if dims == 3 else "YX"
    trainer = n2v.Trainer(img, n2v.TrainConfig(axes=axes, steps=steps, seed=0))
    return rate([ev for ev in trainer.run() if isinstance(ev, n2v.TrainEvent)], trainer.batch_size)


def run(a: argparse.Namespace) -> dict[str, Any]:
    if not os.environ.get("DISPLAY"):
        raise SystemExit("the widget suite needs a display: run it under xvfb-run -a")
    if a.quick:
        a.steps, a.rounds = 30, 1
    if a.steps is None:
        import napari_n2v as n2v

        a.steps = 300 if a.dims == 3 else n2v.TrainConfig(axes="YX").steps
    runs: dict[str, list[dict[str, Any]]] = {"headless": [], "widget": []}
    load_before = hb.loadavg()
    for _ in range(a.rounds):
        for kind in runs:
            child_args = f"{kind} {a.dims} {a.steps} {a.threads}"
            cmd = hb.argv(Path(sys.executable), "-m benchmarks.suites.widget", child_args)
            runs[kind].append(hb.last_json_line(spawn(cmd)[1]))
            hb.log(f"{kind}: {runs[kind][-1]}")
    median = {k: statistics.median(r["patches_per_s"] for r in v) for k, v in runs.items()}
    ratio = round(median["widget"] / median["headless"], 3)
    return {"image": list(image(a.dims).shape), "steps": a.steps, "rounds": a.rounds,
            "torch_threads": a.threads, "loadavg_before": load_before, **runs,
            "median_patches_per_s": median, "ratio_widget_to_headless": ratio}  # fmt: skip


if __name__ == "__main__":
    hb.print_json_line(child(sys.argv[1], *map(int, sys.argv[2:5])))
