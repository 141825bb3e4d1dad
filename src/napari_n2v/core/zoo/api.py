"""BioImage Model Zoo (bioimage.io, spec 0.5) export and import: the public entry points.

- :func:`export_bioimageio` writes a validated, self-contained package (.zip) from a trained model;
  :func:`zoo_name` is the valid zoo name it gives any name typed (for a form to show as one types).
- :func:`is_zoo_package` tells a package (zip or folder with rdf.yaml / bioimageio.yaml) apart.
- :func:`load_package` opens one: napari-n2v and CAREamics N2V exports as an N2VModel (predict
  and fine-tune); other TorchScript models, only when trusted, as a predict-only TorchScriptModel.

Never imports a package's Python code; never loads a pickle except weights-only; no network.
"""

from __future__ import annotations

from napari_n2v.core.zoo.export import export_bioimageio, parse_authors
from napari_n2v.core.zoo.importer import TorchScriptModel, load_package
from napari_n2v.core.zoo.package import is_zoo_package
from napari_n2v.core.zoo.rdf import NAME_CHARS, zoo_name

__all__ = [
    "NAME_CHARS",
    "TorchScriptModel",
    "export_bioimageio",
    "is_zoo_package",
    "load_package",
    "parse_authors",
    "zoo_name",
]
