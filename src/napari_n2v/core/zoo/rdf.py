"""The rdf of an exported package: napari-n2v's model in bioimageio.spec 0.5 terms.

Axes become batch / channel / space (z, y, x); the input size is parameterised (a minimum plus steps
of ``2**depth``), the output references it and declares the receptive-field halo to crop when
tiling; the normalisation is ``fixed_zero_mean_unit_variance`` before and an exactly inverse
``scale_linear`` (gain = std, offset = mean) after.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.model.unet import unet_kwargs
from napari_n2v.core.predict.prediction import border_padding

MODEL_JSON = "napari_n2v_model.json"
ARCH_FILE = "n2v_unet.py"
WEIGHTS_PT = "weights.pt"
WEIGHTS_TS = "weights_torchscript.pt"
JSON_FORMAT = "napari-n2v-bioimageio"
#: What bioimageio.spec 0.5 allows in a model's name (besides its length, 5 to 128 characters).
NAME_CHARS = "letters, digits, spaces and _ + - ( )"
_BRACKETS = str.maketrans("[]{}", "()()")


def zoo_name(text: str) -> str:
    """``text`` as a valid zoo model name: accents dropped, brackets made round, every other
    character outside :data:`NAME_CHARS` (``,`` ``.`` ``:`` ``/`` ...) a space, spaces collapsed, at
    most 128 characters, and ``" N2V"`` added to a name shorter than 5.

    ``"Confocal_FISH_1 (2D, 28 steps)"`` -> ``"Confocal_FISH_1 (2D 28 steps)"``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"[^A-Za-z0-9_+\-() ]+", " ", plain.translate(_BRACKETS))
    name = " ".join(plain.split())[:128].strip()
    if not name:
        raise N2VError(f"give the model a name ({NAME_CHARS}); got {text!r}.")
    while len(name) < 5:
        name += " N2V"
    return name[:128]


def network_kwargs(model: N2VModel) -> dict[str, Any]:
    """The ``zoo_arch.UNet`` kwargs that rebuild ``model.network``, with the border padding napari-n2v
    predicts with (so that the package reproduces its test output)."""
    kw = unet_kwargs(model.config, model.n_channels)
    pad = border_padding(model)
    if pad != "zeros":
        kw["padding_mode"] = pad
    return kw


def describe(
    model: N2VModel,
    files: dict[str, Any],
    name: str,
    description: str,
    authors: list[str],
    cites: list[dict[str, str]],
    license: str,
) -> Any:
    from bioimageio.spec.model import v0_5

    m: Any = v0_5  # the spec's types are stricter than its validators (which coerce str etc.)

    c = model.config
    step = 2**c.depth
    spatial = "zyx" if model.is_3d else "yx"
    halos = sample_halos(model, files["sample_shape"])
    channel = m.ChannelAxis(channel_names=[f"channel{i}" for i in range(model.n_channels)])
    in_axes = [
        m.BatchAxis(),
        channel,
        *[
            m.SpaceInputAxis(id=m.AxisId(a), size=m.ParameterizedSize(min=2 * h + step, step=step))
            for a, h in zip(spatial, halos, strict=True)
        ],
    ]
    out_axes = [
        m.BatchAxis(),
        channel,
        *[_output_axis(m, a, h) for a, h in zip(spatial, halos, strict=True)],
    ]
    mean = [float(v) for v in model.mean]
    std = [float(v) for v in model.std]
    with spec_errors("the package description is invalid"):
        inputs = m.InputTensorDescr(
            id=m.TensorId("input"),
            axes=in_axes,
            test_tensor=m.FileDescr(source=files["input"]),
            sample_tensor=m.FileDescr(source=files["sample_in"]),
            preprocessing=[
                m.FixedZeroMeanUnitVarianceDescr(
                    kwargs=m.FixedZeroMeanUnitVarianceAlongAxisKwargs(
                        mean=mean, std=std, axis=m.AxisId("channel")
                    )
                )
            ],
        )
        outputs = m.OutputTensorDescr(
            id=m.TensorId("output"),
            axes=out_axes,
            test_tensor=m.FileDescr(source=files["output"]),
            sample_tensor=m.FileDescr(source=files["sample_out"]),
            postprocessing=[  # undoes the input normalisation: y * std + mean
                m.ScaleLinearDescr(
                    kwargs=m.ScaleLinearAlongAxisKwargs(
                        axis=m.AxisId("channel"), gain=std, offset=mean
                    )
                )
            ],
        )
        version = m.Version(torch.__version__.split("+")[0])
        weights = m.WeightsDescr(
            pytorch_state_dict=m.PytorchStateDictWeightsDescr(
                source=files["weights"],
                architecture=m.ArchitectureFromFileDescr(
                    source=files["arch"], callable="UNet", kwargs=network_kwargs(model)
                ),
                pytorch_version=version,
            ),
            torchscript=m.TorchscriptWeightsDescr(
                source=files["torchscript"], pytorch_version=version, parent="pytorch_state_dict"
            ),
        )
        tags = ["denoising", "noise2void", "n2v", "self-supervised", "pytorch", "napari-n2v"]
        tags += ["3d" if model.is_3d else "2d"] + (["n2v2"] if c.n2v2 else [])
        tags += ["structn2v"] if c.struct_axis else []
        return m.ModelDescr(
            name=name,
            description=description,
            authors=[m.Author(name=a) for a in authors],
            cite=[m.CiteEntry(text=e["text"], doi=m.Doi(e["doi"])) for e in cites],
            license=license,
            documentation=m.FileDescr(source=files["readme"]),
            covers=[m.FileDescr(source=files["cover"])],
            attachments=[m.FileDescr(source=files["json"])],
            tags=tags,
            inputs=[inputs],
            outputs=[outputs],
            weights=weights,
            config={"napari-n2v": {"model_json": MODEL_JSON, "receptive_halo": model.halo[0]}},
        )


def sample_halos(model: N2VModel, spatial_shape: Sequence[int]) -> list[int]:
    """The output halo declared per spatial axis: the model's receptive-field margin, shrunk (to a
    multiple of ``2**depth``) where the test tensor is too small for it, since the spec asks every
    input size to exceed twice the halo (a 3D sample seldom has 2 x 32 + 4 planes)."""
    step = 2**model.config.depth
    return [min(model.halo[0], (n - step) // 2 // step * step) for n in spatial_shape]


def _output_axis(m: Any, axis: str, halo: int) -> Any:
    size = m.SizeReference(tensor_id=m.TensorId("input"), axis_id=m.AxisId(axis))
    if halo > 0:
        return m.SpaceOutputAxisWithHalo(id=m.AxisId(axis), size=size, halo=halo)
    return m.SpaceOutputAxis(id=m.AxisId(axis), size=size)


@contextlib.contextmanager
def spec_errors(what: str) -> Iterator[None]:
    """Turn bioimageio.spec's validation errors into one N2VError line."""
    try:
        yield
    except N2VError:
        raise
    except Exception as err:  # pydantic.ValidationError, ValueError, OSError from the spec
        msg = " ".join(str(err).split())
        raise N2VError(f"{what}: {msg[:600]}") from err
