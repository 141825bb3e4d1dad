"""Speed against the peer (CAREamics), same U-Net (depth 2, 32 filters, kernel 3), patch, batch and machine.

Runs ours (``ours_runner.py`` in this venv) and the peer (``peer_runner.py`` in the peer venv) as fresh
processes, ALTERNATING them within one invocation (ours first on even repeats, peer first on odd ones) so
both see the same machine load. Measures:

* training patches/s (steady state, after ``--warmup`` steps) — 2D 64×64 and 3D 16×64×64;
* prediction MPix/s (best of two ``predict`` calls, each a full call of the tool's API) — 2D on a
  1024×1024 image, 3D on a 32×256×256 volume;
* peak RSS of the process that trained and predicted;
* command start to denoised output (process spawn, imports, load, train N steps, predict, save .npy).

Prints one JSON line with all runs and the ours/peer ratios (median over repeats), saves it to
``benchmarks/results/speed.json`` and draws ``docs/images/bench_speed.png``.

    .venv/bin/python benchmarks/speed.py                 # full (≈ 10 min on 2 CPU cores)
    .venv/bin/python benchmarks/speed.py --quick         # smoke run
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    BENCH_DIR,
    REPO_ROOT,
    add_noise,
    emit,
    image_paths,
    last_json_line,
    load_png,
    log,
    machine,
)


def peer_python() -> str:
    import os

    p = os.environ.get("N2V_PEER_PY") or str(REPO_ROOT / ".peer-venv" / "bin" / "python")
    if not Path(p).exists():
        raise SystemExit(
            f"peer venv not found ({p}): run benchmarks/install_peer.sh first, or set N2V_PEER_PY."
        )
    return p


def run_tool(tool: str, args: list[str], timeout: float = 1200) -> dict:
    """Run one runner as a fresh process; returns its JSON plus ``wall_s`` (spawn to exit)."""
    exe = sys.executable if tool == "ours" else peer_python()
    script = BENCH_DIR / ("ours_runner.py" if tool == "ours" else "peer_runner.py")
    cmd = [exe, str(script), *args]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{tool} failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    res = last_json_line(p.stdout)
    res["wall_s"] = wall
    if res.get(
        "steady_excl_val_patches_per_s"
    ):  # compare like with like: the peer's timing excludes validation
        res["steady_incl_val_patches_per_s"] = res["steady_patches_per_s"]
        res["steady_patches_per_s"] = res["steady_excl_val_patches_per_s"]
    return res


def alternate(
    reps: int,
    args: list[str],
    label: str,
    peer_args: list[str] | None = None,
    ours_args: list[str] | None = None,
) -> dict:
    runs: dict[str, list[dict]] = {"ours": [], "peer": []}
    for r in range(reps):
        for tool in ("ours", "peer") if r % 2 == 0 else ("peer", "ours"):
            extra = (peer_args if tool == "peer" else ours_args) or []
            res = run_tool(tool, args + extra)
            log(
                f"[{label}] rep {r} {tool}: "
                + ", ".join(
                    f"{k}={res[k]:.3g}"
                    for k in ("steady_patches_per_s", "predict_mpix_per_s", "peak_rss_mb", "wall_s")
                    if isinstance(res.get(k), (int, float))
                )
            )
            runs[tool].append(res)
    return runs


def med(runs: list[dict], key: str) -> float | None:
    v = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(v) if v else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--reps", type=int, default=2, help="repeats of each ours/peer pair")
    ap.add_argument("--train-steps", type=int, default=60, help="steps in the throughput runs")
    ap.add_argument(
        "--train-steps-3d", type=int, default=12, help="steps in the 3D throughput runs"
    )
    ap.add_argument(
        "--e2e-steps", type=int, default=100, help="steps in the command-to-output runs"
    )
    ap.add_argument("--batch-2d", type=int, default=16)
    ap.add_argument("--batch-3d", type=int, default=4)
    ap.add_argument("--no-3d", action="store_true")
    ap.add_argument("--parts", default="2d,3d,e2e", help="comma-separated subset of 2d,3d,e2e")
    ap.add_argument("--quick", action="store_true", help="tiny smoke run (numbers meaningless)")
    ap.add_argument("--save", default="speed", help="results/<name>.json ('' to skip)")
    a = ap.parse_args()
    if a.quick:
        a.reps, a.train_steps, a.train_steps_3d, a.e2e_steps = 1, 8, 4, 8

    tmp = Path(tempfile.mkdtemp(prefix="n2v_speed_"))
    clean = load_png(image_paths("Set12")[7])  # 512×512
    noisy = add_noise(clean, seed=1)
    np.save(tmp / "img512.npy", noisy)
    np.save(tmp / "img1024.npy", add_noise(np.tile(clean, (2, 2)), seed=2))
    vol = _volume()
    np.save(tmp / "vol.npy", vol)

    common_2d = [
        "--axes",
        "YX",
        "--patch",
        "64",
        "64",
        "--batch",
        str(a.batch_2d),
        "--steps-per-epoch",
        "50",
    ]
    result: dict = {
        "benchmark": "speed",
        "machine": machine(),
        "settings": vars(a),
        "runs": {},
        "ratios": {},
    }
    t_all = time.perf_counter()
    parts = set(a.parts.split(","))
    if a.no_3d:
        parts.discard("3d")

    runs = (
        None
        if "2d" not in parts
        else alternate(
            a.reps,
            [
                "--data",
                str(tmp / "img512.npy"),
                *common_2d,
                "--steps",
                str(a.train_steps),
                "--predict",
                str(tmp / "img1024.npy"),
                "--predict-repeats",
                "2",
            ],
            "2d",
        )
    )
    if runs:
        result["runs"]["2d"] = runs
    if "3d" in parts:
        common_3d = [
            "--axes",
            "ZYX",
            "--patch",
            "16",
            "64",
            "64",
            "--batch",
            str(a.batch_3d),
            "--steps-per-epoch",
            "50",
        ]
        # --stack 2: two copies of the volume give the peer 16 batches per epoch without inflating its RSS
        runs3 = alternate(
            a.reps,
            [
                "--data",
                str(tmp / "vol.npy"),
                *common_3d,
                "--steps",
                str(a.train_steps_3d),
                "--warmup",
                "2",
                "--predict",
                str(tmp / "vol.npy"),
                "--predict-repeats",
                "2",
            ],
            "3d",
            peer_args=["--stack", "2"],
            # the peer's width: our 3D CPU default is 16 filters, which would not compare like with like
            ours_args=["--filters", "32"],
        )
        result["runs"]["3d"] = runs3
    e2e = (
        None
        if "e2e" not in parts
        else alternate(
            a.reps,
            [
                "--data",
                str(tmp / "img512.npy"),
                *common_2d,
                "--steps",
                str(a.e2e_steps),
                "--predict",
                str(tmp / "img512.npy"),
                "--out",
                str(tmp / "out.npy"),
            ],
            "e2e",
        )
    )
    if e2e:
        result["runs"]["e2e"] = e2e

    for dim in [d for d in ("2d", "3d") if d in result["runs"]]:
        o, p = result["runs"][dim]["ours"], result["runs"][dim]["peer"]
        for key in ("steady_patches_per_s", "predict_mpix_per_s", "peak_rss_mb"):
            result["ratios"][f"{dim}_{key}"] = {
                "ours": med(o, key),
                "peer": med(p, key),
                "ours_over_peer": ratio(med(o, key), med(p, key)),
            }
    if e2e:
        o, p = e2e["ours"], e2e["peer"]
        result["ratios"]["e2e_wall_s"] = {
            "ours": med(o, "wall_s"),
            "peer": med(p, "wall_s"),
            "peer_over_ours": ratio(med(p, "wall_s"), med(o, "wall_s")),
        }
    rat = result["ratios"]
    result["targets"] = {
        "train_2d_ge_2x": (rat.get("2d_steady_patches_per_s", {}).get("ours_over_peer") or 0) >= 2,
        "predict_2d_ge_5x": (rat.get("2d_predict_mpix_per_s", {}).get("ours_over_peer") or 0) >= 5,
        "e2e_ge_3x": (rat.get("e2e_wall_s", {}).get("peer_over_ours") or 0) >= 3,
    }
    result["elapsed_s"] = time.perf_counter() - t_all
    emit(result, a.save or None)
    if a.save and not a.quick:
        _plot(a.save)


def _volume() -> np.ndarray:
    """The package's clean nuclei volume (32×256×256) + Gaussian noise at 10% of its range, float32."""
    import tifffile

    clean = tifffile.imread(REPO_ROOT / "src" / "napari_n2v" / "data" / "nuclei3d.tif").astype(
        np.float32
    )
    sigma = 0.1 * float(clean.max() - clean.min())
    return add_noise(clean, seed=3, sigma=sigma)


def _plot(name: str) -> None:
    subprocess.run([peer_python(), str(BENCH_DIR / "plots.py"), name], check=False)


if __name__ == "__main__":
    main()
