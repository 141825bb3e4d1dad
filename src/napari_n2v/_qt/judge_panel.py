"""After a Train run: the quality check of the model's result and the comparison with the calibrated
classical filters (computed in a worker, the widget stays usable), and "Compare", which adds the best
filter's result as a layer ``<layer>_<method>`` beside the N2V result and shows the scores.

It renders a :class:`napari_n2v.run_models.judge_run.JudgeRun`; the viewer is touched only in its
handlers, on the main thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from napari_n2v._qt.layer_kinds import preview_name
from napari_n2v._qt.predict_layers import SUFFIX, add_beside, placed_like, result_name
from napari_n2v._qt.worker import notify_error, start_worker
from napari_n2v.run_models.judge_run import BaselineOutput, Judgement, JudgeRun
from napari_n2v.run_models.predict_job import contrast_limits

if TYPE_CHECKING:  # pragma: no cover
    import napari

    from napari_n2v.core.model.n2v_model import N2VModel


class JudgePanel(QWidget):
    """The quality-check line, the comparison sentence, the scores and the Compare button.

    Children are attributes (``qc_label``, ``compare_label``, ``scores_label``, ``compare_button``);
    :attr:`run` holds the state; :attr:`added` is the last baseline layer added.
    """

    def __init__(self, viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.run = JudgeRun(launcher=start_worker)
        self.added: Any = None
        self._image: Any = None  # the judged layer's data (Compare filters it)
        self.qc_label = _wrapping("")
        self.compare_label = _wrapping("")
        self.scores_label = _wrapping("")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip(
            "Add the best classical filter's result (its strength calibrated on this image) as a "
            "layer beside the N2V result, and show both scores."
        )
        self.compare_button.setEnabled(False)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.compare_label, 1)
        row.addWidget(self.compare_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.qc_label)
        lay.addLayout(row)
        lay.addWidget(self.scores_label)
        self.compare_button.clicked.connect(self.compare)
        self.run.judged.connect(self._on_judged)
        self.run.baseline.connect(self._on_baseline)
        self.run.failed.connect(self._on_failed)
        self.run.state_changed.connect(lambda *_: self._refresh())
        self.clear()

    @property
    def result(self) -> Judgement | None:
        """The last judgement, or None."""
        return self.run.result

    def clear(self) -> None:
        """A new run begins: nothing to say yet (a judgement still running is dropped)."""
        if self.run.running:
            self.run.cancel()
        self.run.forget()
        self._image = None
        for label in (self.qc_label, self.compare_label, self.scores_label):
            label.setText("")
        self._refresh()

    def judge(self, model: N2VModel, image: Any, axes: str, source: str) -> bool:
        """Check ``model``'s result on ``image`` (the training layer's data) and compare it with the
        classical filters, in a worker."""
        if self.run.running:
            return False
        self._image = image
        self.qc_label.setText("Checking the result and comparing with classical filters…")
        return self.run.start(model, image, axes, source_name=source)

    def compare(self) -> bool:
        """Filter the judged image with the best classical filter (in a worker); the layer follows."""
        if self._image is None or not self.run.compare(self._image):
            return False
        self.scores_label.setText("Filtering the image…")
        return True

    # --- the run's signals ---------------------------------------------------------------------------
    def _refresh(self) -> None:
        ready = self.result is not None and self.result.comparison is not None
        self.compare_button.setEnabled(ready and not self.run.running)
        for label in (self.qc_label, self.compare_label, self.scores_label):
            label.setVisible(bool(label.text()))
        self.compare_button.setVisible(self.result is not None or self.run.running)

    def _on_judged(self, j: Judgement) -> None:
        self.qc_label.setText(j.qc_line())
        self.compare_label.setText(j.sentence())
        self._refresh()

    def _on_baseline(self, out: BaselineOutput) -> None:
        if out.source not in self.viewer.layers:
            self.scores_label.setText(f"{out.source!r} is gone: no layer added.")
            return
        src = self.viewer.layers[out.source]
        existing = [ly.name for ly in self.viewer.layers]
        name = result_name(src.name, existing, f"_{out.method}")
        meta = {"n2v_baseline_of": src.name, "n2v_method": out.label}
        data = out.data
        if src.rgb and np.issubdtype(src.dtype, np.integer):  # napari reads RGB integers as 0..max
            info = np.iinfo(src.dtype)
            data = np.clip(np.round(data), info.min, info.max).astype(src.dtype)
        kwargs = placed_like(src, name, contrast_limits(data), meta)
        self.added = add_beside(self.viewer, data, kwargs, _n2v_result(self.viewer, src.name))
        j = self.result
        scores = j.scores() if j is not None else ""
        self.scores_label.setText(f"Added {name!r}. {scores}")
        self._refresh()

    def _on_failed(self, message: str) -> None:
        self.scores_label.setText(message)
        self._refresh()
        notify_error(message)

    def shutdown(self) -> None:
        """End a running job (safe to call twice)."""
        self.run.shutdown()


def _n2v_result(viewer: Any, source: str) -> Any:
    """The newest N2V result of ``source`` (``<source>_n2v…`` from Predict), else its live preview."""
    results = [ly for ly in viewer.layers if (ly.metadata or {}).get("n2v_source") == source]
    if results:
        return results[-1]
    for name in (f"{source}{SUFFIX}", preview_name(source)):
        if name in viewer.layers:
            return viewer.layers[name]
    return None


def _wrapping(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label
