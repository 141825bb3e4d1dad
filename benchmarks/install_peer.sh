#!/usr/bin/env bash
# Install the peer (CAREamics 0.3.5) and the BM3D baseline into their OWN virtual environment.
#
#   benchmarks/install_peer.sh [VENV_DIR]      (default: <repo>/.peer-venv, which is gitignored)
#
# Follows /work/shared/PEER.md. What it takes (torch 2.13 CPU, Python 3.11):
#  * torch first, alone (the local CPU wheel), then the dependencies pinned by hand and careamics with
#    --no-deps: a plain `pip install careamics` spends 15+ min resolving, and careamics 0.3.4/0.3.5 ask for
#    torchvision <= 0.26, which would pull torch 2.11.
#  * torchvision 0.28.0 (the release matching torch 2.13) from PyPI is a CUDA build whose compiled ops do not
#    load beside the CPU torch; its _meta_registrations.py then fails at import on two
#    @register_fake("torchvision::nms"/"qnms") decorators. N2V uses no torchvision op, so those two
#    registrations are made conditional on torchvision.extension._has_ops() (patch below).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-$HERE/../.peer-venv}"
PY="${PYTHON:-python3}"

"$PY" -m venv "$VENV"
PIP=("$VENV/bin/pip" install --disable-pip-version-check -q)
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" torchvision==0.28.0 "bioimageio-core>=0.9,<=0.11" "lightning>=2.2,<=2.6.6,!=2.6.2,!=2.6.3" \
    "torchmetrics>0.7,<1.9" "microssim<=0.0.5" "pydantic>=2.11" "zarr>=3,<4" \
    numpy scikit-image tifffile matplotlib pillow psutil pyyaml torch==2.13.0
"${PIP[@]}" --no-deps careamics==0.3.5
"${PIP[@]}" bm3d torch==2.13.0 || echo "WARNING: bm3d did not install; the quality suite cannot run BM3D (--bm3d-budget)" >&2

# Patch torchvision's fake-op registrations (see header).
"$VENV/bin/python" - <<'PYEOF'
import importlib.util, pathlib, re
spec = importlib.util.find_spec("torchvision")
path = pathlib.Path(spec.submodule_search_locations[0]) / "_meta_registrations.py"
src = path.read_text()
if "_n2v_bench_patched" not in src:
    n = 0
    for op in ("nms", "qnms"):
        pat = re.compile(r'^@torch\.library\.register_fake\("torchvision::%s"\)\n' % op, re.M)
        src, k = pat.subn(
            '@(torch.library.register_fake("torchvision::%s") if torchvision.extension._has_ops() '
            'else (lambda f: f))  # _n2v_bench_patched\n' % op, src)
        n += k
    if n != 2:
        raise SystemExit(f"torchvision patch: expected 2 decorators, found {n} in {path}")
    if "import torchvision\n" not in src:
        src = "import torchvision\n" + src
    path.write_text(src)
    print(f"patched {path}")
PYEOF
"$VENV/bin/python" -c "import careamics, torch, torchvision; print('careamics', careamics.__version__, 'torch', torch.__version__, 'torchvision', torchvision.__version__)"
"$VENV/bin/python" -c "import bm3d; print('bm3d ok')" || true
