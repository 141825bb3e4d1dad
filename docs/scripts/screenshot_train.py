"""Real screenshots of the Train widget docked in napari, for docs/training.md.

Run it under a (virtual) display; it writes ``docs/images/train_*.png``::

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/scripts/screenshot_train.py

It trains on the bundled noisy nuclei sample (2D), so it takes a few minutes on a CPU. ``--steps`` and
``--batch`` make it shorter or longer. The last picture docks Train and Predict on a 1280 × 800 window.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import napari
import numpy as np
from PIL import Image as PILImage
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication

from napari_n2v._qt.train_widget import TrainWidget
from napari_n2v._sample_data import load_sample

OUT = Path(__file__).resolve().parents[1] / "images"
MAX_WIDTH = 1280  # pixels; keeps each PNG well under 300 KB


def wait(until: Callable[[], bool], timeout_s: float) -> None:
    """Run the Qt event loop until ``until()`` is true (or the timeout passes)."""
    end = time.monotonic() + timeout_s
    while not until() and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def small_png(img: PILImage.Image) -> PILImage.Image:
    """A 256-colour version of a screenshot that keeps the greys smooth and the few bright UI colours.

    A plain median cut spends every colour on the (grey) image and turns the orange curve grey.
    """
    rgb = np.asarray(img)
    spread = rgb.max(axis=-1).astype(int) - rgb.min(axis=-1)
    coloured = rgb[spread > 40]
    greys = img.quantize(colors=224, method=PILImage.Quantize.MEDIANCUT).convert("RGB")
    parts = [np.asarray(greys).reshape(-1, 3)]
    if len(coloured):
        swatch = PILImage.fromarray(coloured.reshape(1, -1, 3))
        parts.append(np.asarray(swatch.quantize(colors=32).convert("RGB")).reshape(-1, 3))
    colours = np.unique(np.concatenate(parts), axis=0)[:256]
    palette = PILImage.new("P", (1, 1))
    palette.putpalette(colours.astype(np.uint8).ravel().tolist())
    return img.quantize(palette=palette, dither=PILImage.Dither.NONE)


def save(array: np.ndarray, name: str) -> Path:
    """Write an RGB(A) screenshot as a small palette PNG."""
    img = PILImage.fromarray(np.ascontiguousarray(np.asarray(array)[..., :3]))
    if img.width > MAX_WIDTH:
        img = img.resize((MAX_WIDTH, round(img.height * MAX_WIDTH / img.width)), PILImage.LANCZOS)
    path = OUT / name
    small_png(img).save(path, optimize=True)
    print(f"{path} ({path.stat().st_size // 1024} KB)")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    noisy, _ = load_sample("2d")
    viewer = napari.Viewer(title="napari-n2v: Train")
    viewer.window.resize(1500, 950)
    viewer.add_image(noisy, name="noisy nuclei", colormap="gray")
    widget = TrainWidget(viewer)
    dock = viewer.window.add_dock_widget(widget, name="Train (napari-n2v)", area="right")
    viewer.window._qt_window.resizeDocks([dock], [440], Qt.Orientation.Horizontal)
    wait(lambda: False, 1.0)
    viewer.reset_view()
    # The Noise check: the autocorrelation picture, the verdict, the blind spot training will use.
    widget.inputs.check_noise()
    wait(lambda: widget.noise.result is not None, 120)
    wait(lambda: False, 0.5)
    save(viewer.screenshot(canvas_only=False, flash=False), "train_ready.png")

    widget.settings.advanced.expand(animate=False)
    wait(lambda: False, 0.5)
    save(_grab(widget), "train_advanced.png")
    widget.settings.advanced.collapse(animate=False)

    widget.settings.steps.setValue(args.steps)  # a step count instead of the CPU's 5 minutes
    widget.settings.batch.setValue(args.batch)
    widget.settings.seed.setValue(0)
    widget.train_button.click()
    wait(lambda: widget.progress.value() >= args.steps // 2 or not widget.run.running, 1800)
    if not widget.run.running:
        raise SystemExit(f"training ended early: {widget.status.text()}")
    wait(lambda: False, 3.5)  # let a fresh preview arrive
    save(viewer.screenshot(canvas_only=False, flash=False), "train_running.png")

    wait(lambda: not widget.run.running, 1800)
    wait(lambda: widget.judge.result is not None and widget.preview.finals == 0, 300)
    # Compare: the best calibrated filter's result beside the N2V preview, and both scores.
    widget.judge.compare()
    wait(lambda: widget.judge.added is not None, 300)
    viewer.canvas.grid.enabled = True  # noisy, N2V and the filter side by side
    wait(lambda: False, 1.0)
    viewer.reset_view()
    wait(lambda: False, 1.0)
    save(viewer.screenshot(canvas_only=False, flash=False), "train_done.png")

    # A 3D stack: the widget asks what the first axis is, and shows a Z patch size.
    viewer.canvas.grid.enabled = False
    for layer in list(viewer.layers)[1:]:
        layer.visible = False
    stack, _ = load_sample("3d")
    layer = viewer.add_image(stack, name="noisy stack", colormap="gray")
    widget.layer_combo.set_layer(layer)
    viewer.dims.set_current_step(0, stack.shape[0] // 2)
    viewer.reset_view()
    wait(lambda: False, 1.0)
    save(viewer.screenshot(canvas_only=False, flash=False), "train_3d.png")
    viewer.close()
    small_screen()


def small_screen() -> None:
    """Train and Predict docked together on a 1280 × 800 screen: they share one tab stack."""
    from napari_n2v._qt.dock_fit import _dock_of
    from napari_n2v._qt.predict_widget import PredictWidget

    noisy, _ = load_sample("2d")
    viewer = napari.Viewer(title="napari-n2v: Train and Predict")
    viewer.window._qt_window.resize(1280, 760)  # 800 px less a task bar
    viewer.add_image(noisy, name="noisy nuclei", colormap="gray")
    train = TrainWidget(viewer)
    viewer.window.add_dock_widget(train, name="Train (napari-n2v)", area="right")
    wait(lambda: False, 0.5)
    viewer.window.add_dock_widget(PredictWidget(viewer), name="Predict (napari-n2v)", area="right")
    wait(lambda: False, 1.0)
    dock = _dock_of(train)
    if dock is not None:
        dock.raise_()  # the Train tab in front
    viewer.reset_view()
    wait(lambda: False, 1.0)
    save(viewer.screenshot(canvas_only=False, flash=False), "docks_small_screen.png")
    viewer.close()


def _grab(widget: TrainWidget) -> np.ndarray:
    """A picture of just the widget, as an RGB array."""
    qimg = widget.grab().toImage()
    qimg = qimg.convertToFormat(qimg.Format.Format_RGB888)
    ptr = qimg.constBits()
    ptr.setsize(qimg.sizeInBytes())
    arr = np.frombuffer(ptr, np.uint8).reshape(qimg.height(), qimg.bytesPerLine())
    return arr[:, : qimg.width() * 3].reshape(qimg.height(), qimg.width(), 3).copy()


if __name__ == "__main__":
    main()
