"""Bare-network training rate: our U-Net vs CAREamics' U-Net (depth 2, 32 filters), fp32 vs bf16 autocast,
NCHW vs channels_last, 2D and 3D; forward + backward + Adam step on random patches, the variants
interleaved round-robin in one process so they share the machine's load. Runs in the PEER venv (it needs
careamics' UNet; our package is imported from ``src/``). Separates the network's cost from the engines'
data pipelines, and counts forward FLOPs per patch.

    .peer-venv/bin/python benchmarks/netbench.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import emit, machine  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


def nets(n_dim: int) -> dict[str, torch.nn.Module]:
    from careamics.models.unet import UNet as PeerUNet

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model import build_unet

    return {
        "ours": build_unet(TrainConfig(axes="ZYX" if n_dim == 3 else "YX"), 1),
        "peer": PeerUNet(conv_dims=n_dim, depth=2, num_channels_init=32),
    }


def step_time(net, opt, x, bf16: bool) -> float:
    t = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y = net(x)
    loss = (y.float() - x).square().mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per variant per round")
    a = ap.parse_args()
    res: dict = {
        "benchmark": "netbench",
        "machine": machine(),
        "settings": vars(a),
        "flops": {},
        "rates": {},
    }
    for n_dim, batch, patch in ((2, 16, (64, 64)), (3, 4, (16, 64, 64))):
        variants = []
        for name, net in nets(n_dim).items():
            x1 = torch.randn(1, 1, *patch)
            with FlopCounterMode(display=False) as fc:
                net(x1)
            res["flops"][f"{n_dim}d_{name}"] = {
                "gflop_fwd_per_patch": fc.get_total_flops() / 1e9,
                "params": sum(p.numel() for p in net.parameters()),
            }
            fmts = (
                [torch.contiguous_format, torch.channels_last]
                if n_dim == 2
                else [torch.contiguous_format]
            )
            for fmt in fmts:
                for bf16 in (False, True):
                    import copy

                    m = copy.deepcopy(net).to(memory_format=fmt).train()
                    opt = torch.optim.Adam(m.parameters(), 1e-4)
                    x = torch.randn(batch, 1, *patch).contiguous(memory_format=fmt)
                    key = f"{n_dim}d_{name}_{'cl' if fmt == torch.channels_last else 'nchw'}_{'bf16' if bf16 else 'fp32'}"
                    step_time(m, opt, x, bf16)  # warm-up
                    variants.append((key, m, opt, x, bf16, []))
        for _ in range(a.rounds):
            for _key, m, opt, x, bf16, ts in variants:
                ts += [step_time(m, opt, x, bf16) for _ in range(a.steps)]
        for key, _m, _opt, x, _bf16, ts in variants:
            res["rates"][key] = x.shape[0] / float(np.median(ts))
            print(f"{key}: {res['rates'][key]:.2f} patches/s", file=sys.stderr, flush=True)
    emit(res, "netbench")


if __name__ == "__main__":
    main()
