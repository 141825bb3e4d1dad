"""Real screenshots of the Predict widget docked in napari, for docs/prediction.md.

Run it under a (virtual) display; it writes ``docs/images/predict_*.png``::

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/scripts/screenshot_predict.py

It trains a small 2D model on the bundled noisy 3D nuclei sample (planes as samples, a minute or two on a
CPU), then denoises the stack frame by frame through the widget.
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

from napari_n2v._qt.predict_widget import PredictWidget
from napari_n2v._sample_data import noisy_nuclei_3d
from napari_n2v.core.config import TrainConfig
from napari_n2v.core.train.trainer import train
from napari_n2v.run_models.registry import get_registry

OUT = Path(__file__).resolve().parents[1] / "images"
MAX_WIDTH = 1280  # pixels; keeps each PNG well under 300 KB


def wait(until: Callable[[], bool], timeout_s: float) -> None:
    """Run the Qt event loop until ``until()`` is true (or the timeout passes)."""
    end = time.monotonic() + timeout_s
    while not until() and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def save(array: np.ndarray, name: str) -> Path:
    """Write an RGB(A) screenshot as a small palette PNG."""
    img = PILImage.fromarray(np.asarray(array)[..., :3])
    if img.width > MAX_WIDTH:
        img = img.resize((MAX_WIDTH, round(img.height * MAX_WIDTH / img.width)), PILImage.LANCZOS)
    path = OUT / name
    img.quantize(colors=64, method=PILImage.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"{path} ({path.stat().st_size // 1024} KB)")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    (clean, clean_kw, _), (noisy, noisy_kw, _) = noisy_nuclei_3d()
    cfg = TrainConfig(axes="SYX", steps=args.steps, batch_size=args.batch, seed=0)
    print(f"training {cfg.steps} steps ...", flush=True)
    t0 = time.perf_counter()
    model = train(noisy, cfg)
    print(f"trained in {time.perf_counter() - t0:.0f} s", flush=True)
    model.name = f"nuclei (2D, {cfg.steps} steps)"
    get_registry().add(model, model.name)

    viewer = napari.Viewer(title="napari-n2v: Predict")
    viewer.window.resize(1500, 950)
    viewer.add_image(clean, **clean_kw)
    layer = viewer.add_image(noisy, **{**noisy_kw, "name": "noisy nuclei"})
    viewer.dims.set_point(0, 16)
    widget = PredictWidget(viewer)
    dock = viewer.window.add_dock_widget(widget, name="Predict (napari-n2v)", area="right")
    viewer.window._qt_window.resizeDocks([dock], [440], Qt.Orientation.Horizontal)
    widget.form.layer_combo.setCurrentText(layer.name)
    wait(lambda: False, 1.0)
    viewer.reset_view()
    wait(lambda: False, 0.5)
    save(viewer.screenshot(canvas_only=False, flash=False), "predict_ready.png")

    done: list[object] = []
    widget.finished.connect(done.append)
    widget.form.residual_check.setChecked(True)  # noisy − denoised, to see what was removed
    widget.form.predict_button.click()
    wait(lambda: widget.form.progress.value() >= 12 or bool(done), 600)
    print(widget.form.status.text(), widget.form.progress.text(), flush=True)
    save(viewer.screenshot(canvas_only=False, flash=False), "predict_running.png")
    wait(lambda: bool(done), 1800)
    print(widget.form.status.text(), flush=True)

    result = done[0]
    ref = viewer.layers["nuclei 3D (clean reference)"]
    ref.visible = True
    # noisy, denoised, residual, clean
    viewer.layers.move(viewer.layers.index(ref), len(viewer.layers))
    viewer.canvas.grid.enabled = True
    viewer.canvas.grid.shape = (2, 2)
    viewer.layers.selection.active = result
    wait(lambda: False, 0.5)
    viewer.reset_view()
    wait(lambda: False, 0.5)
    save(viewer.screenshot(canvas_only=False, flash=False), "predict_done.png")
    files_mode(viewer, widget, noisy)
    viewer.close()


def files_mode(viewer: napari.Viewer, widget: PredictWidget, noisy: np.ndarray) -> None:
    """Files…: five planes saved as TIFFs, denoised into an output folder (not opened)."""
    import tempfile

    import tifffile

    tmp = Path(tempfile.mkdtemp())
    src, out = tmp / "night1", tmp / "night1_n2v"
    src.mkdir()
    for i in range(5):
        tifffile.imwrite(src / f"nuclei_t{i:02d}.tif", noisy[4 + 5 * i])
    (src / "notes_t05.tif").write_bytes(b"not an image")  # a file that fails: the others go on
    viewer.canvas.grid.enabled = False
    viewer.layers["nuclei 3D (clean reference)"].visible = False
    for layer in list(viewer.layers):
        if layer.name.endswith(("_n2v", "_residual")):
            layer.visible = False
    f = widget.form
    f.files_button.setChecked(True)
    f.files_panel.add_inputs([src])
    f.files_panel.out_edit.setText(str(out))
    f.predict_button.click()
    wait(lambda: not widget.running, 600)
    print(f.status.text(), flush=True)
    wait(lambda: False, 0.5)
    save(viewer.screenshot(canvas_only=False, flash=False), "predict_files.png")


if __name__ == "__main__":
    main()
