#!/usr/bin/env bash
# DDP on CUDA (NCCL) through the real CLI: torchrun --nproc-per-node 1 -m napari_n2v train, 50 steps on a
# small folder of TIFFs. Asserts the model file was written (by rank 0, exactly one file) and that the log
# states the world size; prints patches/s. Run from the repository root on a machine with >= 1 GPU:
#     bash benchmarks/gpu_ddp_check.sh            # NPROC=2 bash ... on a 2-GPU machine
# Needs: python with torch (CUDA), numpy, tifffile, safetensors, tqdm; napari-n2v installed or PYTHONPATH=src.
set -euo pipefail
PY=${PYTHON:-python3}
NPROC=${NPROC:-1}
STEPS=${STEPS:-50}
WORK=$(mktemp -d /tmp/n2v-ddp-check.XXXX)
trap 'rm -rf "$WORK"' EXIT
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$(pwd)/src"

"$PY" - "$WORK" <<'PY'
import sys, numpy as np, tifffile, torch
assert torch.cuda.is_available(), "no CUDA device: this check is for a GPU machine"
rng = np.random.default_rng(0)
for k in range(4):  # 4 files of 16 noisy 512x512 frames (uint16), read patch by patch from disk
    clean = np.clip(rng.normal(300, 80, (16, 64, 64)).repeat(8, 1).repeat(8, 2), 0, None)
    tifffile.imwrite(f"{sys.argv[1]}/f{k}.tif", rng.poisson(clean).astype(np.uint16), metadata={"axes": "TYX"})
print("torch", torch.__version__, "on", torch.cuda.get_device_name(0), "nccl", torch.cuda.nccl.version())
PY

LOG="$WORK/train.log"
"$PY" -m torch.distributed.run --nproc-per-node "$NPROC" -m napari_n2v train "$WORK" \
    --out "$WORK/model.n2v.safetensors" --steps "$STEPS" --patch 64 --seed 0 --device cuda \
    > "$LOG" 2>&1 || { tail -40 "$LOG"; echo "FAIL: torchrun exited non-zero"; exit 1; }
tr '\r' '\n' < "$LOG" | grep -v '^ *[0-9]*%' | grep -v '^\s*$' | tail -8

test -f "$WORK/model.n2v.safetensors" || { echo "FAIL: no model file"; exit 1; }
n=$(ls "$WORK" | grep -c 'safetensors$'); [ "$n" = 1 ] || { echo "FAIL: $n model files"; exit 1; }
grep -q "world size $NPROC (nccl)" "$LOG" || { echo "FAIL: the log does not state 'world size $NPROC (nccl)'"; exit 1; }
# the bar's patches/s per step (a moving average); the median of the second half is the steady rate
rate=$(tr '\r' '\n' < "$LOG" | grep -o 'patch/s=[0-9]*' | cut -d= -f2 | "$PY" -c \
    'import sys, statistics as s; v=[int(x) for x in sys.stdin.read().split()]; print(int(s.median(v[len(v)//2:])) if v else 0)')
"$PY" - "$WORK/model.n2v.safetensors" <<'PY'
import sys
from napari_n2v.core.model_io import load_model
m = load_model(sys.argv[1], device="cpu")
print(f"model: {m.describe()}; last validation loss {m.history[-1]['val_loss']:.4f}")
assert m.steps_trained > 0
PY
echo "OK: DDP/NCCL, world size $NPROC, $STEPS steps, ${rate} patches/s per rank ($((rate * NPROC)) in all)"
