"""GPU speed of our engine against the card's limits: training patches/s and prediction MPix/s on CUDA
(bf16 autocast, channels_last: the engine's defaults there), the bare network's rate (eager and
torch.compile'd) as the upper bound, where a training step's time goes, the FLOP rate achieved against
the card's measured bf16 matrix rate, and PSNR on the bundled nuclei (the CUDA path trains good models).

Self-contained (synthetic images + the package's nuclei volume; no benchmark data needed). Every section
runs under a wall-clock deadline (sections that would not fit are skipped and say so) and the JSON is
rewritten after each one, so a cut-off run still leaves its numbers.

    python benchmarks/gpu.py                          # on a machine with an NVIDIA GPU, < 8 min
    python benchmarks/gpu.py --out /tmp/gpu.json      # also write the JSON there as it grows
    .venv/bin/python benchmarks/gpu.py --smoke        # a tiny CPU run that checks the script works

Prints one JSON line; saves ``results/gpu.json`` (``results/gpu_smoke.json`` with --smoke).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, machine

T0 = time.perf_counter()


def _sync(dev) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize()


def synthetic(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Smooth random structure (sum of blurred blobs) + Gaussian noise, float32."""
    rng = np.random.default_rng(seed)
    x = rng.random(shape).astype(np.float32)
    for ax in range(len(shape)):  # cheap separable blur: cumulative-sum box filter, twice
        for _ in range(2):
            c = np.cumsum(x, axis=ax)
            k = max(1, min(8, shape[ax] // 4))
            x = (np.roll(c, -k, axis=ax) - np.roll(c, k, axis=ax)) / (2 * k)
    x = (x - x.min()) / (np.ptp(x) + 1e-6) * 200
    return (x + rng.normal(0, 25, shape)).astype(np.float32)


def psnr(x: np.ndarray, clean: np.ndarray) -> float:
    rng = float(clean.max() - clean.min())
    return float(10 * np.log10(rng**2 / np.mean((x.astype(np.float64) - clean) ** 2)))


# --- limits ----------------------------------------------------------------------------------------
def matmul_tflops(dev, dtype_name: str, n: int, reps: int) -> float:
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(n, n, device=dev, dtype=dtype)
    b = torch.randn(n, n, device=dev, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(dev)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(dev)
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e12


def forward_flops(n_dim: int, patch: tuple[int, ...]) -> float:
    """Convolution/matmul FLOPs of one forward pass of the default U-Net on one patch (2 per MAC)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model import build_unet

    net = build_unet(TrainConfig(axes="ZYX" if n_dim == 3 else "YX"), 1).eval()
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        net(torch.zeros(1, 1, *patch))
    return float(fc.get_total_flops())


# --- bare network ----------------------------------------------------------------------------------
def net_rate(
    n_dim: int, batch: int, patch: tuple[int, ...], dev, steps: int, bf16: bool, compile_: bool
) -> dict:
    """Bare U-Net forward + backward + Adam step in the engine's layout: the upper bound for training."""
    import torch

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model import build_unet

    net = build_unet(TrainConfig(axes="ZYX" if n_dim == 3 else "YX"), 1).to(dev)
    fmt = torch.channels_last if n_dim == 2 else torch.contiguous_format
    net = net.to(memory_format=fmt).train()
    fwd = torch.compile(net) if compile_ else net
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    x = torch.randn(batch, 1, *patch, device=dev).contiguous(memory_format=fmt)

    def one() -> None:
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            y = fwd(x)
        loss = (y.float() - x).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t = time.perf_counter()
    one()
    _sync(dev)
    first = time.perf_counter() - t
    for _ in range(3):
        one()
    _sync(dev)
    t = time.perf_counter()
    for _ in range(steps):
        one()
    _sync(dev)
    return {
        "batch": batch,
        "patches_per_s": batch * steps / (time.perf_counter() - t),
        "first_step_s": first,
    }


# --- the engine's step, taken apart ----------------------------------------------------------------
def step_parts(img: np.ndarray, batch: int, device: str, steps: int) -> dict:
    """ms per call of: patch cutting, masking, the engine's step (loss read every step, i.e. a host
    sync), the same step with the loss left on the device; plus the bare network at the same batch."""
    import torch

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.data import DevicePatchSampler, PatchSampler
    from napari_n2v.core.device import resolve_device
    from napari_n2v.core.model import build_unet
    from napari_n2v.core.step import StepRunner
    from napari_n2v.core.train_setup import prepare_data

    cfg = TrainConfig(axes="YX", batch_size=batch, device=device)
    dev = resolve_device(device)
    d = prepare_data(img, cfg)
    runner = StepRunner(
        build_unet(cfg, d.channels),
        d,
        strategy=cfg.resolved_strategy,
        radius=cfg.neighbor_radius,
        struct_span=cfg.struct_span,
        learning_rate=cfg.learning_rate,
        precision=cfg.precision,
        device=dev,
        batch_size=batch,
        steps_per_epoch=cfg.steps_per_epoch,
    )
    cls = DevicePatchSampler if dev.type == "cuda" else None
    rng = np.random.default_rng(0)
    sampler = (
        cls(d.data, d.train_region, d.patch, True, rng, dev)
        if cls
        else PatchSampler(d.data, d.train_region, d.patch, True, rng)
    )
    gen = torch.Generator(device=dev).manual_seed(0)

    def timed(fn, n: int) -> float:
        for _ in range(3):
            fn()
        _sync(dev)
        t = time.perf_counter()
        for _ in range(n):
            fn()
        _sync(dev)
        return (time.perf_counter() - t) / n * 1e3

    x = sampler.sample(batch)
    x = x if isinstance(x, torch.Tensor) else torch.from_numpy(x).to(dev)
    out = {
        "batch": batch,
        "sample_ms": timed(lambda: sampler.sample(batch), steps),
        "mask_ms": timed(lambda: runner.masker(x, gen), steps),
        "step_read_each_ms": timed(lambda: float(runner.step(sampler, gen)), steps),
        "step_queued_ms": timed(lambda: runner.step(sampler, gen), steps),
    }
    net = runner.net

    def bare() -> None:
        with runner.amp():
            y = net(x.contiguous(memory_format=runner.fmt))
        loss = (y.float() - x).square().mean()
        runner.opt.zero_grad(set_to_none=True)
        loss.backward()
        runner.opt.step()

    out["bare_net_ms"] = timed(bare, steps)
    return out


# --- the engine end to end -------------------------------------------------------------------------
def train_rate(
    image: np.ndarray,
    axes: str,
    steps: int,
    batch: int | None,
    device: str,
    warmup: int,
    budget_s: float | None = None,
    clean: np.ndarray | None = None,
    lag: int | None = None,
    **extra,
) -> dict:
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.prediction import predict
    from napari_n2v.core.training import Trainer, TrainEvent

    cfg = TrainConfig(
        axes=axes,
        steps=steps,
        batch_size=batch,
        device=device,
        seed=1,
        steps_per_epoch=extra.pop("steps_per_epoch", max(steps // 4, 1)),
        **extra,
    )
    tr = Trainer(image, cfg)
    if lag is not None:
        tr.lag = lag
    stamps, gen = [], tr.run()
    t0 = time.perf_counter()
    try:
        while True:
            ev = next(gen)
            if isinstance(ev, TrainEvent):
                stamps.append(time.perf_counter())
                if budget_s is not None and stamps[-1] - t0 > budget_s:
                    tr.stop()
    except StopIteration as fin:
        model = fin.value
    b = tr.batch_size
    w = min(warmup, len(stamps) - 2)
    res = {
        "axes": axes,
        "batch": b,
        "steps": len(stamps),
        "patch": list(cfg.resolved_patch_size),
        "lag": tr.lag,
        "steady_patches_per_s": (len(stamps) - 1 - w) * b / (stamps[-1] - stamps[w]),
        "first_step_s": stamps[0] - t0,
        "train_s": time.perf_counter() - t0,
    }
    if clean is not None:
        t = time.perf_counter()
        den = predict(model, image, axes)
        res.update(
            predict_s=time.perf_counter() - t,
            psnr_noisy=psnr(image, clean),
            psnr_n2v=psnr(den, clean),
        )
    res["model"] = model
    return res


def predict_rate(model, image: np.ndarray, axes: str, repeats: int, **pc) -> dict:
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.prediction import predict

    cfg = PredictConfig(**pc)
    predict(model, image[tuple(slice(0, min(n, 256)) for n in image.shape)], axes, cfg)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        predict(model, image, axes, cfg)
        best = min(best, time.perf_counter() - t)
    return {
        "shape": list(image.shape),
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in pc.items()},
        "s": best,
        "mpix_per_s": image.size / 1e6 / best,
    }


# --- driver ----------------------------------------------------------------------------------------
class Run:
    """Runs sections under a deadline, records errors instead of dying, rewrites the JSON each time."""

    def __init__(self, res: dict, deadline_s: float, out: Path | None) -> None:
        self.res, self.deadline, self.out = res, deadline_s, out

    def left(self) -> float:
        return self.deadline - (time.perf_counter() - T0)

    def __call__(self, name: str, need_s: float, fn, *args, **kw):
        if self.left() < need_s:
            self.res.setdefault("skipped", []).append(f"{name} (needs ~{need_s:.0f} s)")
            self.save()
            return None
        t = time.perf_counter()
        print(f"[{time.perf_counter() - T0:6.1f} s] {name} ...", file=sys.stderr, flush=True)
        try:
            val = fn(*args, **kw)
        except Exception as e:  # record and go on: one failure must not cost the other numbers
            self.res.setdefault("errors", {})[name] = f"{type(e).__name__}: {e}"
            traceback.print_exc()
            val = None
        if isinstance(val, dict):
            self.res[name] = {k: v for k, v in val.items() if k != "model"}
            self.res[name]["section_s"] = time.perf_counter() - t
        elif val is not None:
            self.res[name] = val
        self.save()
        return val

    def save(self) -> None:
        self.res["elapsed_s"] = time.perf_counter() - T0
        if self.out is not None:
            self.out.write_text(json.dumps(self.res, default=str, indent=1))


def tuning(run: Run, s: bool, dev_name: str) -> None:
    """Engine rate against the loss-readout lag, and nuclei PSNR at equal time for two batch sizes."""
    from napari_n2v._sample_data import load_sample

    img2 = synthetic((256, 256) if s else (1024, 1024), seed=1)
    for lag in (0, 1, 2, 3):
        run(f"train_2d_lag{lag}", 15, train_rate, img2, "YX", 6 if s else 400, None, dev_name,
            2 if s else 20, lag=lag)  # fmt: skip
    run("bsd68_curve", 60 if s else 240, bsd68_curve, s, dev_name, 3 if s else 200,
        [1, 2] if s else [15, 30, 60, 100, 150, 200])  # fmt: skip
    n2, c2 = load_sample("2d", seed=0)
    n3, c3 = load_sample("3d", seed=0)
    if s:
        n3, c3 = n3[:8, :64, :64], c3[:8, :64, :64]
    for b in (128, 512):
        run(f"psnr_nuclei_2d_b{b}", 30, train_rate, n2, "YX", 100_000, 8 if s else b, dev_name, 2,
            budget_s=2 if s else 20, clean=c2, steps_per_epoch=5 if s else 25)  # fmt: skip
    for b in (32, 128):
        run(f"psnr_nuclei_3d_b{b}", 35, train_rate, n3, "ZYX", 100_000, 2 if s else b, dev_name, 1,
            budget_s=2 if s else 25, clean=c3, steps_per_epoch=2 if s else 25,
            patch_size=(8, 32, 32) if s else None)  # fmt: skip


def bsd68_curve(s: bool, dev_name: str, budget_s: float, marks: list[float]) -> dict:
    """The paper's BSD68 protocol on the GPU: train on the 400 noisy Train400 images (σ=25), denoise
    the 68 noisy BSD68 images with the best model so far at each mark (seconds of training): PSNR
    against wall-clock, for the extrapolation the CPU runs cannot give. Needs the benchmark data
    (``$N2V_DATA`` or ../shared/data)."""
    from common import add_noise, image_paths, load_png

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.prediction import predict
    from napari_n2v.core.training import Trainer, TrainEvent

    train = np.stack(
        [
            add_noise(load_png(q), seed=i)
            for i, q in enumerate(image_paths("Train400", 8 if s else None))
        ]
    )
    clean = [load_png(q) for q in image_paths("BSD68", 4 if s else None)]
    noisy = [add_noise(c, seed=1000 + i) for i, c in enumerate(clean)]
    # one S×321×481 stack (portrait images transposed; PSNR does not mind): one predict call per score
    clean = np.stack([c.T if c.shape[0] > c.shape[1] else c for c in clean])
    noisy = np.stack([n.T if n.shape[0] > n.shape[1] else n for n in noisy])

    def score(model) -> float:
        den = predict(model, noisy, "SYX")
        return float(np.mean([psnr255(d, c) for d, c in zip(den, clean, strict=True)]))

    cfg = TrainConfig(axes="SYX", steps=10_000_000, device=dev_name, seed=1)
    tr = Trainer(train, cfg)
    out: dict = {
        "input_psnr": float(np.mean([psnr255(n, c) for n, c in zip(noisy, clean, strict=True)]))
    }
    curve, todo, gen, steps = [], sorted(marks), tr.run(), 0
    t0 = time.perf_counter()
    train_s = 0.0  # wall-clock of training only (scoring pauses the clock)
    for ev in gen:
        if not isinstance(ev, TrainEvent):
            continue
        steps = ev.step
        now = train_s + (time.perf_counter() - t0)
        if todo and now >= todo[0] and tr.best_model is not None:
            todo.pop(0)
            ts = time.perf_counter()
            curve.append(
                {
                    "train_s": now,
                    "steps": steps,
                    "psnr": score(tr.best_model),
                    "psnr_current": score(tr.current_model),
                    "lr": ev.lr,
                }
            )
            print(f"  BSD68 {curve[-1]}", file=sys.stderr, flush=True)
            train_s, t0 = now, time.perf_counter()
            curve[-1]["score_s"] = t0 - ts
        if now >= budget_s:
            tr.stop()
    final = tr.best_model  # the model train() would return: the best validated one
    if final is not None:
        now = train_s + (time.perf_counter() - t0)
        curve.append({"train_s": now, "steps": steps, "psnr": score(final), "final": True})
    out.update(curve=curve, batch=tr.batch_size, steps=steps, patches=steps * tr.batch_size)
    return out


def psnr255(x: np.ndarray, clean: np.ndarray) -> float:
    return float(20 * np.log10(255) - 10 * np.log10(np.mean((x.astype(np.float64) - clean) ** 2)))


def compiled_child(a) -> None:
    """Child process: torch.compile'd bare network (killed by the parent if compiling takes too long)."""
    import torch

    dev = torch.device("cpu" if a.smoke else "cuda")
    n = 3 if a.smoke else 50
    res = {
        "b128": net_rate(2, 128 if not a.smoke else 8, (64, 64), dev, n, True, True),
        "b512": net_rate(2, 512 if not a.smoke else 8, (64, 64), dev, n, True, True),
    }
    print(json.dumps(res))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--smoke", action="store_true", help="tiny CPU run: checks the script, numbers meaningless"
    )
    ap.add_argument("--deadline", type=float, default=420, help="seconds for the whole run")
    ap.add_argument("--compile-timeout", type=float, default=150)
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here as it grows")
    ap.add_argument("--save", default=None)
    ap.add_argument(
        "--tuning",
        action="store_true",
        help="only the tuning runs: loss-readout lag 0-3, and batch 128 vs 512 at equal time",
    )
    ap.add_argument(
        "--bsd68",
        type=float,
        default=None,
        metavar="SECONDS",
        help="only the BSD68 PSNR-against-time curve, training for SECONDS",
    )
    ap.add_argument("--compiled-child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.compiled_child:
        compiled_child(a)
        return
    import torch

    from napari_n2v._sample_data import load_sample
    from napari_n2v.core.device import describe_device, resolve_device

    if a.smoke:
        device, dev_name = "cpu", "cpu"
    else:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA GPU here: run with --smoke for a CPU check of the script.")
        device, dev_name = "cuda", "cuda"
        torch.backends.cudnn.benchmark = True
    dev = resolve_device(device)
    s = a.smoke
    res: dict = {
        "benchmark": "gpu",
        "smoke": s,
        "machine": machine(),
        "device": describe_device(device),
        "torch": torch.__version__,
    }
    if dev.type == "cuda":
        res["gpu"] = torch.cuda.get_device_name(dev)
        res["cudnn"] = torch.backends.cudnn.version()
    run = Run(res, a.deadline, a.out)
    if a.bsd68:
        marks = [m for m in (15, 30, 60, 100, 150, 200, 300, 450, 600) if m < a.bsd68]
        run("bsd68_curve", 0, bsd68_curve, s, dev_name, a.bsd68, [*marks, a.bsd68])
        emit(res, a.save or ("gpu_bsd68_smoke" if s else "gpu_bsd68"))
        return
    if a.tuning:
        tuning(run, s, dev_name)
        emit(res, a.save or ("gpu_tuning_smoke" if s else "gpu_tuning"))
        return

    # limits: the card's matrix rates and the network's FLOPs per patch
    run("matmul_bf16_tflops", 5, matmul_tflops, dev, "bfloat16", 512 if s else 8192, 2 if s else 10)
    run("flops_fwd_per_patch_2d", 5, forward_flops, 2, (64, 64))
    run("flops_fwd_per_patch_3d", 5, forward_flops, 3, (16, 64, 64))

    # the bare network (upper bound), eager
    n_net = 3 if s else 50
    b2 = 8 if s else 128
    run("net_eager_2d_b128", 10, net_rate, 2, b2, (64, 64), dev, n_net, True, False)
    run("net_eager_2d_b512", 10, net_rate, 2, 4 * b2, (64, 64), dev, n_net, True, False)
    run("net_eager_2d_b128_fp32", 10, net_rate, 2, b2, (64, 64), dev, n_net, False, False)
    run("net_eager_3d_b32", 10, net_rate, 3, 2 if s else 32, (16, 64, 64), dev, n_net, True, False)

    # where a training step's time goes (2D, default batch)
    img2 = synthetic((256, 256) if s else (1024, 1024), seed=1)
    run("step_parts_2d_b128", 20, step_parts, img2, b2, dev_name, 5 if s else 50)
    run("step_parts_2d_b512", 20, step_parts, img2, 4 * b2, dev_name, 5 if s else 30)

    # the engine end to end (Trainer: events, validation, lagged loss readout)
    t2 = run(
        "train_2d", 30, train_rate, img2, "YX", 6 if s else 400, None, dev_name, 2 if s else 20
    )
    run(
        "train_2d_b512",
        30,
        train_rate,
        img2,
        "YX",
        6 if s else 150,
        4 * b2,
        dev_name,
        2 if s else 10,
    )

    # the CUDA path trains good models: nuclei PSNR after a short budget (CPU demo: 29.06 / 31.81 dB)
    n2, c2 = load_sample("2d", seed=0)
    run(
        "psnr_nuclei_2d",
        40,
        train_rate,
        n2,
        "YX",
        8 if s else 100_000,
        None,
        dev_name,
        2,
        budget_s=2 if s else 25,
        clean=c2,
        learning_rate=1e-3,
        steps_per_epoch=5 if s else 25,
    )
    n3, c3 = load_sample("3d", seed=0)
    if s:
        n3, c3 = n3[:8, :64, :64], c3[:8, :64, :64]
    t3 = run(
        "psnr_nuclei_3d",
        50,
        train_rate,
        n3,
        "ZYX",
        4 if s else 100_000,
        2 if s else None,
        dev_name,
        1 if s else 10,
        budget_s=2 if s else 35,
        clean=c3,
        learning_rate=1e-3,
        patch_size=(8, 32, 32) if s else None,
        steps_per_epoch=2 if s else 25,
    )

    # prediction
    reps = 1 if s else 2
    if t2 is not None:
        m2 = t2["model"]
        big = synthetic((512, 512) if s else (4096, 4096), seed=2)
        run("predict_2d_default", 20, predict_rate, m2, big, "YX", reps)
        run(
            "predict_2d_tile1024_b8", 20, predict_rate, m2, big, "YX", reps,
            tile_shape=(256, 256) if s else (1024, 1024), batch_size=8,
        )  # fmt: skip
        run(
            "predict_2d_tile2048_b4", 20, predict_rate, m2, big, "YX", reps,
            tile_shape=(256, 256) if s else (2048, 2048), batch_size=4,
        )  # fmt: skip
    if t3 is not None:
        m3 = t3["model"]
        vol = np.tile(n3, (1, 2, 2) if s else (2, 4, 4))  # 64×1024×1024 on the GPU
        run("predict_3d_default", 30, predict_rate, m3, vol, "ZYX", reps)
        run(
            "predict_3d_tile64x512_b2", 30, predict_rate, m3, vol, "ZYX", reps,
            tile_shape=(8, 64, 64) if s else (64, 512, 512), batch_size=2,
        )  # fmt: skip
    if dev.type == "cuda":
        res["peak_gpu_mem_gb"] = torch.cuda.max_memory_allocated() / 2**30

    # torch.compile on the bare network, in a child process so a slow compile can be cut off
    def compiled() -> dict:
        t = time.perf_counter()
        cmd = [sys.executable, __file__, "--compiled-child"] + (["--smoke"] if s else [])
        limit = min(a.compile_timeout, run.left() - 5)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            return {"timed_out_after_s": limit}
        if p.returncode != 0:
            return {"failed": p.stderr[-2000:]}
        out = json.loads(p.stdout.strip().splitlines()[-1])
        out["wall_s"] = time.perf_counter() - t
        return out

    run("net_compiled_2d", 60, compiled)

    # summary: rates against the limits
    def g(*keys):
        v = res
        for k in keys:
            if not isinstance(v, dict) or k not in v:
                return None
            v = v[k]
        return v

    fl2, peak = g("flops_fwd_per_patch_2d"), g("matmul_bf16_tflops")
    summ = {}
    for name in ("train_2d", "train_2d_b512", "net_eager_2d_b128", "net_eager_2d_b512"):
        r = g(name, "steady_patches_per_s") or g(name, "patches_per_s")
        if r and fl2:
            summ[f"{name}_tflops"] = r * 3 * fl2 / 1e12  # forward + backward ≈ 3 forwards
            if peak:
                summ[f"{name}_pct_of_bf16_matmul"] = 100 * r * 3 * fl2 / 1e12 / peak
    for name in ("train_2d", "train_2d_b512"):
        r = g(name, "steady_patches_per_s")
        bare = g("net_eager_2d_b512" if name.endswith("b512") else "net_eager_2d_b128")
        if r and bare:
            summ[f"{name}_pct_of_bare_net"] = 100 * r / bare["patches_per_s"]
    r = g("predict_2d_default", "mpix_per_s")
    if r and fl2:
        summ["predict_2d_default_tflops"] = r * 1e6 * fl2 / (64 * 64) / 1e12
    res["summary"] = summ
    run.save()
    emit(res, a.save or ("gpu_smoke" if s else "gpu"))


if __name__ == "__main__":
    main()
