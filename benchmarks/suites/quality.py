"""Denoising quality against the peer (CAREamics) at the SAME wall-clock training budget, and BM3D.

* ``a``: BSD68, σ=25: train on the 400 noisy Train400 images (180×180), denoise the 68 noisy BSD68
  images (the N2V paper's protocol).
* ``b``: self-training: train on one noisy Set12 image and denoise that image (``--set12``).

Both tools: U-Net depth 2 / 32 filters, patch 64×64, batch 16, 50 steps per epoch, their own
defaults otherwise; each a fresh process, the order alternating. The budget counts from the call
that starts training to the trained model (setup included). ``--steps-b N`` runs (b) at equal steps
instead, free of the machine's load. BM3D (PyPI ``bm3d`` in the peer venv, told σ=25: an oracle
advantage) runs within ``--bm3d-budget`` seconds per part; images it did not reach are left out of
its mean.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import basics as hb
from benchmarks.harness.child import spawn
from benchmarks.harness.peer import other, peer_python, run_tool

PUBLISHED = {"n2v_paper_bsd68": 27.71, "juglab_n2v_notebook_bsd68": 27.81}
BM3D_SCRIPT = """
import sys, time, json, numpy as np, bm3d
budget, sigma, paths = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
t0, done = time.perf_counter(), []
for i in range(0, len(paths), 2):
    if time.perf_counter() - t0 >= budget:
        break
    t = time.perf_counter()
    x = np.load(paths[i]).astype(np.float64)
    np.save(paths[i + 1], bm3d.bm3d(x, sigma_psd=sigma).astype(np.float32))
    done.append(time.perf_counter() - t)
