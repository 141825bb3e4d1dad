import subprocess
import sys

GUI = ("qtpy", "napari", "magicgui", "superqt", "PyQt5", "PyQt6", "PySide2", "PySide6", "pyqtgraph")


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {m.split(".")[0] for m in out.split()}


def test_package_import_is_light():
    mods = _loaded_after("import napari_n2v")
    assert not mods & set(GUI)
    assert "torch" not in mods  # the public API is lazy


def test_engine_never_imports_gui():
    code = (
        "import napari_n2v.core.train.trainer, napari_n2v.core.predict.prediction, napari_n2v.core.model.model_io, "
        "napari_n2v.core.io.lazy_io, napari_n2v.cli.main, napari_n2v.demo, napari_n2v._sample_data\n"
        "import napari_n2v as n; n.train; n.predict; n.load_model; n.TrainConfig"
    )
    assert not _loaded_after(code) & set(GUI)


def test_the_api_is_listed_for_tab_completion():
    import napari_n2v

    names = dir(napari_n2v)
    for name in ("train", "predict", "load_model", "PreviewEvent", "InfoEvent", "PredictEvent"):
        assert name in names
        assert getattr(napari_n2v, name) is not None
