"""The Predict widget's Files… panel: input files or folders, output folder, cluster, options, a log."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qtpy.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

#: What the file dialog offers (zarr arrays are folders: Add folder…).
IMAGE_FILTER = "Images (*.tif *.tiff);;All files (*)"
#: Per-file outcome -> the mark at the start of its log line.
MARKS = {"ok": "✓", "skipped": "–", "failed": "✗", "cancelled": "■"}


class FilesPanel(QWidget):
    """Controls of Files… mode; children are attributes so that tests and scripts can set them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input_list = QListWidget()
        self.input_list.setToolTip(
            "TIFF files, zarr / OME-Zarr arrays, or folders of them (not recursive). Each file's "
            "axes come from the file, else from the model."
        )
        self.input_list.setMaximumHeight(90)
        self.add_files_button = QPushButton("Add files…")
        self.add_folder_button = QPushButton("Add folder…")
        self.clear_button = QPushButton("Clear")
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("folder for the results (<name>_n2v.tif)")
        self.out_button = QPushButton("…")
        self.out_button.setToolTip("Choose the output folder.")
        self.cluster_edit = QLineEdit()
        self.cluster_edit.setPlaceholderText("empty: in this process")
        self.cluster_edit.setToolTip(
            "A dask scheduler address (e.g. tcp://10.0.0.5:8786, a dask-jobqueue/SLURM cluster) or "
            "local:N for N worker processes on this computer. Empty: predict here, file by file."
        )
        self.overwrite_check = QCheckBox("Overwrite existing results")
        self.overwrite_check.setToolTip("Off: a file whose result exists is skipped.")
        self.open_check = QCheckBox("Open results in the viewer")
        self.open_check.setToolTip("Off: results are only written to the output folder.")
        self.log = QListWidget()
        self.log.setToolTip(
            "One line per file: ✓ denoised, – skipped, ✗ failed (why), ■ cancelled."
        )
        self.log.setMaximumHeight(110)
        self.log.setWordWrap(True)  # a failure's reason is read in full
        self._layout()
        self.add_files_button.clicked.connect(self._ask_files)
        self.add_folder_button.clicked.connect(self._ask_folder)
        self.clear_button.clicked.connect(self.input_list.clear)
        self.out_button.clicked.connect(self._ask_out)

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        for b in (self.add_files_button, self.add_folder_button, self.clear_button):
            buttons.addWidget(b)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(self.out_button)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Output folder", out_row)
        form.addRow("Dask cluster", self.cluster_edit)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.input_list)
        lay.addLayout(buttons)
        lay.addLayout(form)
        lay.addWidget(self.overwrite_check)
        lay.addWidget(self.open_check)
        lay.addWidget(self.log)

    # --- values ------------------------------------------------------------------------------------
    def add_inputs(self, paths: Sequence[str | Path]) -> None:
        """Add files or folders to the inputs (each once)."""
        have = set(self.inputs())
        for p in map(str, paths):
            if p and p not in have:
                self.input_list.addItem(p)
                have.add(p)

    def inputs(self) -> list[str]:
        rows = (self.input_list.item(i) for i in range(self.input_list.count()))
        return [it.text() for it in rows if it is not None]

    def out_dir(self) -> str:
        return self.out_edit.text().strip()

    def cluster(self) -> str:
        return self.cluster_edit.text().strip()

    # --- the log -----------------------------------------------------------------------------------
    def clear_log(self) -> None:
        self.log.clear()

    def log_file(self, ev: Any) -> None:
        """One line for a finished file (a :class:`napari_n2v.batch.jobs.FileEvent`)."""
        why = f": {ev.message}" if ev.status == "failed" else ""
        took = f" ({ev.seconds:.1f} s)" if ev.status == "ok" else ""
        text = f"{MARKS.get(ev.status, '?')} {ev.job.src.name} {ev.status}{took}{why}"
        item = QListWidgetItem(text)
        item.setToolTip(text)
        self.log.addItem(item)
        self.log.scrollToBottom()

    # --- dialogs -----------------------------------------------------------------------------------
    def _ask_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Images to denoise", "", IMAGE_FILTER)
        self.add_inputs(paths)

    def _ask_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A folder of images (or a zarr array)")
        self.add_inputs([path] if path else [])

    def _ask_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the results")
        if path:
            self.out_edit.setText(path)
