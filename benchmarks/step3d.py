"""One 3D training step of the bare U-Net on this CPU: fp32 / bf16 autocast x NCDHW / channels_last_3d,
for 32 and 16 first-level filters (batch 4 of 16×64×64, forward + backward + Adam; median of 4 steps
after one warm-up). Prints one line per variant, patches/s.

    .venv/bin/python benchmarks/step3d.py
"""

from __future__ import annotations

import time

import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.model import build_unet

PATCH, BATCH = (16, 64, 64), 4


def rate(n_filters: int, bf16: bool, fmt: torch.memory_format, steps: int = 4) -> float:
    torch.manual_seed(0)
    net = build_unet(TrainConfig(axes="ZYX", n_filters=n_filters), 1).train()
    net = net.to(memory_format=fmt)  # type: ignore[call-overload]
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    x = torch.randn(BATCH, 1, *PATCH).contiguous(memory_format=fmt)
    times = []
    for _ in range(steps + 1):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = net(x)
        loss = (y.float() ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    times = sorted(times[1:])
    return BATCH / times[len(times) // 2]


def main() -> None:
    torch.set_num_threads(2)
    for nf in (32, 16):
        for bf16 in (False, True):
            for fmt, name in ((torch.contiguous_format, "NCDHW"), (torch.channels_last_3d, "CL3D")):
                r = rate(nf, bf16, fmt)
                print(
                    f"{nf} filters {'bf16' if bf16 else 'fp32'} {name}: {r:.2f} patches/s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
