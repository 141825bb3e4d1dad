"""The suites: name -> what it measures and needs. Suite ``NAME`` is the module ``suites/NAME.py``
with ``run(args) -> dict`` (and optionally ``add_args(parser)``; ``args.quick``: a smoke run)."""

SUITES: dict[str, str] = {
    "speed": "training/prediction rate, peak RSS, command to output; vs the peer",
    "quality": "PSNR/SSIM at equal training time: BSD68, Set12; vs the peer, BM3D",
    "time_to_quality": "when ours reaches the peer's PSNR: 3D stack, Set12",
    "memory": "peak RSS: a stack in memory, a folder on disk, streamed prediction",
    "scale_out": "a zarr on a dask LocalCluster vs one process; DDP ranks (gloo)",
    "gpu": "CUDA: the engine's training/prediction rates, nuclei and BSD68 PSNR (needs a GPU)",
    "sweep": "defaults from data at equal time, 2D (Set12) or 3D (--dims 3); ours only",
    "noise": "correlated noise: auto's blind spot vs one pixel at equal time (Set12); ours only",
    "classical": "N2V vs self-calibrated Gaussian/median, an oracle blur, BM3D; score ranking",
}
