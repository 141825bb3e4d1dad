"""Hunt for non-finite values in bf16 3D training on the CPU: forward hooks on every layer, a gradient check
after every backward; a bad step is reported (and its batch, weights and mask saved to /tmp).

    .venv/bin/python benchmarks/bf16_3d_check.py 400        # steps; default U-Net, 16x64x64, batch 4
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import torch

from napari_n2v import load_sample
from napari_n2v.core.config import TrainConfig
from napari_n2v.core.masking import Masker, masked_mse
from napari_n2v.core.model import build_unet


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    torch.set_num_threads(2)
    noisy, _ = load_sample("3d")
    x = ((noisy - noisy.mean()) / noisy.std()).astype(np.float32)
    torch.manual_seed(0)
    net = build_unet(TrainConfig(axes="ZYX"), 1).train()
    opt = torch.optim.Adam(net.parameters(), lr=4e-4)
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
        starts = [rng.integers(0, n - p, 4) for n, p in zip(x.shape, patch, strict=True)]
        crops = [
            x[z : z + patch[0], y : y + patch[1], w : w + patch[2]]
            for z, y, w in zip(*starts, strict=True)
        ]
        mr = masker(torch.from_numpy(np.stack(crops)[:, None]), gen)
        bad_fwd.clear()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            pred = net(mr.masked)
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
    print(f"{steps} steps, {n_bad} with non-finite values, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
