"""The suites: name -> (module, what it measures and what it needs).

Adding a suite is adding one module here with ``run(args) -> dict`` (and, optionally,
``add_args(parser)`` for its own options; ``args.quick`` asks for a smoke run) and one entry below.
The report (``benchmarks/report/``) shows a suite it has no section for as a list of its runs.
"""

from __future__ import annotations

SUITES: dict[str, tuple[str, str]] = {
    "speed": (
        "benchmarks.suites.speed",
        "training/prediction rate, peak RSS, command to output; vs the peer",
    ),
    "quality": (
        "benchmarks.suites.quality",
        "PSNR/SSIM at equal training time: BSD68, Set12; vs the peer, BM3D",
    ),
    "time_to_quality": (
        "benchmarks.suites.time_to_quality",
        "when ours reaches the peer's PSNR: 3D stack, Set12",
    ),
    "memory": (
        "benchmarks.suites.memory",
        "peak RSS: a stack in memory, a folder on disk, streamed prediction",
    ),
    "scale_out": (
        "benchmarks.suites.scale_out",
        "a zarr on a dask LocalCluster vs one process; DDP ranks (gloo)",
    ),
    "gpu": (
        "benchmarks.suites.gpu",
        "CUDA: rates against the card's limits, nuclei and BSD68 PSNR (needs a GPU)",
    ),
    "sweep": (
        "benchmarks.suites.sweep",
        "defaults from data at equal time, 2D (Set12) or 3D (--dims 3); ours only",
    ),
    "noise": (
        "benchmarks.suites.noise",
        "correlated noise: the blind spot auto picks vs one pixel at equal time (Set12); ours only",
    ),
    "classical": (
        "benchmarks.suites.classical",
        "N2V vs calibrated Gaussian/median (no clean image), an oracle blur, BM3D; score ranking",
    ),
    "widget": (
        "benchmarks.suites.widget",
        "training in the napari widget vs headless (needs a display: xvfb-run)",
    ),
}
