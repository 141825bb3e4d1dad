"""Files… mode of the Predict widget: renders a :class:`napari_n2v.run_models.files_run.FilesRun` in the
:class:`FilesPanel` and the widget's progress bar and status line; results are written to the output
folder and opened in the viewer only when "Open results in the viewer" is ticked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from napari.utils.notifications import show_warning

from napari_n2v._qt.worker import notify_error, start_worker
from napari_n2v.run_models.files_run import FilesRun

if TYPE_CHECKING:  # pragma: no cover
    import napari

    from napari_n2v._qt.files_panel import FilesPanel
    from napari_n2v._qt.predict_form import PredictForm
    from napari_n2v.core.model.n2v_model import N2VModel


class FilesMode:
    """The Files… panel, its run and how their events show in ``form`` (progress, status)."""

    def __init__(self, viewer: napari.Viewer, form: PredictForm) -> None:
        self.viewer, self.form = viewer, form
        self.panel: FilesPanel = form.files_panel
        self.run = FilesRun(launcher=start_worker)
        self.opened: list[Any] = []  # layers opened from results (this run)
        self._file = ""
        self._finished = 0  # files that ended (denoised, skipped, failed or cancelled)
        r = self.run
        r.file_started.connect(self._on_started)
        r.tile.connect(self._on_tile)
        r.file_done.connect(self._on_done)
        r.failed.connect(self._on_failed)
        r.warned.connect(show_warning)
        r.ended.connect(self._on_ended)

    def start(self, model: N2VModel) -> bool:
        """Denoise the listed inputs with ``model`` (the tile settings of ``form`` apply)."""
        p = self.panel
        try:
            config = self.form.config(model)
        except Exception as err:  # an N2VError from the settings
            self._on_failed(str(err))
            return False
        p.clear_log()
        self.opened, self._finished = [], 0
        started = self.run.start(
            model,
            p.inputs(),
            p.out_dir(),
            config,
            cluster=p.cluster(),
            overwrite=p.overwrite_check.isChecked(),
        )
        if started:
            where = f" on {p.cluster()}" if p.cluster() else ""
            self.form.show_status(f"Predicting {self.run.total} file(s){where}…")
        return started

    def cancel(self) -> None:
        """Stop at the next tile: the file being written is removed; the rest are not started."""
        if self.run.running:
            self.form.show_status("Cancelling…")
            self.run.cancel()

    def _on_started(self, ev: Any) -> None:
        self._file = f"file {ev.index + 1} / {ev.total}"
        self.form.show_status(f"{self._file}: {ev.job.src.name}")

    def _on_tile(self, ev: Any) -> None:
        bar = self.form.progress
        bar.setRange(0, max(1, ev.total))
        bar.setValue(ev.done)
        bar.setFormat(f"{self._file} · %v / %m tiles")

    def _on_done(self, ev: Any) -> None:
        self.panel.log_file(ev)
        self._finished += 1
        if ev.status == "ok" and self.panel.open_check.isChecked():
            self._open(ev.job.out)

    def _on_ended(self, text: str) -> None:
        """The bar ends where the run ended: files finished of all (a skipped file counts)."""
        bar, total = self.form.progress, max(1, self.run.total)
        bar.setRange(0, total)
        bar.setValue(min(self._finished, total))
        bar.setFormat("%v / %m files")
        self.form.show_status(f"Done: {text}.")

    def _open(self, path: Any) -> None:
        """Show a written result as a new layer (zarr lazily), with its axes and pixel size."""
        from napari_n2v.core.io.image_io import read_image

        image = read_image(path, lazy=True)
        scale = [float((image.scale or {}).get(a, 1.0)) for a in image.axes if a != "C"]
        rgb_like = "C" in image.axes
        kw: dict[str, Any] = {"name": path.name, "metadata": {"n2v_file": str(path)}}
        if not rgb_like:
            kw.update(scale=scale, axis_labels=tuple(image.axes.lower()))
        self.opened.append(self.viewer.add_image(image.data, **kw))

    def _on_failed(self, message: str) -> None:
        self.form.show_status(message, problem=True)
        notify_error(message)
