"""Write a trained model as a BioImage Model Zoo package (spec 0.5), validated before it lands.

The package is self-contained: ``pytorch_state_dict`` weights whose architecture is ``n2v_unet.py``
(a copy of :mod:`napari_n2v.core.zoo.arch`, torch only), ``torchscript`` weights, the normalisation as
pre-/postprocessing, test tensors from the user's sample, a cover, a README and our model JSON.
Nothing is fetched from the network: the description holds no URL, so bioimageio.spec's checks stay
on local files.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
import torch

from napari_n2v.core.config import PredictConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.atomic import atomic_write, check_writable
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.zoo import arch as zoo_arch
from napari_n2v.core.zoo.docs import CITATIONS, citation_keys, readme, write_cover
from napari_n2v.core.zoo.rdf import (
    ARCH_FILE,
    JSON_FORMAT,
    MODEL_JSON,
    WEIGHTS_PT,
    WEIGHTS_TS,
    describe,
    network_kwargs,
    spec_errors,
    zoo_name,
)
from napari_n2v.core.zoo.sample import choose_sample


def parse_authors(authors: str | Sequence[str]) -> list[str]:
    """``"First Last; Other Name"`` or a list of names -> a clean, non-empty list."""
    names = authors.split(";") if isinstance(authors, str) else list(authors)
    out = [str(n).strip() for n in names if str(n).strip()]
    if not out:
        raise N2VError('give at least one author, e.g. "Ada Lovelace; Alan Turing".')
    bad = [n for n in out if "/" in n]
    if bad:
        raise N2VError(f"author names may not contain '/': {', '.join(bad)}.")
    return out


def model_json(model: N2VModel) -> dict[str, Any]:
    return {
        "format": JSON_FORMAT,
        "format_version": 1,
        "config": model.config.to_dict(),
        "mean": np.asarray(model.mean, dtype=float).tolist(),
        "std": np.asarray(model.std, dtype=float).tolist(),
        "history": model.history,
        "name": model.name,
        "steps_trained": model.steps_trained,
        "blend": model.blend,
        "network_kwargs": network_kwargs(model),
    }


def export_bioimageio(
    model: N2VModel,
    path: str | Path,
    *,
    name: str,
    description: str,
    authors: str | Sequence[str],
    sample: Any = None,
    sample_axes: str | None = None,
    cite: Sequence[dict[str, str]] | None = None,
    license: str = "CC-BY-4.0",
    overwrite: bool = False,
) -> Path:
    """Write ``model`` as a BioImage Model Zoo package (a .zip) at ``path``; see the module doc.

    ``name`` is made a valid zoo name (:func:`~napari_n2v.core.zoo.rdf.zoo_name`: e.g. a comma becomes
    a space). ``sample`` is an image like the training data (axes ``sample_axes``, default the
    model's axes or those without S/T); its first sample, centre-cropped, gives the test tensors and
    the cover. Without one, the crop of the training data kept in the model file is used, and for
    an older model file without it a synthetic image (the package's README says so). ``cite`` adds ``{"text": ..., "doi": ...}`` entries to the N2V (N2V2, structN2V) citations.
    Written atomically and validated with bioimageio.spec first; any failure raises one N2VError
    and leaves no file behind.
    """
    path = Path(path)
    if path.suffix.lower() != ".zip":
        raise N2VError(f"{path.name}: a BioImage Model Zoo package is a .zip file; end it in .zip.")
    if path.exists() and not overwrite:
        raise N2VError(f"{path} already exists: choose another name, or allow overwriting.")
    check_writable(path, overwrite=overwrite)  # the folder, its permissions, a run writing it
    name = zoo_name(name)
    if not description or not description.strip():
        description = f"Noise2Void denoising model '{name}' trained with napari-n2v."
    author_list = parse_authors(authors)
    cites = _cite_entries(model, cite)
    block, note = choose_sample(model, sample, sample_axes)  # (C, [Z,] Y, X)
    spec = _import_spec()
    with (
        atomic_write(path, overwrite=overwrite) as tmp,  # complete and validated, or no file
        tempfile.TemporaryDirectory(prefix="n2v-bmz-") as tmp_dir,
    ):
        work = Path(tmp_dir)
        with spec_errors("the package files could not be made"):
            model = _on_cpu(model)
            files = _write_files(model, block, work, description, note)
        descr = describe(model, files, name, description, author_list, cites, license)
        with spec_errors("the package could not be written"):
            spec.save_bioimageio_package(descr, output_path=tmp)
        _validate_written(spec, tmp)
    return path


def _cite_entries(model: N2VModel, cite: Sequence[dict[str, str]] | None) -> list[dict[str, str]]:
    out = [{"text": CITATIONS[k][0], "doi": CITATIONS[k][1]} for k in citation_keys(model)]
    for entry in cite or ():
        if not isinstance(entry, dict) or not entry.get("text") or not entry.get("doi"):
            raise N2VError(
                f"each extra citation needs 'text' and 'doi' (a DOI keeps export offline): {entry!r}."
            )
        out.append({"text": str(entry["text"]), "doi": str(entry["doi"])})
    return out


def _import_spec() -> Any:
    try:
        import bioimageio.spec as spec
    except ImportError as err:  # pragma: no cover - a dependency; only a broken install lacks it
        raise N2VError(
            "exporting to the BioImage Model Zoo needs bioimageio.spec: pip install bioimageio.spec"
        ) from err
    return spec


def _on_cpu(model: N2VModel) -> N2VModel:
    import copy

    net = copy.deepcopy(model.network).to("cpu").float().eval()
    return N2VModel(
        config=model.config,
        network=net,
        mean=np.asarray(model.mean, np.float32),
        std=np.asarray(model.std, np.float32),
        history=model.history,
        name=model.name,
        steps_trained=model.steps_trained,
        blend=model.blend,
        sample=model.sample,
        sample_axes=model.sample_axes,
    )


def _write_files(
    model: N2VModel, block: np.ndarray, work: Path, description: str, note: str
) -> dict[str, Any]:
    """Every file of the package, in ``work``; returns them by role."""
    axes = "C" + ("ZYX" if model.is_3d else "YX")
    # the package's network alone: a zoo consumer runs it without our blend with the input
    cfg = PredictConfig(device="cpu", precision="fp32", tile_shape=block.shape[1:], blend=False)
    out = model.predict(block, axes, cfg).astype(np.float32)  # (C, [Z,] Y, X)
    f: dict[str, Any] = {
        "sample_shape": block.shape[1:],
        "sample_in": work / "sample_input.tif",
        "sample_out": work / "sample_output.tif",
        "input": work / "test_input.npy",
        "output": work / "test_output.npy",
        "arch": work / ARCH_FILE,
        "weights": work / WEIGHTS_PT,
        "torchscript": work / WEIGHTS_TS,
        "json": work / MODEL_JSON,
        "cover": work / "cover.png",
        "readme": work / "README.md",
    }
    np.save(f["input"], block[None])
    np.save(f["output"], out[None])
    tifffile.imwrite(f["sample_in"], block)  # (C, [Z,] Y, X): for people and viewers
    tifffile.imwrite(f["sample_out"], out)
    shutil.copyfile(zoo_arch.__file__, f["arch"])
    state = {k: v.detach().cpu().contiguous() for k, v in model.network.state_dict().items()}
    torch.save(state, f["weights"])
    net = zoo_arch.UNet(**network_kwargs(model))
    net.load_state_dict(state)
    with torch.no_grad():
        traced = torch.jit.trace(net.eval(), torch.from_numpy(block[None]), check_trace=False)
    traced.save(str(f["torchscript"]))
    f["json"].write_text(json.dumps(model_json(model), indent=1))
    write_cover(block, out, f["cover"])
    f["readme"].write_text(readme(model, description, note), encoding="utf-8")
    return f


def _validate_written(spec: Any, zip_path: Path) -> None:
    """Re-read the written zip with bioimageio.spec (local checks only, e.g. sha256)."""
    from bioimageio.spec import ValidationContext

    with spec_errors("the written package does not validate"):
        with ValidationContext(perform_io_checks=True):
            descr = spec.load_description(zip_path)
    summary = getattr(descr, "validation_summary", None)
    status = getattr(summary, "status", "failed")
    if status not in ("passed", "valid-format"):
        details = summary.format() if summary is not None else "unknown error"
        raise N2VError(f"the written package does not validate: {' '.join(details.split())[:600]}")
