"""Data, noise, PSNR/SSIM, peak RSS, timers and JSON lines: the helpers every suite shares.

Only numpy at import (Pillow and scikit-image when used) and no napari_n2v, so that the peer's venv
imports this file too (``runners/peer.py``).

Noise protocol (the N2V paper's): noisy = clean + N(0, 25²) on the 0..255 scale, float, neither
clipped nor rounded; fixed seeds: Train400 image i gets seed i, BSD68 image i seed 1000 + i, Set12
image i seed 2000 + i.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
SIGMA = 25.0
SEED_OFFSET = {"Train400": 0, "BSD68": 1000, "Set12": 2000}


def data_dir() -> Path:
    """``$N2V_DATA``, else the first ``shared/data`` (BSD68/, Set12/, ...) in a folder above the
    repository (further up for a git worktree)."""
    env = os.environ.get("N2V_DATA")
    tried = [Path(env)] if env else [p / "shared" / "data" for p in REPO_ROOT.parents]
    for d in tried:
        if d.is_dir():
            return d
    raise SystemExit(f"benchmark data not found at {tried[0]}: set N2V_DATA to its folder")


def image_paths(folder: str, limit: int | None = None) -> list[Path]:
    paths = sorted((data_dir() / folder).glob("*.png"))
    if not paths:
        raise SystemExit(f"no PNG images in {data_dir() / folder}")
    return paths[:limit] if limit else paths


def load_png(path: Path | str) -> np.ndarray:
    """8-bit grayscale PNG -> float32 array (Y, X) on the 0..255 scale."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32)


def add_noise(clean: np.ndarray, seed: int, sigma: float = SIGMA) -> np.ndarray:
    """``clean`` + N(0, sigma²) as float32, neither clipped nor rounded."""
    rng = np.random.default_rng(seed)
    return (clean.astype(np.float64) + rng.normal(0.0, sigma, clean.shape)).astype(np.float32)


def noisy_set(
    folder: str, limit: int | None = None, names: list[str] | None = None
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(file name, clean, noisy) per image of ``folder``, noise seeded by the protocol above.

    ``names`` picks images by number (``["02", "5"]`` -> 02.png, 05.png); the seed index is the
    image's place in the sorted folder for BSD68/Train400 and its number for Set12.
    """
    wanted = None if names is None else {f"{n.zfill(2)}.png" for n in names}
    out = []
    for i, p in enumerate(image_paths(folder, limit)):
        if wanted is None or p.name in wanted:
            clean = load_png(p)
            idx = int(p.stem) if folder == "Set12" else i
            out.append((p.name, clean, add_noise(clean, SEED_OFFSET.get(folder, 0) + idx)))
    return out


def bsd68_protocol(
    n_train: int | None = None, n_test: int | None = None
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """The N2V paper's task: (the noisy Train400 stack, the clean BSD68 images, the noisy BSD68
    images as one S×321×481 stack), portrait images transposed so that a tool denoises the test set
    in one call (PSNR and SSIM do not mind)."""
    train = np.stack([n for _, _, n in noisy_set("Train400", n_train)])
    pairs = [(c, n) for _, c, n in noisy_set("BSD68", n_test)]
    pairs = [(c.T, n.T) if c.shape[0] > c.shape[1] else (c, n) for c, n in pairs]
    return train, [c for c, _ in pairs], np.stack([n for _, n in pairs])


def psnr(clean: np.ndarray, est: np.ndarray, data_range: float = 255.0) -> float:
    """20·log10(data_range) − 10·log10(MSE) in dB, ``est`` not clipped: the 8-bit protocol.

    ``napari_n2v.psnr`` takes the clean image's own range as the peak instead; the suites use it for
    the package's nuclei samples (as the demo reports them) and this one for the 8-bit data sets.
    """
    mse = float(np.mean((clean.astype(np.float64) - est.astype(np.float64)) ** 2))
    return float(20 * np.log10(data_range) - 10 * np.log10(mse))


def ssim(clean: np.ndarray, est: np.ndarray, data_range: float = 255.0) -> float:
    from skimage.metrics import structural_similarity

    a, b = clean.astype(np.float64), est.astype(np.float64)
    return float(structural_similarity(a, b, data_range=data_range))


def peak_rss_mb() -> float:
    """Peak RSS in MiB of this process or of a waited-for child, whichever is larger."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0  # Linux ru_maxrss is in KiB


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Timer:
    """``with Timer() as t: ...`` then ``t.s``: the block's wall-clock seconds."""

    def __enter__(self) -> Timer:
        self.s, self.t0 = 0.0, time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.s = time.perf_counter() - self.t0


def argv(*items: Any) -> list[str]:
    """A command line from pieces: a string is split at its spaces (``"--axes YX --batch 16"``),
    anything else (a ``Path``, a number) is one argument."""
    out: list[str] = []
    for it in items:
        out += it.split() if isinstance(it, str) else [str(it)]
    return out


def log(*args: Any) -> None:
    """Progress for the reader, on stderr (stdout carries the JSON line)."""
    print(*args, file=sys.stderr, flush=True)


def jsonable(o: Any) -> Any:
    """``json.dumps(default=...)``: numpy scalars and arrays as numbers and lists, the rest (paths)
    as text."""
    return o.tolist() if isinstance(o, (np.generic, np.ndarray)) else str(o)


def print_json_line(result: dict[str, Any]) -> None:
    print(json.dumps(result, sort_keys=True, default=jsonable), flush=True)


def last_json_line(text: str) -> dict[str, Any]:
    """The last line of ``text`` that parses as a JSON object (a child's stdout may carry logs)."""
    for line in reversed(text.strip().splitlines()):
        if line.lstrip().startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                return dict(json.loads(line))
    raise ValueError("no JSON line in output:\n" + text[-2000:])


def synthetic_3d(
    shape: tuple[int, int, int] = (32, 128, 128), n_points: int = 600, seed: int = 0
) -> np.ndarray:
    """A clean (Z, Y, X) float32 volume of blurred points on the 0..255 scale: ``n_points`` random
    points of random brightness, Gaussian-blurred (σ 1.5 px in Z, 2.5 px in Y/X, through the FFT so
    that numpy suffices), scaled to a background of 20 and a brightest spot of 220."""
    rng = np.random.default_rng(seed)
    vol = np.zeros(shape, np.float64)
    idx = tuple(rng.integers(0, n, n_points) for n in shape)
    np.add.at(vol, idx, rng.uniform(0.3, 1.0, n_points))
    freqs = np.meshgrid(*[np.fft.fftfreq(n) for n in shape], indexing="ij")
    sig = (1.5, 2.5, 2.5)
    kernel = np.exp(-2 * np.pi**2 * sum((s * f) ** 2 for s, f in zip(sig, freqs, strict=True)))
    vol = np.real(np.fft.ifftn(np.fft.fftn(vol) * kernel))
    vol = (vol - vol.min()) / (vol.max() - vol.min())
    return (20.0 + 200.0 * vol).astype(np.float32)
