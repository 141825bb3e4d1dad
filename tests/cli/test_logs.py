"""The command line in a log (issue 22): no bars or cursor codes off a terminal, greppable ``failed:`` lines,
start and summary lines outside the bars, suffixes, pictures, hyperstacks and export without a sample."""

import io
import itertools
from pathlib import Path

import numpy as np
import tifffile

from napari_n2v.batch.jobs import FileEvent, Job, TileEvent
from napari_n2v.cli.main import main
from napari_n2v.cli.progress import BatchProgress
from napari_n2v.core import progress as progress_mod
from napari_n2v.core.config import MAX_STEPS
from napari_n2v.core.events import InfoEvent, TrainEvent
from napari_n2v.core.model.model_io import load_model
from napari_n2v.core.progress import TrainProgress

from .conftest import FAST


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _step(step: int, elapsed: float = 1.0) -> TrainEvent:
    return TrainEvent(step, 20, 1, 0.5, None, None, 1e-3, 100.0, 3.0, elapsed)


def test_a_log_has_lines_not_bars_and_greppable_failures(trained, tmp_path, capsys):
    image, model = trained
    capsys.readouterr()
    argv = ["train", str(image), "--out", str(tmp_path / "n.n2v.safetensors"), *FAST]
    assert main(argv) == 0  # capsys's stderr is no terminal: a log
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    lines = err.splitlines()
    assert lines[0].startswith("training on ") and lines[-1].startswith("done in")
    steps = [line for line in lines if line.startswith("step ")]
    assert steps[0].startswith("step 1/3 loss=") and steps[-1].startswith("step 3/3 loss=")
    after = lines[lines.index(steps[-1]) + 1 :]  # the last state, then the verdict, then "done in"
    assert after[0].startswith("compared with classical filters: ")
    assert any(line.startswith("blind spot ") for line in lines[: lines.index(steps[0])])
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff")
    argv = ["predict", str(model), str(image), str(bad), "--out-dir", str(tmp_path / "out")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    failed = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and "bad.tif" in failed[0]
    assert err.splitlines()[-1].startswith("2 input(s): 1 denoised")  # the summary, last


def test_quiet_shows_no_progress(trained, tmp_path, capsys):
    image, model = trained
    capsys.readouterr()
    argv = ["predict", str(model), str(image), "--out", str(tmp_path / "o.tif"), "--quiet"]
    assert main(argv) == 0
    assert "tile" not in capsys.readouterr().err
    argv = ["train", str(image), "--out", str(tmp_path / "q"), "--quiet", *FAST]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "step" not in err and "training on" in err
    assert (tmp_path / "q.n2v.safetensors").exists() and "note: writing" in err


def test_plain_lines_come_every_few_seconds(monkeypatch):
    out = io.StringIO()
    with TrainProgress(20, mode="lines", stream=out) as bar:
        for s in range(1, 6):
            bar.update(_step(s))
    assert [line.split()[1] for line in out.getvalue().splitlines()] == ["1/20", "5/20"]
    monkeypatch.setattr(progress_mod, "LINE_EVERY_S", 0.0)
    out = io.StringIO()
    with TrainProgress(20, mode="lines", stream=out) as bar:
        for s in range(1, 6):
            bar.update(_step(s))
    assert len(out.getvalue().splitlines()) == 5


def test_on_a_terminal_the_start_line_comes_before_the_bar_and_seconds_read_well():
    term = Terminal()
    with TrainProgress(MAX_STEPS, 20.0, stream=term) as bar:
        assert bar.display.mode == "bar"
        bar.update(InfoEvent("training on CPU"))
        bar.update(_step(24, elapsed=12.0))
    text = term.getvalue()
    assert text.startswith("training on CPU\n")
    assert "12/20 s, step=24, loss=0.5000" in text and "[, " not in text


def test_each_file_has_its_own_tile_bar():
    term = Terminal()
    jobs = [Job(Path(f"f{i}.tif"), Path(f"o{i}.tif")) for i in range(2)]
    bar = BatchProgress(2, "bar", term)
    bar.update(FileEvent(0, 2, jobs[0], "started"))
    bar.update(TileEvent(0, 1, 2))
    clock = itertools.count(bar.tiles.start_t + 1)
    bar.tiles._time = lambda: float(next(clock))  # tqdm's clock, so that time moves on its own
    bar.update(TileEvent(0, 2, 2))
    bar.update(FileEvent(0, 2, jobs[0], "ok"))
    first = bar.tiles.start_t
    bar.update(FileEvent(1, 2, jobs[1], "started"))
    bar.update(TileEvent(1, 1, 2))
    assert bar.tiles.n == 1 and bar.tiles.start_t > first  # the count and elapsed time restart
    bar.update(FileEvent(1, 2, jobs[1], "failed", "broken"))
    bar.close()
    assert "failed: f1.tif: broken" in term.getvalue()


def test_a_model_suffix_is_refused_or_added(trained, tmp_path, capsys):
    image, _ = trained
    capsys.readouterr()
    assert main(["train", str(image), "--out", str(tmp_path / "m.pt"), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "m.n2v.safetensors" in err and not (tmp_path / "m.pt").exists()


def test_png_in_tiff_out_and_an_rgb_png_says_what_to_change(trained, tmp_path, capsys):
    import imageio.v3 as iio

    image, model = trained
    grey = np.clip(tifffile.imread(image) / 8, 0, 255).astype(np.uint8)
    iio.imwrite(tmp_path / "g.png", grey)
    assert main(["predict", str(model), str(tmp_path / "g.png"), "--out-dir", str(tmp_path)]) == 0
    assert tifffile.imread(tmp_path / "g_n2v.tif").shape == (48, 48)
    rgb = np.stack([grey, grey[::-1], grey.T], axis=-1)
    iio.imwrite(tmp_path / "c.png", rgb)
    capsys.readouterr()
    assert (
        main(["predict", str(model), str(tmp_path / "c.png"), "--out", str(tmp_path / "c.tif")])
        == 2
    )
    err = capsys.readouterr().err
    assert "'YXC'" in err and "as 'C'" not in err


def test_a_z_stack_comes_back_as_an_imagej_hyperstack_with_its_spacing(trained, tmp_path):
    _, model = trained
    rng = np.random.default_rng(1)
    stack = rng.normal(500, 50, (4, 40, 40)).astype(np.float32)
    src = tmp_path / "z.tif"
    meta = {"axes": "ZYX", "spacing": 2.5, "unit": "um"}
    tifffile.imwrite(src, stack, imagej=True, metadata=meta, resolution=(5.0, 5.0))
    out = tmp_path / "z_n2v.tif"
    assert main(["predict", str(model), str(src), "--out", str(out)]) == 0
    with tifffile.TiffFile(out) as tif:
        assert tif.is_imagej and tif.series[0].axes == "ZYX"
        assert tif.imagej_metadata["spacing"] == 2.5 and tif.imagej_metadata["unit"] == "um"


def test_export_needs_no_sample_and_takes_any_name(trained, tmp_path, capsys):
    _, model = trained
    pkg = tmp_path / "n2v.zip"
    argv = ["export", str(model), str(pkg), "--name", "Confocal_FISH_1 (2D, 28 steps)"]
    assert main([*argv, "--authors", "Ada L"]) == 0
    err = capsys.readouterr().err
    assert "'Confocal_FISH_1 (2D 28 steps)'" in err and "crop of the training data" in err
    assert load_model(pkg).sample is not None
