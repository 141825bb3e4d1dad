"""Training inside napari vs headless: the same image and settings, trained by ``napari_n2v.Trainer``
(what ``napari_n2v.train`` runs) and through the Train dock widget (a real viewer, the widget docked,
Train clicked, the live loss plot and preview running). Prints one JSON line: patches/s of each and
their ratio (issue 13's target: ≥ 0.9).

Rates are wall-clock: steps × batch / the last event's ``elapsed_s`` (so preview predictions and any
stall of the training thread count), plus the engine's own smoothed ``patches_per_s`` at the end.
Each run is a fresh process and they alternate (headless, widget, ... ``--rounds`` pairs); the ratio
is of the medians, so that a drift of the machine's load does not count as overhead. Fresh processes
matter: torch's OpenMP keeps one thread team per thread that ever ran a parallel op, and a second
team alive (a headless run on the main thread, then the widget's worker thread) makes libgomp stop
spinning between ops, which alone cost 20-35 % of the training rate on 2 cores.

Needs a display: ``xvfb-run -a .venv/bin/python benchmarks/widget_overhead.py [--steps N] [--quick]``
(the default is the widget's default run, 1000 steps: its one-off costs - the start notification,
creating the preview layer - weigh as they do for a user, not 7× more as in a 150-step run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
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


def noisy_stack(seed: int = 0) -> np.ndarray:
    """The synthetic 32 × 128 × 128 stack of blurred points (benchmarks/common.py) plus noise σ = 25."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import synthetic_3d

    clean = synthetic_3d()
    return (clean + np.random.default_rng(seed).normal(0, 25, clean.shape)).astype(np.float32)


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


def in_widget(
    image: np.ndarray,
    steps: int,
    seed: int,
    render_s: float | None = None,
    preview: bool = True,
    plot: bool = True,
) -> dict[str, float]:
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_n2v._qt import train_progress
    from napari_n2v._qt.train_widget import TrainWidget

    if render_s is not None:  # diagnostics: another render period for the bar and the plot
        train_progress.RENDER_S = render_s

    viewer = napari.Viewer(show=True)
    viewer.add_image(image, name="noisy")
    w = TrainWidget(viewer)
    if not preview:  # diagnostics: no live preview
        w.preview_interval_ms = 10**9
    if not plot:  # diagnostics: the loss plot takes the points but never draws them
        w.loss_plot.redraw = lambda: None  # type: ignore[method-assign]
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


def _one(args: argparse.Namespace) -> dict[str, Any]:
    """One measurement in this (fresh) process: ``args.one`` is ``headless`` or ``widget``."""
    import torch

    import napari_n2v as n2v

    if args.threads:
        torch.set_num_threads(args.threads)
    image = noisy_image(args.size) if args.dims == 2 else noisy_stack()
    if args.one == "headless":
        axes = "YX" if args.dims == 2 else "ZYX"  # what the widget picks for a 2D / 3D layer
        return headless(image, n2v.TrainConfig(axes=axes, steps=args.steps, seed=0))
    return in_widget(
        image,
        args.steps,
        0,
        args.render_s,
        preview=not args.no_preview,
        plot=not args.no_plot,
    )


def _spawn(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", kind, "--steps", str(args.steps)]
    cmd += ["--size", str(args.size), "--dims", str(args.dims)]
    cmd += ["--threads", str(args.threads)] if args.threads else []
    cmd += ["--render-s", str(args.render_s)] if args.render_s is not None else []
    cmd += ["--no-preview"] * args.no_preview + ["--no-plot"] * args.no_plot
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    print(f"{kind}: {result}", file=sys.stderr, flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--steps", type=int, default=None, help="steps per run (default: the widget's default)"
    )
    ap.add_argument("--size", type=int, default=512, help="2D image size")
    ap.add_argument(
        "--dims", type=int, choices=[2, 3], default=2, help="3: a 32×128×128 stack, trained in 3D"
    )
    ap.add_argument("--rounds", type=int, default=3, help="headless/widget pairs (default 3)")
    ap.add_argument(
        "--threads", type=int, default=None, help="torch threads for both (default: torch's)"
    )
    ap.add_argument(
        "--quick", action="store_true", help="30 steps, 1 round (smoke test; numbers meaningless)"
    )
    ap.add_argument("--render-s", type=float, default=None, help="diagnostics: render period")
    ap.add_argument("--no-preview", action="store_true", help="diagnostics: no live preview")
    ap.add_argument("--no-plot", action="store_true", help="diagnostics: loss plot never drawn")
    ap.add_argument("--one", choices=["headless", "widget"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.exit("needs a display: run under xvfb-run -a")
    if args.one:  # a child: one measurement, one JSON line
        print(json.dumps(_one(args)))
        return
    if args.quick:
        args.steps, args.rounds = 30, 1
    if args.steps is None:
        from napari_n2v.core.config import TrainConfig

        args.steps = TrainConfig(axes="YX").steps
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict[str, Any]]] = {"headless": [], "widget": []}
    for _ in range(args.rounds):
        for kind in ("headless", "widget"):
            runs[kind].append(_spawn(args, kind))
    rates = {k: [r["patches_per_s"] for r in v] for k, v in runs.items()}
    median = {k: statistics.median(v) for k, v in rates.items()}
    result = {
        "benchmark": "widget_overhead",
        "image": [args.size, args.size] if args.dims == 2 else [32, 128, 128],
        "steps": args.steps,
        "rounds": args.rounds,
        "torch_threads": args.threads or "torch default",
        "cpus": os.cpu_count(),
        "load_avg_before": load_before,
        "headless": runs["headless"],
        "widget": runs["widget"],
        "diagnostics": {
            "render_s": args.render_s,
            "preview": not args.no_preview,
            "plot": not args.no_plot,
        },
        "median_patches_per_s": median,
        "ratio_widget_to_headless": round(median["widget"] / median["headless"], 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
