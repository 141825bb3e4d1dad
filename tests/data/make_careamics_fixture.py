"""Make the CAREamics-written BioImage Model Zoo packages the import tests read (not run by tests).

Run it once in the peer environment (see shared/PEER.md: torch 2.13 CPU, ``careamics==0.3.5``,
``bioimageio.spec==0.5.14.3``), from the repository root::

    .peer-venv/bin/python tests/data/make_careamics_fixture.py

It trains three tiny models on a 64x64 synthetic image (20 steps each: a few seconds) and exports
each with ``CAREamist.export_to_bmz``, so the packages hold CAREamics's own rdf.yaml, weights.pth,
careamics.yaml and test tensors (``outputs.npy`` is CAREamics's prediction of ``inputs.npy``):

- ``careamics_n2v_2d.zip``: N2V, axes YX, depth 2, 16 initial filters, batch norm.
- ``careamics_n2v2_2d.zip``: the same with N2V2 (max-blur pool, no top skip).
- ``careamics_n2v_2ch.zip``: N2V on a 2-channel image (axes CYX), independent channels (grouped
  convolutions), depth 2, 8 initial filters per channel.

All three together stay well under 2 MB.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def synthetic(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Smooth blobs (0..200) plus Gaussian noise (sigma 20), float32."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[-2], : shape[-1]].astype(np.float32)
    clean = np.zeros(shape[-2:], np.float32)
    for _ in range(10):
        cy, cx = rng.uniform(0, shape[-2]), rng.uniform(0, shape[-1])
        r = rng.uniform(3, 12)
        clean += rng.uniform(80, 200) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2))
    clean = np.broadcast_to(clean, shape).copy()
    return (clean + rng.normal(0, 20, shape)).astype(np.float32)


def export(name: str, img: np.ndarray, axes: str, **kwargs: object) -> None:
    import torch
    from careamics import CAREamist
    from careamics.config import create_advanced_n2v_config

    torch.manual_seed(0)
    n_channels = img.shape[0] if "C" in axes else None
    cfg = create_advanced_n2v_config(
        experiment_name=name,
        data_type="array",
        axes=axes,
        patch_size=[32, 32],
        batch_size=8,
        num_epochs=1,
        num_steps=20,
        n_channels=n_channels,
        n_val_patches=2,
        num_workers=0,
        seed=1,
        **kwargs,  # type: ignore[arg-type]
    )
    with tempfile.TemporaryDirectory() as work:
        careamist = CAREamist(cfg, work_dir=work)
        careamist.train(train_data=[img] * 8)
        out = HERE / f"{name}.zip"
        out.unlink(missing_ok=True)
        careamist.export_to_bmz(
            path_to_archive=out,
            friendly_model_name=name.replace("_", " "),
            input_array=img,
            authors=[{"name": "napari-n2v tests"}],
            general_description="A tiny CAREamics model for napari-n2v's import tests.",
            data_description="64x64 synthetic blobs with Gaussian noise.",
            channel_names=[f"ch{i}" for i in range(n_channels)] if n_channels else None,
        )
        shutil.rmtree(Path(work), ignore_errors=True)
    print(f"{out.name}: {out.stat().st_size / 1e3:.0f} kB")


def main() -> None:
    img = synthetic((64, 64), seed=0)
    small = {"depth": 2, "num_channels_init": 16}
    export("careamics_n2v_2d", img, "YX", model_params=small)
    export("careamics_n2v2_2d", img, "YX", use_n2v2=True, model_params=small)
    two = synthetic((2, 64, 64), seed=1)
    two[1] = 0.5 * two[1] + 30
    export(
        "careamics_n2v_2ch",
        two,
        "CYX",
        independent_channels=True,
        model_params={"depth": 2, "num_channels_init": 8},
    )


if __name__ == "__main__":
    main()
