"""A PSNR-over-time curve from one training run of ours (``--marks`` of ``runners/ours.py``).

At the first step past each mark the state a stop would start from is kept cheaply: a reference to
the validation-best weights (the trainer replaces them, never changes them in place) and a CPU copy
of the current weights (timed as ``snapshot_s``). Only after training are they resolved as
``Trainer.run`` decides on a stop: the current weights are validated and kept if they beat the best
validation loss. That validation is redone here on the run's own validation set, rebuilt from its
seed (checked against the trainer's recorded best loss: ``val_check_rel_err``).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from benchmarks import engine
from benchmarks.harness.basics import psnr


class Marks:
    """Snapshots at wall-clock marks (seconds since ``t0``) during ``trainer.run()``."""

    def __init__(self, trainer: Any, marks: list[float], t0: float) -> None:
        self.trainer, self.todo, self.t0 = trainer, list(marks), t0
        self.snaps: list[dict[str, Any]] = []
        self.snapshot_s = 0.0

    def maybe_snapshot(self, ev: Any, now: float) -> None:
        """Call after each TrainEvent: a snapshot for every mark passed since the last step."""
        if not self.todo or now - self.t0 < self.todo[0]:
            return
        ts, best = time.perf_counter(), self.trainer._best
        cur = {
            k: v.detach().to("cpu", copy=True) for k, v in self.trainer._net.state_dict().items()
        }
        snap = {"t_s": now - self.t0, "steps": ev.step, "lr": ev.lr, "current": cur,
                "best_state": best.best_state, "best_val": best.best_val,
                "validated_now": best.last_step == ev.step}  # fmt: skip
        while self.todo and now - self.t0 >= self.todo[0]:
            self.snaps.append({**snap, "mark_s": self.todo.pop(0)})
        self.snapshot_s += time.perf_counter() - ts

    def resolve(self, a: Any, final: Any, n_steps: int, axes: str) -> list[dict[str, Any]]:
        """Per mark: the model a stop there would return, its output on the first ``--predict``
        array and, with ``--marks-ref``, its PSNR (and that of the current weights)."""
        import torch

        import napari_n2v as n2v

        tr = self.trainer
        img = np.load(a.predict[0]).astype(np.float32)
        ref = np.load(a.marks_ref).astype(np.float32) if a.marks_ref else None
        outs: dict[int, np.ndarray] = {}

        def run(state: Any) -> np.ndarray:
            if id(state) not in outs:
                model = final
                if state is not final:
                    net = engine.build_unet(tr.config, tr.data.channels)
                    net.load_state_dict(state)
                    model = tr._wrap(net.eval())
                with torch.no_grad():
                    pcfg = n2v.PredictConfig(precision=a.precision or "auto")
                    outs[id(state)] = np.asarray(n2v.predict(model, img, axes, pcfg), np.float32)
            return outs[id(state)]

        rows, chosen_states, check, validate = [], [], None, None
        for s in self.snaps:
            row = {k: s[k] for k in ("mark_s", "t_s", "steps", "lr")}
            if s["steps"] == n_steps:  # the run's own stop: the model it returned
                chosen, state = "returned", final
            elif s["best_state"] is None:  # nothing validated yet: a stop keeps these
                chosen, state = "current", s["current"]
            elif s["validated_now"]:  # this step was validated: the best includes it
                chosen, state = "best", s["best_state"]
            else:
                validate = validate or validator(tr)
                if check is None:  # does the rebuilt validation set reproduce the trainer's?
                    v = validate(s["best_state"])
                    check = abs(v - s["best_val"]) / max(abs(s["best_val"]), 1e-12)
                cur_val = validate(s["current"])
                better = math.isfinite(cur_val) and cur_val < s["best_val"]
                chosen, state = ("current", s["current"]) if better else ("best", s["best_state"])
            row["chosen"] = chosen
            if ref is not None:
                row.update(psnr=psnr(ref, run(state)), psnr_current=psnr(ref, run(s["current"])))
                if s["best_state"] is not None:
                    row["psnr_best_validated"] = psnr(ref, run(s["best_state"]))
            rows.append(row)
            chosen_states.append(state)
        if a.marks_out:
            arrays: dict[str, Any] = {f"m{i}": run(s) for i, s in enumerate(chosen_states)}
            np.savez_compressed(a.marks_out, **arrays)
        return [{**r, "val_check_rel_err": check} for r in rows]


def validator(trainer: Any) -> Any:
    """``validate(state) -> loss`` on the run's validation set, rebuilt as ``Trainer.run`` builds it
    (same seed, patches, masking, batch and precision)."""
    cfg, d = trainer.config, trainer.data
    runner = engine.step_runner(trainer, engine.build_unet(cfg, d.channels))
    val = runner.make_val(engine.val_sampler(d, cfg.seed + 1), cfg.val_patches, cfg.seed + 1)

    def validate(state: Any) -> float:
        runner.net.load_state_dict(state)
        return float(runner.validate(val))

    return validate
