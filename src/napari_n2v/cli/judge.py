"""Judging a result without a clean image, for the CLI: the quality check of ``predict --qc`` and the
comparison with the calibrated classical filters that ``train`` prints when it ends."""

from __future__ import annotations

import sys
from typing import Any

from napari_n2v.core.errors import N2VError


def verdict(model: Any, image: Any, axes: str) -> str:
    """One sentence: N2V against the best calibrated filter on (a crop of) ``image``."""
    from napari_n2v.core.baseline.versus import compare_with_baselines
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.noise.footprint import blind_footprint

    cmp = compare_with_baselines(
        model,
        image,
        axes,
        footprint=blind_footprint(model.config.blind_spot, model.config.n_spatial),
        config=PredictConfig(device="cpu"),
    )
    return cmp.sentence


def say_verdict(model: Any, image: Any, axes: str) -> None:
    """Print :func:`verdict`; a comparison that cannot run (too small an image...) says why in a line."""
    try:
        print(f"compared with classical filters: {verdict(model, image, axes)}", file=sys.stderr)
    except N2VError as err:
        print(f"no comparison with classical filters: {err}", file=sys.stderr)


def quality_check(model: Any, image: Any, result: Any, axes: str) -> str:
    """``predict --qc``: the residual check (a table with findings) and the baseline comparison."""
    from napari_n2v.core.baseline.versus import central_crop
    from napari_n2v.core.noise.qc import qc

    noisy = central_crop(image, axes, model.is_3d)
    denoised = central_crop(result, axes, model.is_3d)
    history = [h["val_loss"] for h in model.history if h.get("val_loss") is not None]
    report = qc(
        noisy, denoised, axes, val_history=history or None, blind_spot=model.config.blind_spot
    )
    return f"{report.table()}\n- {verdict(model, image, axes)}"
