"""Does a CUDA graph of the training step pay? Eager step vs graphs of (a) forward + backward + Adam and
(b) masking too, at the default 2D batch (128) and the 3D batch (32). GPU only; prints JSON.

    PYTHONPATH=src python3 benchmarks/gpu_graphs.py [--seconds 4] [--out benchmarks/results/gpu_graphs.json]

The graph variants replay a captured step on static buffers (patches are cut eagerly, as the engine does);
Adam runs with ``capturable=True``. A variant that cannot be captured is reported with its error.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from typing import Any

import numpy as np
import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.data import DevicePatchSampler, Region
from napari_n2v.core.masking import Masker, masked_mse
from napari_n2v.core.model import build_unet


def _setup(n_dim: int, batch: int) -> dict[str, Any]:
    dev = torch.device("cuda")
    cfg = TrainConfig(axes="ZYX" if n_dim == 3 else "YX")
    patch = cfg.resolved_patch_size
    shape = (1, 1, 64, 512, 512) if n_dim == 3 else (1, 1, 2048, 2048)
    data = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    region = Region(0, 1, tuple(slice(0, s) for s in shape[2:]))
    sampler = DevicePatchSampler(data, region, patch, True, np.random.default_rng(0), dev)
    fmt = torch.channels_last if n_dim == 2 else torch.contiguous_format
    net = build_unet(cfg, 1).to(dev, memory_format=fmt).train()
    masker = Masker(patch, cfg.resolved_masked_pixels(), "uniform", 5, None, 2, dev)
    return dict(dev=dev, sampler=sampler, net=net, masker=masker, fmt=fmt, batch=batch)


def _time(fn: Any, seconds: float, batch: int) -> float:
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(10):
            fn()
        torch.cuda.synchronize()
        n += 10
    return n * batch / (time.perf_counter() - t0)


def eager(s: dict[str, Any], seconds: float) -> float:
    opt = torch.optim.Adam(s["net"].parameters(), lr=4e-4)
    gen = torch.Generator(device=s["dev"]).manual_seed(0)

    def step() -> None:
        mr = s["masker"](s["sampler"].sample(s["batch"]), gen)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            pred = s["net"](mr.masked.contiguous(memory_format=s["fmt"]))
        loss = masked_mse(pred, mr.coords, mr.targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return _time(step, seconds, s["batch"])


def graphed(s: dict[str, Any], seconds: float, with_masking: bool) -> float:
    net, dev = s["net"], s["dev"]
    opt = torch.optim.Adam(net.parameters(), lr=torch.tensor(4e-4, device=dev), capturable=True)
    gen = torch.Generator(device=dev).manual_seed(0)
    static_x = s["sampler"].sample(s["batch"]).clone()
    mr0 = s["masker"](static_x, gen)
    static_m, static_c, static_t = mr0.masked.clone(), mr0.coords.clone(), mr0.targets.clone()

    def body() -> torch.Tensor:
        if with_masking:
            mr = s["masker"](static_x, gen)
            m, c, t = mr.masked, mr.coords, mr.targets
        else:
            m, c, t = static_m, static_c, static_t
        with torch.autocast("cuda", dtype=torch.bfloat16):
            pred = net(m.contiguous(memory_format=s["fmt"]))
        loss = masked_mse(pred, c, t)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        return loss.detach()

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            body()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    if with_masking:
        graph.register_generator_state(gen)
    with torch.cuda.graph(graph):
        body()

    def step() -> None:
        x = s["sampler"].sample(s["batch"])
        static_x.copy_(x, non_blocking=True)
        if not with_masking:
            mr = s["masker"](static_x, gen)
            static_m.copy_(mr.masked)
            static_c.copy_(mr.coords)
            static_t.copy_(mr.targets)
        graph.replay()

    return _time(step, seconds, s["batch"])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--out", default="benchmarks/results/gpu_graphs.json")
    args = p.parse_args()
    res: dict[str, Any] = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "runs": [],
    }
    for n_dim, batch in ((2, 128), (2, 512), (3, 32)):
        for name in ("eager", "graph_fwd_bwd_adam", "graph_with_masking"):
            torch.manual_seed(0)
            s = _setup(n_dim, batch)
            row: dict[str, Any] = {"n_dim": n_dim, "batch": batch, "variant": name}
            try:
                if name == "eager":
                    row["patches_per_s"] = eager(s, args.seconds)
                else:
                    row["patches_per_s"] = graphed(s, args.seconds, name == "graph_with_masking")
            except Exception as err:  # report and go on: a variant may not be capturable
                row["error"] = f"{type(err).__name__}: {err}"[:300]
                row["trace"] = traceback.format_exc()[-600:]
            print(json.dumps({k: v for k, v in row.items() if k != "trace"}), flush=True)
            res["runs"].append(row)
            del s
            torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
