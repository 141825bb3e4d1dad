"""``napari-n2v train | predict | export | inspect | baseline | demo``: the engine from the command line.

User mistakes print one line (``error: ...``) and exit with status 2; nothing existing is overwritten
unless ``--overwrite`` is given. Each command lives in its own module beside this one, their arguments in
``args.py``; this module holds the parser and ``main``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from napari_n2v.core.errors import N2VError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says what to change (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from napari_n2v import __version__
    from napari_n2v.cli import args, baseline, inspect
    from napari_n2v.cli.export import run_export
    from napari_n2v.cli.predict import run_predict
    from napari_n2v.cli.train import run_train

    p = _Parser(prog="napari-n2v", description="Noise2Void denoising (self-supervised).")
    p.add_argument("--version", action="version", version=f"napari-n2v {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a model on a noisy image and save it")
    args.train_args(t)
    t.set_defaults(func=run_train)

    q = sub.add_parser("predict", help="denoise an image with a trained model")
    args.predict_args(q)
    q.set_defaults(func=run_predict)

    e = sub.add_parser("export", help="write a BioImage Model Zoo package (Fiji, QuPath, ...)")
    args.export_args(e)
    e.set_defaults(func=run_export)

    i = sub.add_parser("inspect", help="analyse the noise: white or correlated, and the blind spot")
    inspect.add_args(i)
    i.set_defaults(func=inspect.run_inspect)

    b = sub.add_parser(
        "baseline",
        help="tune classical filters (Gaussian, median, ...) on the image, no clean image",
    )
    baseline.add_args(b)
    b.set_defaults(func=baseline.run_baseline)

    d = sub.add_parser("demo", help="noisy nuclei sample -> train -> denoise -> TIFF, PNG and PSNR")
    d.add_argument("--out", default="demo_output", help="folder for the results")
    d.add_argument("--kind", choices=["2d", "3d", "both"], default="both")
    d.add_argument("--steps", type=int, help="training steps (default: a CPU-sized time budget)")
    args.machine_args(d)
    d.add_argument("--overwrite", action="store_true", help="replace earlier results")
    d.set_defaults(func=_demo)
    return p


def _demo(args: argparse.Namespace) -> int:
    from napari_n2v.demo import run_demo

    run_demo(Path(args.out), args.kind, args.steps, args.device, args.overwrite, args.precision)
    return 0


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` as one line on stderr (no source line)."""
    print(f"warning: {message}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        code = args.func(args) or 0
    except N2VError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a read-only folder... met outside the output writers
        from napari_n2v.core.io.atomic import USER_ERRNOS, describe_os_error

        if err.errno not in USER_ERRNOS:
            raise
        print(f"error: {describe_os_error(err, err.filename or 'a file')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = shown
    if code == 0 and os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 alone reports
        print(f"done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
