"""The human-facing parts of a zoo package: the cover image, the README, the citations."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_n2v.core.model.n2v_model import N2VModel

CITATIONS = {
    "n2v": (
        "Krull, A., Buchholz, T.-O. and Jug, F. Noise2Void - Learning Denoising from Single Noisy "
        "Images. CVPR 2019.",
        "10.1109/CVPR.2019.00223",
    ),
    "n2v2": (
        "Höck, E., Buchholz, T.-O., Brachmann, A., Jug, F. and Freytag, A. N2V2 - Fixing Noise2Void "
        "Checkerboard Artifacts with Modified Sampling Strategies and a Tweaked Network "
        "Architecture. ECCV 2022 Workshops.",
        "10.1007/978-3-031-25069-9_33",
    ),
    "structn2v": (
        "Broaddus, C., Krull, A., Weigert, M., Schmidt, U. and Myers, G. Removing Structured Noise "
        "with Self-Supervised Blind-Spot Networks. ISBI 2020.",
        "10.1109/ISBI45749.2020.9098336",
    ),
}


def citation_keys(model: N2VModel) -> list[str]:
    keys = ["n2v"]
    if model.config.n2v2:
        keys.append("n2v2")
    if model.config.struct_axis:
        keys.append("structn2v")
    return keys


def _to_uint8(img: np.ndarray, lo: float, hi: float) -> np.ndarray:
    scaled = (img.astype(np.float32) - lo) / max(hi - lo, 1e-12)
    return (np.clip(scaled, 0, 1) * 255).astype(np.uint8)


def write_cover(noisy: np.ndarray, denoised: np.ndarray, path: Path) -> None:
    """``noisy | denoised`` side by side (a 2:1 PNG), both on the noisy image's 1-99.8% range.

    Blocks are (C, [Z,] Y, X): the middle Z plane; RGB when C == 3, else the first channel."""
    import imageio.v3 as iio

    def plane(b: np.ndarray) -> np.ndarray:
        if b.ndim == 4:
            b = b[:, b.shape[1] // 2]
        return np.moveaxis(b, 0, -1) if b.shape[0] == 3 else b[0]

    a, b = plane(noisy), plane(denoised)
    lo, hi = np.percentile(a, [1, 99.8])
    gap = np.full((a.shape[0], max(2, a.shape[1] // 64), *a.shape[2:]), 255, np.uint8)
    iio.imwrite(path, np.concatenate([_to_uint8(a, lo, hi), gap, _to_uint8(b, lo, hi)], axis=1))


def _blind_spot_words(spec: str) -> str:
    """The blind spot the model was trained with, in words for the README."""
    if spec == "pixel":
        return "pixel (the masked pixel alone: for pixel-wise independent noise)"
    if spec == "auto":
        return "not recorded (a model file from before blind spots were recorded: one pixel)"
    return f"{spec} (a box of pixels hidden around each masked pixel: for noise correlated over it)"


def readme(model: N2VModel, description: str, note: str = "") -> str:
    """The package's README.md: what the model is, how it was trained, how to cite it; ``note`` (if
    any) says where the test image comes from."""
    c = model.config
    kind = "N2V2" if c.n2v2 else "Noise2Void"
    rows = {
        "axes (training data)": c.axes,
        "patch size": c.resolved_patch_size,
        "masked pixels per patch": c.resolved_masked_pixels(),
        "masking strategy": c.resolved_strategy,
        "structN2V": f"along {c.struct_axis}, span {c.struct_span}" if c.struct_axis else "no",
        "blind spot": _blind_spot_words(c.blind_spot),
        "steps trained": model.steps_trained,
        "batch size": c.batch_size or "device default",
        "learning rate": c.learning_rate,
        "augmentation": "flips and 90° rotations" if c.augment else "none",
        "U-Net": f"depth {c.depth}, {c.n_filters} filters, kernel {c.kernel_size}, "
        f"batch norm {'on' if c.batch_norm else 'off'}",
        "normalisation mean": [round(float(v), 6) for v in model.mean],
        "normalisation std": [round(float(v), 6) for v in model.std],
        "blend with the input": f"napari-n2v keeps {model.blend:.0%} of the noisy input in its "
        "output (measured in training); the package's network output is without it",
    }
    table = "\n".join(f"| {k} | {v} |" for k, v in rows.items())
    cites = "\n".join(f"- {CITATIONS[k][0]} doi:{CITATIONS[k][1]}" for k in citation_keys(model))
    test_data = f"\n{note}\n" if note else ""
    return f"""# {model.name}

{description}

A {"3D" if model.is_3d else "2D"} {kind} denoising model ({model.describe()}), trained and
exported with [napari-n2v](https://pypi.org/project/napari-n2v/). Noise2Void is self-supervised:
it was trained on the noisy data itself and removes noise that is independent beyond its blind
spot (see the table); it does not sharpen blur. Use it on data like its training data (same microscope, same noise).

## Use

- **napari-n2v**: `napari_n2v.load_model("this.zip")`, or the Predict widget's Load….
- **bioimageio.core / deepImageJ / QuPath / ilastik**: the package holds `pytorch_state_dict`
  weights (architecture: `n2v_unet.py`, torch only) and `torchscript` weights. Input and output
  are in the image's own intensity units: the normalisation is the package's pre-/postprocessing.
- Tile with an overlap of at least {model.halo[0]} pixels per side (the output's halo).

## Training

| setting | value |
|---|---|
{table}

## Validation

Noise2Void needs no clean images, so there is no ground-truth score: the checkpoint kept is the one
with the lowest blind-spot loss on held-out patches of the training data (the history is in
`napari_n2v_model.json`). The package's test output is the network's own prediction of its test
input (without napari-n2v's blend with the input); bioimageio.spec validated the package before it was written. Judge the result on your data
by eye (the cover shows noisy | denoised) and, if you have one, against a clean reference.
{test_data}
## Cite

{cites}
"""
