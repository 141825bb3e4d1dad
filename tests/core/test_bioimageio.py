"""BioImage Model Zoo export: round trips, offline validation, TorchScript and the architecture file
run with plain torch, bioimageio.core's own model test, and clean failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.zoo import arch as zoo_arch
from napari_n2v.core.zoo.api import export_bioimageio, is_zoo_package, load_package

from .bioimageio_helpers import FP32, NET, member, npy, offline, rdf
from .bioimageio_helpers import exported as export_once

KINDS = ["2d", "3d", "2ch"]


@pytest.fixture(scope="module")
def exported():
    """kind -> (model, training image, axes, package path), shared with the import tests."""
    return {kind: export_once(kind) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_restores_the_model_and_its_predictions(exported, kind):
    model, img, axes, path = exported[kind]
    assert is_zoo_package(path)
    with offline():
        loaded = load_package(path, device="cpu")
    assert loaded.config == model.config and loaded.history == model.history
    assert loaded.name == model.name and loaded.steps_trained == model.steps_trained
    np.testing.assert_array_equal(loaded.std, model.std)
    np.testing.assert_array_equal(model.predict(img, axes, FP32), loaded.predict(img, axes, FP32))


@pytest.mark.parametrize("kind", KINDS)
def test_package_validates_offline_and_describes_the_model(exported, kind):
    from bioimageio.spec import ValidationContext, load_description

    model, _, _, path = exported[kind]
    with offline(), ValidationContext(perform_io_checks=True):
        descr = load_description(path)
    summary = descr.validation_summary
    assert summary.status in ("passed", "valid-format"), summary.format()
    warnings = [w.msg for d in summary.details for w in d.warnings]
    # the one warning left asks for a GitHub user, which the zoo's upload needs (checked online)
    assert all("github_user" in w for w in warnings), warnings
    d = rdf(path)
    assert d["format_version"].startswith("0.5.") and d["type"] == "model"
    assert set(d["weights"]) == {"pytorch_state_dict", "torchscript"}
    assert d["weights"]["pytorch_state_dict"]["architecture"]["source"] == "n2v_unet.py"
    axes = [a.get("id", a["type"]) for a in d["inputs"][0]["axes"]]
    assert axes == ["batch", "channel", *(["z"] if model.is_3d else []), "y", "x"]
    pre = [p["id"] for p in d["inputs"][0]["preprocessing"]]
    post = [p["id"] for p in d["outputs"][0]["postprocessing"]]
    assert "fixed_zero_mean_unit_variance" in pre and "scale_linear" in post
    dois = {c["doi"] for c in d["cite"]}
    assert "10.1109/CVPR.2019.00223" in dois
    assert ("10.1007/978-3-031-25069-9_33" in dois) == model.config.n2v2
    assert ("10.1109/ISBI45749.2020.9098336" in dois) == bool(model.config.struct_axis)
    readme = member(path, "README.md").decode()
    assert "Krull" in readme and "steps trained" in readme
    assert f"| blind spot | {model.config.blind_spot}" in readme  # says what was used
    assert member(path, "cover.png")[:4] == b"\x89PNG"
    meta = json.loads(member(path, "napari_n2v_model.json"))
    assert meta["config"]["axes"] == model.config.axes


@pytest.mark.parametrize("kind", KINDS)
def test_test_tensors_are_our_prediction_and_torchscript_reproduces_them(exported, kind):
    import io

    model, _, _, path = exported[kind]
    x, y = npy(path, "test_input.npy"), npy(path, "test_output.npy")  # (1, C, [Z,] Y, X)
    spatial = "ZYX" if model.is_3d else "YX"
    np.testing.assert_allclose(model.predict(x[0], "C" + spatial, NET), y[0], rtol=1e-5, atol=1e-4)
    net = torch.jit.load(io.BytesIO(member(path, "weights_torchscript.pt")))
    shape = (1, -1, *[1] * len(spatial))
    mean = torch.tensor(model.mean).reshape(shape)
    std = torch.tensor(model.std).reshape(shape)
    with torch.no_grad():
        out = net((torch.from_numpy(x) - mean) / std) * std + mean
    np.testing.assert_allclose(out.numpy(), y, rtol=1e-5, atol=1e-4)


_RUN_ARCH = textwrap.dedent(
    """
    import importlib.abc, importlib.util, io, json, sys, zipfile

    class NoN2V(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "napari_n2v":
                raise ImportError("napari_n2v is hidden in this test")

    sys.meta_path.insert(0, NoN2V())
    import numpy as np, torch, yaml

    def run(package, arch_path):
        z = zipfile.ZipFile(package)
        rdf = yaml.safe_load(z.read("rdf.yaml"))
        w = rdf["weights"]["pytorch_state_dict"]
        open(arch_path, "wb").write(z.read(w["architecture"]["source"]))
        spec = importlib.util.spec_from_file_location(arch_path[:-3], arch_path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        net = getattr(mod, w["architecture"]["callable"])(**w["architecture"]["kwargs"])
        net.load_state_dict(torch.load(io.BytesIO(z.read(w["source"])), weights_only=True))
        net.eval()
        x = torch.from_numpy(np.load(io.BytesIO(z.read("test_input.npy"))))
        y = np.load(io.BytesIO(z.read("test_output.npy")))
        pre = rdf["inputs"][0]["preprocessing"][1]["kwargs"]
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean = torch.tensor(pre["mean"]).reshape(shape)
        std = torch.tensor(pre["std"]).reshape(shape)
        with torch.no_grad():
            out = (net((x - mean) / std) * std + mean).numpy()
        return float(np.abs(out - y).max() / np.abs(y).max())

    worst = max(run(p, f"n2v_unet_{i}.py") for i, p in enumerate(sys.argv[1:]))
    assert "napari_n2v" not in sys.modules
    print(json.dumps(worst))
    """
)


def test_architecture_file_runs_with_torch_alone(exported, tmp_path):
    """In a fresh interpreter where napari_n2v cannot be imported, the package's n2v_unet.py,
    loaded by path, with its weights reproduces the test output (2D, 3D, 2-channel N2V2)."""
    packages = [str(exported[k][3]) for k in KINDS]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [sys.executable, "-I", "-c", _RUN_ARCH, *packages],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) < 1e-5


@pytest.mark.parametrize(
    "kw",
    [
        dict(axes="YX"),
        dict(axes="YX", n2v2=True, batch_norm=False),
        dict(axes="ZYX", n2v2=True),
        dict(axes="CZYX", depth=3, batch_norm=False, n_filters=6),
    ],
)
def test_shipped_architecture_equals_the_engines_unet(kw):
    config = TrainConfig(**{"n_filters": 4, **kw})
    channels = 2 if "C" in config.axes else 1
    ours = build_unet(config, channels).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        for v in ours.state_dict().values():
            if v.dtype.is_floating_point:
                v.add_(torch.rand_like(v) * 0.1)  # non-trivial batch-norm statistics too
    shipped = zoo_arch.UNet(
        config.n_spatial, channels, config.depth, config.n_filters, config.kernel_size,
        config.batch_norm, config.n2v2,
    ).eval()  # fmt: skip
    state = ours.state_dict()
    assert list(shipped.state_dict()) == list(state)
    shipped.load_state_dict(state, strict=True)
    x = torch.randn(2, channels, *([16] * config.n_spatial))
    with torch.no_grad():
        torch.testing.assert_close(shipped(x), ours(x))


def test_bioimageio_core_test_model_passes(exported):
    core = pytest.importorskip("bioimageio.core")
    path = exported["2d"][3]
    with offline():
        summary = core.test_model(path)
    assert summary.status == "passed", summary.format()


def test_export_refuses_other_suffixes_no_author_and_to_overwrite(exported, tmp_path):
    model = exported["2d"][0]  # (needing no sample: tests/core/test_export_sample.py)
    with pytest.raises(N2VError, match=r"\.zip"):
        export_bioimageio(model, tmp_path / "a.n2v", name="a name", description="d", authors="A B")
    with pytest.raises(N2VError, match="author"):
        export_bioimageio(model, tmp_path / "a.zip", name="a name", description="d", authors=" ; ")
    target = tmp_path / "b.zip"
    target.write_bytes(b"precious")
    with pytest.raises(N2VError, match="already exists"):
        export_bioimageio(
            model, target, name="a name", description="d", authors="A B", sample=exported["2d"][1]
        )
    assert target.read_bytes() == b"precious"


def test_a_failed_export_leaves_no_file(exported, tmp_path):
    model, img = exported["2d"][:2]
    with pytest.raises(N2VError, match="invalid"):
        export_bioimageio(
            model, tmp_path / "x.zip", name="a name", description="d", authors="A B", sample=img,
            license="NOT-A-LICENSE",
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_sample_axes_and_crop(exported, tmp_path):
    model, img = exported["3d"][:2]
    stack = np.stack([img, img])  # T, Z, Y, X: the first time point is used
    path = export_bioimageio(
        model, tmp_path / "t.zip", name="a name", description="d", authors=["A B"], sample=stack,
        sample_axes="TZYX",
    )  # fmt: skip
    assert npy(path, "test_input.npy").shape == (1, 1, 12, 40, 40)
    with pytest.raises(N2VError, match="channel"):
        export_bioimageio(
            exported["2ch"][0], tmp_path / "c.zip", name="a name", description="d", authors="A B",
            sample=img[0], sample_axes="YX",
        )  # fmt: skip
