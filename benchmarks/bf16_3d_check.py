"""Hunt for non-finite values in bf16 3D training on the CPU: forward hooks on every layer, a gradient check
after every backward; a bad step is reported (and its batch, weights and mask saved to /tmp). Networks and
batches are channels-last-3d, as the engine runs 3D on the CPU (core.device.memory_format).

    .venv/bin/python benchmarks/bf16_3d_check.py 400        # steps; default U-Net, 16x64x64, batch 4
    .venv/bin/python benchmarks/bf16_3d_check.py 2000 --filters 16 --lr 1e-3   # the demo's settings
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from napari_n2v import load_sample
from napari_n2v.core.config import TrainConfig
from napari_n2v.core.masking import Masker, masked_mse
from napari_n2v.core.model import build_unet


def conv_scan(repeats: int = 60) -> None:
    """The fault's fingerprint: a single Conv3d (8 -> 16 channels, 8×8 in Y/X, channels_last_3d) run
    forward + backward ``repeats`` times on the same input in bf16; a call whose weight gradient is
    not finite or differs from the first by > 1% of its range counts as wrong. Found: only Z = 2 with
    batch > 1 (torch 2.13 CPU, oneDNN); fp32 is always right."""
    torch.set_num_threads(2)
    cl = torch.channels_last_3d
    for z in (1, 2, 3, 4, 5, 6, 8):
        for batch in (1, 2, 4):
            for dtype in (torch.bfloat16, None):
                torch.manual_seed(0)
                conv = torch.nn.Conv3d(8, 16, 3, padding=1, bias=False).to(memory_format=cl)
                x = torch.randn(batch, 8, z, 8, 8).contiguous(memory_format=cl)
                g = torch.randn(batch, 16, z, 8, 8).contiguous(memory_format=cl)
                grads = []
                for _ in range(repeats):
                    conv.zero_grad()
                    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype is not None):
                        y = conv(x)
                    y.backward(g.to(y.dtype))
                    grads.append(conv.weight.grad.clone())
                ref = grads[0]
                tol = 1e-2 * float(ref.abs().max())
                wrong = sum(
                    not bool(torch.isfinite(w).all()) or float((w - ref).abs().max()) > tol
                    for w in grads[1:]
                )
                name = "bf16" if dtype is not None else "fp32"
                print(f"Z={z} batch={batch} {name}: {wrong}/{repeats - 1} wrong", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("steps", type=int, nargs="?", default=300)
    ap.add_argument("--filters", type=int, default=32, help="U-Net filters (the default 32)")
    ap.add_argument("--lr", type=float, default=4e-4, help="Adam learning rate")
    ap.add_argument("--batch", type=int, default=4, help="patches per step")
    ap.add_argument(
        "--conv-scan",
        action="store_true",
        help="instead: repeat one Conv3d's bf16 backward per input size and count wrong gradients",
    )
    args = ap.parse_args()
    if args.conv_scan:
        conv_scan()
        return
    steps, fmt = args.steps, torch.channels_last_3d
    torch.set_num_threads(2)
    noisy, _ = load_sample("3d")
    x = ((noisy - noisy.mean()) / noisy.std()).astype(np.float32)
    torch.manual_seed(0)
    net = build_unet(TrainConfig(axes="ZYX", n_filters=args.filters), 1)
    net = net.to(memory_format=fmt).train()  # type: ignore[call-overload]
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    patch = (16, 64, 64)
    masker = Masker(patch, 82, "uniform", 5, None, 2, "cpu")
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    bad_fwd: list[str] = []

    def hook(name: str):  # type: ignore[no-untyped-def]
        def check(module, inputs, out) -> None:  # type: ignore[no-untyped-def]
            if isinstance(out, torch.Tensor) and not torch.isfinite(out).all():
                bad_fwd.append(name)

        return check

    for name, mod in net.named_modules():
        if not list(mod.children()):
            mod.register_forward_hook(hook(name))
    t0, n_bad = time.time(), 0
    for step in range(steps):
        starts = [rng.integers(0, n - p, args.batch) for n, p in zip(x.shape, patch, strict=True)]
        crops = [
            x[z : z + patch[0], y : y + patch[1], w : w + patch[2]]
            for z, y, w in zip(*starts, strict=True)
        ]
        mr = masker(torch.from_numpy(np.stack(crops)[:, None]), gen)
        bad_fwd.clear()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            pred = net(mr.masked.contiguous(memory_format=fmt))
        loss = masked_mse(pred, mr.coords, mr.targets)
        opt.zero_grad()
        loss.backward()
        bad_grads = [
            n
            for n, p in net.named_parameters()
            if p.grad is not None and not p.grad.isfinite().all()
        ]
        if bad_fwd or bad_grads or not math.isfinite(loss.item()):
            n_bad += 1
            print(f"step {step}: loss {loss.item()} forward {bad_fwd[:5]} grads {bad_grads[:8]}")
            torch.save({"crops": crops, "state": net.state_dict()}, f"/tmp/bf16_bad_{step}.pt")
            continue
        opt.step()
        if step % 25 == 0:
            print(f"step {step} loss {loss.item():.4f} {time.time() - t0:.0f} s", flush=True)
    print(
        f"{steps} steps ({args.filters} filters, lr {args.lr:g}, batch {args.batch}), "
        f"{n_bad} with non-finite values, {time.time() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
