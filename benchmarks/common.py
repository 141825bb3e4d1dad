"""Shared helpers for the benchmarks: data, noise, metrics, timing, JSON output.

Plain numpy + Pillow (+ scikit-image for SSIM) so that it imports both in the project's venv and in the
peer's venv (``peer_runner.py`` uses it too). No napari_n2v import here.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
SIGMA = 25.0


def data_dir() -> Path:
    """``$N2V_DATA`` if set, else ``<repo>/../shared/data``."""
    env = os.environ.get("N2V_DATA")
    d = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    if not d.is_dir():
        raise SystemExit(
            f"benchmark data not found at {d}: set N2V_DATA to the folder with BSD68/, Set12/."
        )
    return d


def image_paths(folder: str, limit: int | None = None) -> list[Path]:
    paths = sorted((data_dir() / folder).glob("*.png"))
    if not paths:
        raise SystemExit(f"no PNG images in {data_dir() / folder}")
    return paths[:limit] if limit else paths


def load_png(path: Path | str) -> np.ndarray:
    """8-bit grayscale PNG -> float32 (Y, X) on the 0..255 scale."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32)


def load_folder(folder: str, limit: int | None = None) -> list[np.ndarray]:
    return [load_png(p) for p in image_paths(folder, limit)]


def add_noise(clean: np.ndarray, seed: int, sigma: float = SIGMA) -> np.ndarray:
    """clean + N(0, sigma²), in float32, neither clipped nor rounded (the N2V paper's protocol)."""
    rng = np.random.default_rng(seed)
    return (clean.astype(np.float64) + rng.normal(0.0, sigma, clean.shape)).astype(np.float32)


def psnr(clean: np.ndarray, est: np.ndarray, data_range: float = 255.0) -> float:
    """20·log10(255) − 10·log10(MSE), no clipping of ``est``."""
    mse = float(np.mean((clean.astype(np.float64) - est.astype(np.float64)) ** 2))
    return float(20 * np.log10(data_range) - 10 * np.log10(mse))


def ssim(clean: np.ndarray, est: np.ndarray, data_range: float = 255.0) -> float:
    from skimage.metrics import structural_similarity

    return float(
        structural_similarity(
            clean.astype(np.float64), est.astype(np.float64), data_range=data_range
        )
    )


def peak_rss_mb() -> float:
    """Peak resident set size of this process (and of waited-for children), MiB (Linux: ru_maxrss in KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch

        tv = torch.__version__
        threads = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        tv, threads = None, None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": tv,
        "torch_threads": threads,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def emit(result: dict[str, Any], save_as: str | None = None) -> None:
    """Print one JSON line on stdout; also write it to ``benchmarks/results/<save_as>.json``."""
    line = json.dumps(result, sort_keys=True, default=_jsonable)
    if save_as:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / f"{save_as}.json").write_text(
            json.dumps(result, sort_keys=True, indent=1, default=_jsonable) + "\n"
        )
    print(line, flush=True)


def _jsonable(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def last_json_line(text: str) -> dict[str, Any]:
    """The last line of ``text`` that parses as a JSON object (subprocess output may carry logs)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON line in output:\n" + text[-2000:])


def log(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def synthetic_3d(
    shape: tuple[int, int, int] = (32, 128, 128), n_points: int = 600, seed: int = 0
) -> np.ndarray:
    """A clean 3D test volume of blurred points on the 0..255 scale (float32): ``n_points`` random
    points of random brightness, Gaussian-blurred (σ = 1.5 px in Z, 2.5 px in Y/X, via the FFT so that
    plain numpy suffices), scaled to a background of 20 and a brightest spot of 220. Add noise with
    :func:`add_noise` (σ = 25 by default): the issue's "32×128×128 stack of blurred points, σ = 25"."""
    rng = np.random.default_rng(seed)
    vol = np.zeros(shape, np.float64)
    idx = tuple(rng.integers(0, n, n_points) for n in shape)
    np.add.at(vol, idx, rng.uniform(0.3, 1.0, n_points))
    sig = (1.5, 2.5, 2.5)
    freqs = np.meshgrid(*[np.fft.fftfreq(n) for n in shape], indexing="ij")
    kernel = np.exp(-2 * np.pi**2 * sum((s * f) ** 2 for s, f in zip(sig, freqs, strict=True)))
    vol = np.real(np.fft.ifftn(np.fft.fftn(vol) * kernel))
    vol = (vol - vol.min()) / (vol.max() - vol.min())
    return (20.0 + 200.0 * vol).astype(np.float32)
