#!/usr/bin/env bash
# Build the wheel and sdist, install the wheel into a fresh venv (not editable: a package-data or
# entry-point miss shows here), validate the napari manifest, and train + predict 10 steps from it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
ls "$work/dist"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install -q --upgrade pip
"$work/venv/bin/pip" install -q "$TORCH_SPEC"
"$work/venv/bin/pip" install -q "$work"/dist/*.whl npe2
cd "$work"  # away from the source tree: only the installed package can be imported
"$work/venv/bin/npe2" validate napari-n2v
"$work/venv/bin/python" - <<'PY'
import numpy as np, tifffile
rng = np.random.default_rng(0)
y, x = np.mgrid[:96, :96]
clean = 100 * np.exp(-((y - 40) ** 2 + (x - 50) ** 2) / 300)
tifffile.imwrite("noisy.tif", (clean + rng.normal(0, 10, clean.shape)).astype("float32"))
PY
"$work/venv/bin/napari-n2v" train noisy.tif --axes YX --steps 10 --patch 32 --batch 4 --out m.n2v.safetensors
"$work/venv/bin/napari-n2v" predict m.n2v.safetensors noisy.tif --out denoised.tif
"$work/venv/bin/python" -c "import tifffile; a = tifffile.imread('denoised.tif'); assert a.shape == (96, 96), a.shape; print('package check: ok', a.shape)"
"$work/venv/bin/python" -c "from napari_n2v._sample_data import load_sample; print('sample data: ok', [a.shape for a in load_sample('2d')])"
