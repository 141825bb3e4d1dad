"""Scale-out benchmarks: a 3D zarr predicted in one process vs on ``--cluster local:N``; DDP training with 2
ranks vs 1 on the CPU (gloo); peak RSS of training on a multi-GB folder of TIFFs read from disk.

Every measurement runs the real CLI in a fresh process. Prints one JSON line and writes
``benchmarks/results/scale_out.json``. Big data goes to ``--tmp`` (default /tmp/n2v-scale-out), removed at the
end unless ``--keep``.

    .venv/bin/python benchmarks/scale_out.py                      # all three parts, defaults below
    .venv/bin/python benchmarks/scale_out.py --zarr-gb 2 --folder-gb 1,4 --parts predict,ddp,memory
    .venv/bin/python benchmarks/scale_out.py --quick              # smoke: tiny sizes, numbers meaningless
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DEVICE = ["cpu"]  # --device: where prediction runs (cpu, or cuda on a GPU machine)
RSS_SNIPPET = (
    "import resource, sys\n"
    "from napari_n2v.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def log(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


def run_cli(args: list[str], env: dict | None = None) -> tuple[float, str, float]:
    """Run ``napari-n2v ARGS`` in a fresh process; returns (seconds, stderr+stdout, peak RSS in MB)."""
    t0 = time.perf_counter()
    res = subprocess.run(
        [PY, "-c", RSS_SNIPPET, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    dt = time.perf_counter() - t0
    text = res.stdout + res.stderr
    if res.returncode != 0:
        raise RuntimeError(f"napari-n2v {' '.join(args)} failed:\n{text[-3000:]}")
    kb = re.findall(r"PEAK_RSS_KB (\d+)", text)
    return dt, text, int(kb[-1]) / 1024 if kb else math.nan


def make_model(path: Path, axes: str) -> Path:
    """The default architecture (depth 2, 32 filters), untrained: throughput does not depend on weights."""
    import torch

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model import build_unet
    from napari_n2v.core.n2v_model import N2VModel

    torch.manual_seed(0)
    cfg = TrainConfig(axes=axes, device="cpu")
    model = N2VModel(
        cfg, build_unet(cfg, 1).eval(), np.array([300.0], "f4"), np.array([60.0], "f4")
    )
    model.save(path, overwrite=True)
    return path


def make_zarr(path: Path, gb: float) -> tuple[int, ...]:
    """A uint16 ZYX zarr of about ``gb`` GB as float32 (what the network sees), written slab by slab."""
    from napari_n2v.core.image_io import tag_zarr
    from napari_n2v.core.lazy_io import create_zarr_like

    side = 1024 if gb >= 0.5 else 256
    z = max(8, round(gb * 2**30 / 4 / side / side))
    shape = (z, side, side)
    arr = create_zarr_like(path, shape, chunks=(16, 256, 256), dtype=np.uint16, overwrite=True)
    rng = np.random.default_rng(0)
    for z0 in range(0, z, 16):
        n = min(16, z - z0)
        arr[z0 : z0 + n] = rng.poisson(300, (n, side, side)).astype(np.uint16)
    tag_zarr(arr, "ZYX", None, None)
    return shape


def part_predict(tmp: Path, gb: float, workers: int, block: str, model_axes: str = "ZYX") -> dict:
    """``model_axes`` ZYX: a 3D model; YX: a 2D model over the same ZYX volume, plane by plane."""
    model = make_model(tmp / f"m{len(model_axes)}d.n2v.safetensors", model_axes)
    src = tmp / "vol.zarr"
    shape = make_zarr(src, gb)
    vox = math.prod(shape)
    out: dict = {
        "model": "3D" if "Z" in model_axes else "2D (the volume plane by plane)",
        "shape": list(shape),
        "gb_float32": round(vox * 4 / 2**30, 3),
        "gb_uint16": round(vox * 2 / 2**30, 3),
    }
    dt, _, rss = run_cli(
        [
            "predict",
            str(model),
            str(src),
            "--out",
            str(tmp / "p1.zarr"),
            "--device",
            DEVICE[0],
            "--overwrite",
        ]
    )
    out["single_process"] = {
        "seconds": round(dt, 1),
        "mvox_per_s": round(vox / dt / 1e6, 3),
        "peak_rss_mb": round(rss),
    }
    log("single process", out["single_process"])
    dt, text, rss = run_cli(
        [
            "predict",
            str(model),
            str(src),
            "--out",
            str(tmp / "p2.zarr"),
            "--device",
            DEVICE[0],
            "--overwrite",
            "--cluster",
            f"local:{workers}",
            "--block",
            block,
        ],
    )
    import zarr

    a, b = zarr.open_array(str(tmp / "p1.zarr")), zarr.open_array(str(tmp / "p2.zarr"))
    diff = max(float(np.abs(a[z : z + 8] - b[z : z + 8]).max()) for z in range(0, shape[0], 8))
    out[f"cluster_local_{workers}"] = {
        "seconds": round(dt, 1),
        "mvox_per_s": round(vox / dt / 1e6, 3),
        "client_peak_rss_mb": round(rss),
        "worker_peak_rss_mb": _worker_rss(text),
        "block": block,
        "max_abs_diff_vs_single": diff,
    }
    log("cluster", out[f"cluster_local_{workers}"])
    return out


def _worker_rss(text: str) -> list[int]:
    """The CLI's closing line on a cluster: ``workers' peak RSS: 612, 640 MB``."""
    m = re.findall(r"workers' peak RSS: ([\d, ]+) MB", text)
    return [int(x) for x in m[-1].split(",")] if m else []


def part_ddp(tmp: Path, steps: int) -> dict:
    from napari_n2v.core.image_io import write_image

    folder = tmp / "ddp"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(4):
        write_image(folder / f"f{k}.tif", rng.poisson(300, (8, 256, 256)).astype(np.uint16), "TYX")
    res = {}
    for k in (1, 2):
        args = [
            PY,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            str(k),
            "-m",
            "napari_n2v",
            "train",
            str(folder),
            "--out",
            str(tmp / f"ddp{k}.n2v.safetensors"),
            "--overwrite",
            "--steps",
            str(steps),
            "--batch",
            "16",
            "--patch",
            "64",
            "--seed",
            "0",
            "--device",
            "cpu",
        ]
        t0 = time.perf_counter()
        p = subprocess.run(
            args,
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": str(max(1, 2 // k))},
        )
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(p.stderr[-3000:])
        rates = re.findall(r"patch/s=(\d+)", p.stdout + p.stderr)
        per_rank = float(rates[-1]) if rates else math.nan
        res[f"ranks_{k}"] = {
            "patches_per_s_per_rank": per_rank,
            "patches_per_s_total": per_rank * k,
            "seconds": round(dt, 1),
            "omp_threads_per_rank": max(1, 2 // k),
        }
        log("ddp", k, res[f"ranks_{k}"])
    return res


def make_folder(path: Path, gb: float) -> int:
    """uint16 TYX TIFFs of 256 MB each (128 frames of 1024x1024), uncompressed: memory-mapped in training."""
    import tifffile

    path.mkdir(parents=True, exist_ok=True)
    n = max(1, round(gb * 4))
    rng = np.random.default_rng(0)
    frame = rng.poisson(300, (1024, 1024)).astype(np.uint16)
    for k in range(n):
        f = path / f"night_{k:03d}.tif"
        if f.exists():
            continue
        with tifffile.TiffWriter(f) as tw:  # frame by frame: the writer never holds a file in RAM
            data = (np.roll(frame, k * 7 + j, axis=1) for j in range(128))
            tw.write(data, shape=(128, 1024, 1024), dtype=np.uint16, metadata={"axes": "TYX"})
    return n


def part_memory(tmp: Path, sizes: list[float], steps: int) -> dict:
    res = {}
    base = subprocess.run(
        [
            PY,
            "-c",
            "import resource, torch, napari_n2v.core.training as t; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
        ],
        capture_output=True,
        text=True,
    )
    res["import_only_rss_mb"] = round(int(base.stdout.strip()) / 1024)
    for gb in sizes:
        folder = tmp / "folder"
        n = make_folder(folder, gb)
        files = sorted(folder.glob("*.tif"))[:n]
        total = sum(f.stat().st_size for f in files) / 2**30
        args = [
            "train",
            *map(str, files),
            "--out",
            str(tmp / "fm.n2v.safetensors"),
            "--overwrite",
            "--steps",
            str(steps),
            "--batch",
            "16",
            "--patch",
            "64",
            "--device",
            "cpu",
            "--seed",
            "0",
        ]
        dt, text, rss = run_cli(args)
        rates = re.findall(r"patch/s=(\d+)", text)
        res[f"{total:.1f}_gb"] = {
            "files": len(files),
            "peak_rss_mb": round(rss),
            "seconds": round(dt, 1),
            "patches_per_s": float(rates[-1]) if rates else None,
        }
        log("memory", res[f"{total:.1f}_gb"])
    return res


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--parts", default="predict,ddp,memory")
    p.add_argument("--zarr-gb", type=float, default=2.0, help="3D zarr size as float32")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--device", default="cpu", help="prediction device (workers share it)")
    p.add_argument("--block", default="64,512,512")
    p.add_argument(
        "--model-axes", default="ZYX", help="ZYX: a 3D model; YX: a 2D model over the ZYX volume"
    )
    p.add_argument("--ddp-steps", type=int, default=60)
    p.add_argument(
        "--folder-gb", default="1,4", help="folder sizes to train on (GB of uint16 TIFFs)"
    )
    p.add_argument("--memory-steps", type=int, default=100)
    p.add_argument("--tmp", default="/tmp/n2v-scale-out")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--quick", action="store_true")
    p.add_argument(
        "--note", default="", help="free text saved with the results (e.g. the machine's load)"
    )
    a = p.parse_args()
    if a.quick:
        a.zarr_gb, a.block, a.ddp_steps, a.folder_gb, a.memory_steps = (
            0.02,
            "16,128,128",
            6,
            "0.25",
            5,
        )
    DEVICE[0] = a.device
    tmp = Path(a.tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    parts = a.parts.split(",")
    result: dict = {
        "benchmark": "scale_out",
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_avg_at_start": os.getloadavg(),
        "note": a.note,
    }
    try:
        if "predict" in parts:
            key = "predict_3d_zarr" if a.model_axes == "ZYX" else "predict_3d_zarr_2d_model"
            result[key] = part_predict(tmp, a.zarr_gb, a.workers, a.block, a.model_axes)
        if "ddp" in parts:
            result["ddp_cpu_gloo"] = part_ddp(tmp, a.ddp_steps)
        if "memory" in parts:
            sizes = [float(s) for s in a.folder_gb.split(",")]
            result["train_folder_memory"] = part_memory(tmp, sizes, a.memory_steps)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    result["load_avg_at_end"] = os.getloadavg()
    result["self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    line = json.dumps(result)
    print(line)
    if not a.quick:
        (ROOT / "benchmarks" / "results" / "scale_out.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
