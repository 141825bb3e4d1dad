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
import sys
from pathlib import Path

# This file is the entry point and the list of sections; what they measure lives in gpu_common.py (limits,
# synthetic data, the section runner, the summary), gpu_net.py (bare network, step parts), gpu_train.py
# (engine training, tuning, BSD68 curve) and gpu_predict.py (prediction).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, machine
from gpu_common import Run, forward_flops, matmul_tflops, summary, synthetic
from gpu_net import compiled, compiled_child, net_rate, step_parts
from gpu_predict import predictions
from gpu_train import bsd68_curve, train_rate, tuning


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
        compiled_child(a.smoke)
        return
    import torch

    from napari_n2v import load_sample
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
    predictions(run, s, t2, t3, n3)
    if dev.type == "cuda":
        res["peak_gpu_mem_gb"] = torch.cuda.max_memory_allocated() / 2**30

    # torch.compile on the bare network, in a child process so a slow compile can be cut off
    run("net_compiled_2d", 60, compiled, __file__, s, a.compile_timeout, run)

    # summary: rates against the limits
    res["summary"] = summary(res)
    run.save()
    emit(res, a.save or ("gpu_smoke" if s else "gpu"))


if __name__ == "__main__":
    main()