print(json.dumps({"done": len(done), "times": done}))
"""


def add_args(p: argparse.ArgumentParser) -> None:
    add = p.add_argument
    add("--parts", default="a,b", help="a (BSD68), b (Set12 self-training) or both")
    add("--budget-a", type=float, default=120.0, help="training seconds per tool, (a)")
    add("--budget-b", type=float, default=60.0, help="seconds per tool and image, (b)")
    add("--steps-b", type=int, help="(b) at this many steps instead of a budget")
    add("--n-test", type=int, help="(a) the first N BSD68 images (default all 68)")
    add("--set12", nargs="+", default=["02", "05", "08"], help="(b) Set12 images")
    add("--bm3d-budget", type=float, default=0.0, help="seconds of BM3D per part (0: none)")
    add("--seed", type=int, default=1, help="training seed (the noise is fixed)")
    add("--first", choices=("ours", "peer"), default="ours", help="who runs first")


def run(a: argparse.Namespace) -> dict[str, Any]:
    peer_python()  # stop before any work when the peer's venv is missing
    if a.quick:
        a.budget_a, a.budget_b, a.n_test, a.set12, a.steps_b = 5, 5, 3, ["01"], None
    tmp = Path(tempfile.mkdtemp(prefix="n2v_quality_"))
    res: dict[str, Any] = {"published": PUBLISHED}
    if "a" in a.parts:
        res["bsd68"] = part_a(a, tmp)
    if "b" in a.parts:
        res["set12_self"] = part_b(a, tmp)
    return res


def denoise(tool: str, a: Any, data: Path, test: Path, axes: str, how: str) -> tuple[Any, Any]:
    """One runner: train on ``data`` (``how``: ``--budget-s T`` or ``--steps N``), denoise
    ``test``; (the output, the runner's JSON)."""
    out = test.with_name(f"{test.stem}_{tool}.npy")
    fixed = "--patch 64 64 --batch 16 --steps-per-epoch 50"
    args = hb.argv("--data", data, "--axes", axes, fixed, how, "--seed", a.seed, "--predict", test,
                "--predict-axes", axes, "--out", out)  # fmt: skip
    r = run_tool(tool, args)
    return np.load(out), r


def metrics(clean: list[np.ndarray], est: Any) -> dict[str, Any]:
    ps = [hb.psnr(c, e) for c, e in zip(clean, est, strict=True)]
    ss = [hb.ssim(c, e) for c, e in zip(clean, est, strict=True)]
    return {"psnr": float(np.mean(ps)), "ssim": float(np.mean(ss)), "psnr_per_image": ps,
            "ssim_per_image": ss}  # fmt: skip


def bm3d(noisy: Any, tmp: Path, budget: float) -> list[np.ndarray]:
    """BM3D outputs of the first images it reached within ``budget`` seconds (peer venv)."""
    if budget <= 0:
        return []
    paths = [str(tmp / f"bm3d_{k}{i}.npy") for i in range(len(noisy)) for k in "io"]
    for n, path in zip(noisy, paths[::2], strict=True):
        np.save(path, n)
    try:
        cmd = [peer_python(), "-c", BM3D_SCRIPT, str(budget), "25", *paths]
        _, out, _ = spawn(cmd, timeout=budget * 4 + 600)
    except RuntimeError as e:
        hb.log("BM3D failed:", e)
        return []
    return [np.load(p) for p in paths[1::2][: hb.last_json_line(out)["done"]]]


def part_a(a: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    train, clean, noisy = hb.bsd68_protocol(n_test=a.n_test)
    h, w = noisy.shape[1:]  # reflect-padded to a multiple of 4 for both tools, cropped back
    np.save(tmp / "train.npy", train)
    np.save(tmp / "test.npy", np.pad(noisy, ((0, 0), (0, -h % 4), (0, -w % 4)), mode="reflect"))
    res: dict[str, Any] = {"train_shape": list(train.shape), "test_images": len(clean),
                           "budget_s": a.budget_a, "input": metrics(clean, noisy)}  # fmt: skip
    for tool in (a.first, other(a.first)):
        how = f"--budget-s {a.budget_a}"
        den, r = denoise(tool, a, tmp / "train.npy", tmp / "test.npy", "SYX", how)
        res[tool] = {**metrics(clean, den[:, :h, :w]), "run": r}
        hb.log(f"[a] {tool}: {res[tool]['psnr']:.2f} dB after {r['steps']} steps")
    if den := bm3d(noisy, tmp, a.bm3d_budget):
        k = len(den)
        res["bm3d"] = {**metrics(clean[:k], den), "images": k}
        sub = {t: res[t]["psnr_per_image"][:k] for t in ("ours", "peer", "input")}
        res["same_subset"] = {t: float(np.mean(v)) for t, v in sub.items()}
    return res


def part_b(a: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    how = f"--steps {a.steps_b}" if a.steps_b else f"--budget-s {a.budget_b}"
    res: dict[str, Any] = {"budget_s": None if a.steps_b else a.budget_b, "steps": a.steps_b,
                           "images": [], "per_image": []}  # fmt: skip
    for j, (name, clean, noisy) in enumerate(hb.noisy_set("Set12", names=a.set12)):
        data = tmp / f"s_{name}.npy"
        np.save(data, noisy)
        row: dict[str, Any] = {"image": name, "shape": list(clean.shape)}
        row["input"] = metrics([clean], [noisy])
        first = a.first if j % 2 == 0 else other(a.first)
        for tool in (first, other(first)):
            den, r = denoise(tool, a, data, data, "YX", how)
            row[tool] = metrics([clean], [den])
            row[tool].update(steps=r["steps"], train_s=r["train_s"], lr_end=r.get("final_lr"))
            hb.log(f"[b] {name} {tool}: {row[tool]['psnr']:.2f} dB, {r['steps']} steps")
        if den := bm3d([noisy], tmp, a.bm3d_budget):
            row["bm3d"] = metrics([clean], den)
        res["images"].append(name)
        res["per_image"].append(row)
    for key in ("input", "ours", "peer", "bm3d"):
        rows = [r[key] for r in res["per_image"] if key in r]
        if rows:
            means = {m: float(np.mean([r[m] for r in rows])) for m in ("psnr", "ssim")}
            res[key] = {**means, "images": len(rows)}
    return res
