"""The noise report and its presentation: plain sentences, plain-text tables, a PNG of the
autocorrelation map.

The PNG is drawn with NumPy and written with the standard library (zlib), so it needs no plotting
package: red cells are positive correlation, blue negative, white none; lag 0 is the framed centre
cell. A 3D map is shown as its three central planes side by side (YX, ZX, ZY).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True, eq=False)
class NoiseReport:
    """What :func:`~napari_n2v.core.noise.inspect_noise` found.

    Attributes
    ----------
    axes, spatial_axes : str
        The image's axes (upper case) and its spatial ones, ``"YX"`` or ``"ZYX"``.
    acf : dict of str to tuple of float
        Spatial axis letter -> the noise autocorrelation at lags 1..4 along that axis.
    acf_map : numpy.ndarray
        The autocorrelation on lags -4..4 per spatial axis, ``(9, 9)`` or ``(9, 9, 9)``, lag 0 at the
        centre (1.0).
    verdict : str
        ``"white"`` when every ``|acf_map|`` off the centre is below ``threshold``, else
        ``"correlated"``.
    reach : tuple of int
        Per spatial axis, the largest lag along it of an ``acf_map`` entry at or above ``threshold``
        (0 for white noise): how far the noise correlation reaches.
    gain, offset : tuple of float
        Per channel, the fit ``noise variance = gain * signal + offset`` (Poisson-Gaussian model);
        NaN where too few structure-free pixels were found.
    signal_dependent : tuple of bool
        Per channel, whether the fitted variance changes by more than half over the intensities.
    noise_std : tuple of float
        Per channel, the noise standard deviation (image units) averaged over the image.
    blind_spot : str
        The recommended blind-spot spec (:mod:`napari_n2v.core.noise.footprint`).
    threshold : float
        The threshold used: the one asked for, raised for small samples (4 standard errors).
    n_pixels : int
        Pixels that entered the autocorrelation.
    capped : bool
        Whether the blind spot needed more than the largest recommended box.
    texture : float
        Share of the residual variance that is broad structure rather than noise (fine texture the
        guards let through); above 0.05 the correlation may be overstated.
    sentences : tuple of str
        Plain-language findings, each with what to do.
    """

    axes: str
    spatial_axes: str
    acf: dict[str, tuple[float, ...]]
    acf_map: np.ndarray
    verdict: str
    reach: tuple[int, ...]
    gain: tuple[float, ...]
    offset: tuple[float, ...]
    signal_dependent: tuple[bool, ...]
    noise_std: tuple[float, ...]
    blind_spot: str
    threshold: float
    n_pixels: int
    capped: bool
    texture: float
    sentences: tuple[str, ...]


def axis_values(acf_map: np.ndarray, spatial: str) -> dict[str, tuple[float, ...]]:
    """Spatial axis letter -> ``acf_map`` (lag 0 at the centre) along that axis at lags 1..L."""
    lag = acf_map.shape[0] // 2
    out = {}
    for i, a in enumerate(spatial):
        centre_line = (slice(None),) + (lag,) * (acf_map.ndim - 1)
        line = np.moveaxis(acf_map, i, 0)[centre_line]
        out[a] = tuple(float((line[lag + k] + line[lag - k]) / 2) for k in range(1, lag + 1))
    return out


def _along(reach: tuple[int, ...], spatial: str) -> str:
    parts = [
        f"{r} pixel{'s' if r > 1 else ''} along {a}"
        for a, r in zip(spatial, reach, strict=True)
        if r
    ]
    return " and ".join(parts)


def noise_sentences(report: NoiseReport) -> list[str]:
    """Plain-language findings of :func:`~napari_n2v.core.noise.inspect_noise`, each with what to do."""
    out = []
    lag1 = ", ".join(f"{v[0]:.2f} along {a}" for a, v in report.acf.items())
    off = np.abs(report.acf_map)
    off[(off.shape[0] // 2,) * off.ndim] = 0.0
    biggest = float(off.max())
    if report.verdict == "white":
        out.append(
            f"Noise looks independent from pixel to pixel (|autocorrelation| at most "
            f"{biggest:.2f}, below {report.threshold:.2f}): the standard 1-pixel blind spot fits "
            "(--blind-spot pixel)."
        )
    else:
        out.append(
            f"Noise is correlated between neighbouring pixels (autocorrelation at lag 1: {lag1}; "
            f"it reaches {_along(report.reach, report.spatial_axes)}). A 1-pixel blind spot would "
            f"learn this noise instead of removing it: use --blind-spot {report.blind_spot}."
        )
        if biggest < 0.3:
            out.append(
                f"The correlation is weak (at most {biggest:.2f}); fine image texture can look like "
                "this: to check, analyse a crop of background alone."
            )
    if report.capped:
        out.append(
            "The correlation reaches further than the largest recommended blind spot, so it is "
            f"capped at {report.blind_spot}: some noise may remain; binning the image 2x2 first helps."
        )
    many = len(report.gain) > 1
    for c, (gain, offset, dep, std) in enumerate(
        zip(report.gain, report.offset, report.signal_dependent, report.noise_std, strict=True)
    ):
        who = f"Channel {c}: noise" if many else "Noise"
        if math.isnan(gain):
            out.append(f"{who} level: too few flat pixels to tell how it depends on intensity.")
        elif dep:
            out.append(
                f"{who} grows with intensity (variance = {gain:.3g} x signal + {offset:.3g}: "
                f"shot noise, Poisson-like; average std {std:.3g}); Noise2Void handles this as is."
            )
        else:
            out.append(
                f"{who} does not depend on intensity (std {std:.3g}: Gaussian-like read noise)."
            )
    if report.texture > 0.05:
        out.append(
            f"Part of the residual ({report.texture:.0%}) looks like fine image texture rather than "
            "noise, so the correlation may be overstated: to check, analyse a crop of background."
        )
    if report.n_pixels < 16384:
        out.append(
            f"Only {report.n_pixels} pixels were free of structure, so these figures are rough: "
            "analyse a larger image, or several."
        )
    return out


def _acf_rows(acf: dict[str, tuple[float, ...]]) -> list[str]:
    n = max(len(v) for v in acf.values())
    rows = ["axis " + "".join(f"{'lag ' + str(k):>8}" for k in range(1, n + 1))]
    rows += [f"{a:<5}" + "".join(f"{v:8.3f}" for v in vals) for a, vals in acf.items()]
    return rows


def noise_table(report: NoiseReport) -> str:
    """The report as plain text: autocorrelation per axis and lag, noise model per channel, findings."""
    reach = ", ".join(f"{a} {r}" for a, r in zip(report.spatial_axes, report.reach, strict=True))
    rows = [f"Noise analysis (axes {report.axes}, {report.n_pixels} pixels used)"]
    rows += _acf_rows(report.acf)
    rows.append(
        f"verdict: {report.verdict} (threshold {report.threshold:.2f}); reach: {reach}; "
        f"blind spot: {report.blind_spot}"
    )
    rows.append(f"{'channel':<9}{'noise std':>12}{'gain':>12}{'offset':>12}  signal-dependent")
    for c, vals in enumerate(
        zip(report.noise_std, report.gain, report.offset, report.signal_dependent, strict=True)
    ):
        std, gain, offset, dep = vals
        rows.append(f"{c:<9}{std:12.4g}{gain:12.4g}{offset:12.4g}  {'yes' if dep else 'no'}")
    return "\n".join(rows + [""] + [f"- {s}" for s in report.sentences])


def qc_table(
    *,
    ok: bool,
    acf: dict[str, tuple[float, ...]],
    std_ratio: Sequence[float],
    structure: float,
    val_plateau: bool | None,
    findings: Sequence[str],
) -> str:
    """A quality check (:class:`~napari_n2v.core.noise.qc.QCReport`'s fields) as plain text."""
    rows = [f"Quality check ({'ok' if ok else 'problems found'})"]
    rows += ["residual autocorrelation:", *_acf_rows(acf)]
    rows.append(f"residual std / noise std: {', '.join(f'{v:.2f}' for v in std_ratio)}")
    value = "not judged" if math.isnan(structure) else f"{structure:.3f}"
    rows.append(f"structure in the residual (correlation with the result's detail): {value}")
    if val_plateau is not None:
        rows.append(f"validation loss levelled off: {'yes' if val_plateau else 'no'}")
    return "\n".join(rows + [""] + [f"- {s}" for s in findings])


def acf_image(acf_map: np.ndarray, cell: int = 24) -> np.ndarray:
    """Picture of an autocorrelation map, ``(H, W, 3)`` uint8.

    Parameters
    ----------
    acf_map : numpy.ndarray
        ``(n, n)`` or ``(n, n, n)`` values in [-1, 1], lag 0 at the centre.
    cell : int
        Pixels per lag.
    """
    if acf_map.ndim == 3:
        c = acf_map.shape[0] // 2
        gap = np.full((acf_map.shape[1], 1), np.nan)
        planes = [acf_map[c], acf_map[:, c, :], acf_map[:, :, c]]
        acf_map = np.concatenate([planes[0], gap, planes[1], gap, planes[2]], axis=1)
    v = np.clip(np.nan_to_num(acf_map, nan=0.0), -1, 1)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb = np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1)
    rgb[np.isnan(acf_map)] = 1.0
    img = np.kron(rgb, np.ones((cell, cell, 1)))
    img[::cell, :] = img[:, ::cell] = 0.75  # grid
    img = (np.round(img * 255)).astype(np.uint8)
    c0 = (acf_map.shape[0] // 2) * cell
    img[c0 : c0 + cell, c0, :] = img[c0 : c0 + cell, c0 + cell - 1, :] = 0  # frame lag 0
    img[c0, c0 : c0 + cell, :] = img[c0 + cell - 1, c0 : c0 + cell, :] = 0
    return img


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write ``(H, W, 3)`` uint8 ``rgb`` as a PNG file with the standard library only."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    out = Path(path)
    out.write_bytes(png)
    return out


def save_acf_png(acf_map: np.ndarray, path: str | Path, cell: int = 24) -> Path:
    """Write the picture of ``acf_map`` (``report.acf_map``) to ``path`` as PNG; returns the path."""
    return write_png(path, acf_image(acf_map, cell))
