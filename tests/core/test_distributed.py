"""DDP on the CPU (gloo, 2 ranks): torchrun runs the real CLI; a stop on one rank ends both."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

from ..conftest import blobs, psnr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _noisy(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    clean = np.stack([blobs((64, 64), n=10, seed=seed + k) for k in range(4)])
    noisy = clean + np.random.default_rng(seed).normal(0, 0.2, clean.shape)
    return clean, noisy.astype(np.float32)


def test_torchrun_two_ranks_train_one_model(tmp_path):
    clean, noisy = _noisy()
    tifffile.imwrite(tmp_path / "a.tif", noisy[:2], metadata={"axes": "TYX"})
    tifffile.imwrite(tmp_path / "b.tif", noisy[2:], metadata={"axes": "TYX"})
    out = tmp_path / "m.n2v.safetensors"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-port",
        str(_free_port()),
        "-m",
        "napari_n2v",
        "train",
        str(tmp_path),
        "--out",
        str(out),
        "--steps",
        "60",
        "--batch",
        "8",
        "--patch",
        "32",
        "--seed",
        "0",
        "--device",
        "cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr  # tqdm writes info lines to stdout
    assert "world size 2" in log and "effective batch 16" in log and "learning rate 0.0004" in log
    assert log.count("DDP: world size") == 1  # rank 0 alone logs
    assert res.stdout.count("saved ") == 1  # rank 0 alone writes and says so
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif", "b.tif", out.name]

    from napari_n2v.core.model.model_io import load_model

    model = load_model(out, device="cpu")
    losses = [h["train_loss"] for h in model.history]
    assert model.steps_trained == 60 and len(model.history) == 2
    assert model.history[-1]["val_loss"] < 1.0  # normalised noisy data: trivial loss is ~2
    assert losses[-1] < 1.5
    den = model.predict(noisy, "TYX")
    assert psnr(den, clean) > psnr(noisy, clean) + 3


def _rank_main(rank: int, port: int, path: str, result: str) -> None:
    """One rank of a 2-rank gloo run in which rank 1 asks to stop at its 5th step."""
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE="2",
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.events import TrainEvent
    from napari_n2v.core.train import distributed
    from napari_n2v.core.train.trainer import Trainer

    distributed.setup("cpu")
    data = np.load(path)
    cfg = TrainConfig(axes="TYX", steps=500, batch_size=2, patch_size=(16, 16), seed=1)
    cfg = cfg.replace(device="cpu", steps_per_epoch=1000, val_patches=4)
    trainer = Trainer(data, cfg)
    last = 0
    for ev in trainer.run():
        if isinstance(ev, TrainEvent):
            last = ev.step
            if rank == 1 and ev.step == 5:
                trainer.stop()
    model = trainer.best_model
    Path(f"{result}.{rank}").write_text(f"{last} {model.steps_trained if model else -1}")
    distributed.teardown()


def test_stop_on_one_rank_ends_all(tmp_path):
    _, noisy = _noisy(3)
    path = tmp_path / "data.npy"
    np.save(path, noisy)
    ctx = torch.multiprocessing.get_context("spawn")
    port = _free_port()
    procs = [
        ctx.Process(target=_rank_main, args=(r, port, str(path), str(tmp_path / "r")))
        for r in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    steps = [(tmp_path / f"r.{r}").read_text().split() for r in range(2)]
    # both ranks stop after the same step (5, or 6 when the flag lands a step later) and keep it
    assert steps[0] == steps[1]
    assert 5 <= int(steps[0][0]) <= 6 and steps[0][0] == steps[0][1]


def test_single_process_ranks_are_noops():
    from napari_n2v.core.train.distributed import Ranks, launched

    r = Ranks()
    assert not launched() and not r.active and r.is_main and r.world == 1
    assert r.should_stop(False) is False and r.should_stop(True) is True
    assert r.share(0.5) == 0.5 and r.rank_seed(7) == 7 and r.common_seed(3) == 3
    net = torch.nn.Linear(2, 2)
    assert r.wrap(net, torch.device("cpu")) is net


@pytest.mark.parametrize("argv", [["-m", "napari_n2v", "--version"]])
def test_python_dash_m_runs_the_cli(argv):
    res = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "napari-n2v" in res.stdout
