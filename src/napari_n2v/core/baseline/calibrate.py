"""Classical baselines tuned on the noisy image alone: each filter's parameter minimises its blind score.

Gaussian and median filters are searched with their J-invariant versions (``self_supervised_score``).
Their output at the chosen parameter is, by default, the blind output blended with the noisy image,
``alpha * noisy + (1 - alpha) * blind`` with ``alpha = mse / (mse + noise_var)`` (the blend that
minimises the expected MSE, since the blind output's error is independent of the pixel's noise); the
ordinary filter (Noise2Self's recipe) or the blind output alone are options. Non-local means and BM3D
see the pixel they denoise: for white noise they are scored by Monte-Carlo SURE (``sure.sure_score``,
on the same scale), for correlated noise (a footprint) with ``masked_score``; output as they are.
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import N2VError
from . import filters as F
from .score import Score, compare, db_gap, masked_score, self_supervised_score
from .sure import sure_score

METHODS = ("gaussian", "median", "nlm", "bm3d")
OUTPUTS = ("mix", "plain", "blind")
SEARCH_PIXELS = 512 * 512  # spatial pixels per sample searched; larger images: a central crop
SEARCH_SAMPLES = 4  # S/T samples searched; the output covers all
MIN_SIDE = 32
LABELS = {
    "gaussian": "a Gaussian blur (sigma = {:.2g})",
    "median": "a median filter (size {:.0f})",
    "nlm": "non-local means (h = {:.2g} x noise sigma)",
    "bm3d": "BM3D at the noise level",
}


@dataclass(frozen=True)
class MethodResult:
    """One tuned baseline: its parameter, score, output image and the parameters tried.

    ``score`` is the blind (or masked) score at ``param``; ``output`` says what ``image`` (the input's
    shape) holds: ``'mix'`` (``alpha`` of the noisy image blended with the blind output), ``'plain'``
    (the ordinary filter), ``'blind'`` or ``'direct'`` (a filter scored by masking).
    """

    method: str
    param: float
    score: Score
    output: str
    alpha: float
    image: np.ndarray = field(repr=False, compare=False)
    tried: tuple[tuple[float, float], ...] = ()

    def label(self) -> str:
        """Plain words, e.g. ``'a Gaussian blur (sigma = 2.4)'``."""
        return LABELS[self.method].format(self.param)


@dataclass(frozen=True)
class BaselineResult:
    """All tuned baselines, the best (lowest score) and the noise variance used for dB figures."""

    results: tuple[MethodResult, ...]
    best: MethodResult
    noise_var: float

    def __getitem__(self, method: str) -> MethodResult:
        for r in self.results:
            if r.method == method:
                return r
        raise KeyError(method)

    def sentence(self, n2v_score: Score | None = None) -> str:
        """One plain sentence: how N2V (scored by ``masked_score``) compares with the best baseline."""
        name = self.best.label()
        if n2v_score is None:
            mse = max(self.best.score.mean - self.noise_var, self.noise_var / 100)
            return (
                f"The best classical baseline is {name}, about "
                f"{10 * math.log10(self.noise_var / mse):.1f} dB above the noisy image; "
                "score N2V with masked_score to compare."
            )
        verdict = compare(n2v_score, self.best.score)
        gap = db_gap(n2v_score, self.best.score, self.noise_var)
        if verdict == "a":
            by = f"by ~{gap:.1f} dB" if gap >= 0.05 else "(by under 0.1 dB)"
            return f"N2V is better {by} than the best classical baseline, {name}."
        if verdict == "b":
            head = f"{name[0].upper()}{name[1:]}"
            if -gap < 0.05:
                return f"{head} is as good as N2V (within 0.1 dB): use it, or train longer."
            return f"{head} beats N2V by ~{-gap:.1f} dB: use it, or train longer."
        return f"Too close to call: N2V and {name} score the same within the 95% interval."


def mix_weight(score: Score, noise_var: float) -> float:
    """Weight of the noisy image in the MSE-optimal blend with a blind output of this ``score``.

    ``mse = score - noise_var`` (noise_var capped at the score); ``alpha = mse / (mse + noise_var)``.
    """
    v = min(noise_var, score.mean)
    mse = score.mean - v
    return float(mse / (mse + v)) if mse + v > 0 else 0.0


def _search_region(x: np.ndarray) -> np.ndarray:
    """At most SEARCH_SAMPLES samples and a central crop of at most SEARCH_PIXELS per sample."""
    s = x.shape[0]
    take = np.unique(np.linspace(0, s - 1, min(s, SEARCH_SAMPLES)).round().astype(int))
    sp = x.shape[2:]
    f = min(1.0, (SEARCH_PIXELS / math.prod(sp)) ** (1 / len(sp)))
    crop = [max(1, math.ceil(p * f)) for p in sp]
    sl = [slice((p - c) // 2, (p - c) // 2 + c) for p, c in zip(sp, crop, strict=True)]
    at: tuple[Any, ...] = (take, slice(None), *sl)
    return x[at]


def _grid_search(
    evaluate: Callable[[float], Score | None],
    grid: list[float],
    extend: Callable[[float], float],
    refine: Sequence[float] = (),
    max_extend: int = 3,
) -> dict[float, Score]:
    """Scores over ``grid``; step past the top while it is the best (``max_extend`` times at most);
    then try the best times and divided by each factor of ``refine``. Stops where ``evaluate`` returns
    None."""
    done: dict[float, Score] = {}

    def run(p: float) -> bool:
        if p not in done:
            s = evaluate(p)
            if s is None:
                return False
            done[p] = s
        return True

    for p in grid:
        if not run(p):
            return done
    for _ in range(max_extend):
        top = max(done)
        if min(done, key=lambda q: done[q].mean) != top or not run(extend(top)):
            break
    for r in refine:
        best = min(done, key=lambda q: done[q].mean)
        if not (run(best * r) and run(best / r)):
            break
    return done


def baseline(
    image: np.ndarray,
    axes: str = "YX",
    methods: Sequence[str] = ("gaussian", "median"),
    footprint: Sequence[int] | None = None,
    rng: np.random.Generator | None = None,
    time_budget_s: float | None = None,
    noise_var: float | None = None,
    output: str = "mix",
) -> BaselineResult:
    """Tune classical denoisers on ``image`` by their self-supervised score.

    Parameters
    ----------
    image
        Noisy image laid out as ``axes`` (S, T, C, Z, Y, X), e.g. (Y, X) or (Z, Y, X).
    methods
        Any of ``'gaussian'``, ``'median'``, ``'nlm'`` (scikit-image), ``'bm3d'`` (optional package).
    footprint
        Odd box edges per spatial dim left out around each pixel, for noise correlated within it
        (e.g. (3, 3) for noise shared by direct neighbours only); None for independent noise.
    rng
        Seeds the scores of ``'nlm'`` / ``'bm3d'`` (SURE's probe, masked pixels); None: a fixed seed.
    time_budget_s
        Stop searching once this many seconds have passed (the best parameter so far is kept).
    noise_var
        Noise variance for the blend and dB figures; None estimates it (``estimate_noise_var``).
    output
        For Gaussian and median: ``'mix'`` (blend, see the module), ``'plain'`` or ``'blind'``.

    Returns
    -------
    BaselineResult
        Per method the best parameter, its score and output image; the overall best.
    """
    x = np.asarray(image)
    F.spatial_axes(x.shape, axes)  # validates axes against the shape
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise N2VError(f"unknown baseline method(s) {unknown}; choose from {', '.join(METHODS)}.")
    if output not in OUTPUTS:
        raise N2VError(f"output {output!r} is not one of {', '.join(OUTPUTS)}.")
    F.check_finite(x, "image")
    xc = F.canonical(x, axes).astype(np.float32)
    if float(xc.max()) == float(xc.min()):
        raise N2VError("the image is constant: there is no noise to remove or score.")
    if min(xc.shape[-2:]) < MIN_SIDE:
        raise N2VError(f"the image ({xc.shape[-2:]} in Y, X) is too small; give at least 32x32.")
    cax = "SCZYX" if xc.ndim == 5 else "SCYX"
    half = F.footprint_half(footprint, xc.ndim - 2)
    seed = int((np.random.default_rng(0) if rng is None else rng).integers(2**63))
    t0 = time.perf_counter()
    region = _search_region(xc)
    var = F.estimate_noise_var(region, cax, footprint) if noise_var is None else noise_var
    if not var > 0:
        raise N2VError(f"the noise variance must be positive, got {var}; pass noise_var.")
    sd = math.sqrt(var)

    def over() -> bool:
        return time_budget_s is not None and time.perf_counter() - t0 > time_budget_s

    def blind(fn: Callable[..., np.ndarray]) -> Callable[[float], Score | None]:
        def ev(p: float) -> Score | None:
            if over():
                return None
            return self_supervised_score(region, fn(region, p, cax, footprint), axes=cax)

        return ev

    def masked(
        fn: Callable[[np.ndarray, float], np.ndarray], passes: int = 2
    ) -> Callable[[float], Score | None]:
        def ev(p: float) -> Score | None:
            if over():
                return None
            r = np.random.default_rng(seed)  # the same pixels / probe for every parameter: paired
            if footprint is None:  # white noise: SURE, no hidden pixels to spoil block matching
                return sure_score(lambda m: fn(m, p), region, var, r, axes=cax)
            return masked_score(
                lambda m: fn(m, p), region, r, passes, footprint=footprint, axes=cax
            )

        return ev

    def nlm(m: np.ndarray, h: float) -> np.ndarray:
        return F.nl_means(m, h * sd, cax, sd)

    def bm3d(m: np.ndarray, f: float) -> np.ndarray:
        return F.bm3d_filter(m, f * sd, cax)

    results = []
    for method in methods:
        if method == "gaussian":
            grid = [0.5 * 2 ** (k / 2) for k in range(8)]
            grid = [s for s in grid if int(F.TRUNCATE * s + 0.5) > max(half)]
            up, refine = (lambda s: s * 2**0.5), (2**0.25, 2**0.125)
            done = _grid_search(blind(F.blind_gaussian), grid, up, refine)
        elif method == "median":
            sizes = [float(s) for s in (3, 5, 7, 9, 11) if s > 2 * max(half) + 1][:3]
            done = _grid_search(blind(F.blind_median), sizes, lambda s: s + 2, max_extend=1)
        elif method == "nlm":
            done = _grid_search(masked(nlm), [0.4, 0.6, 0.8, 1.0, 1.2], lambda h: h + 0.2)
        else:
            if importlib.util.find_spec("bm3d") is None:
                raise N2VError(
                    "the BM3D baseline needs the optional package bm3d: pip install bm3d."
                )
            # BM3D is slow: the estimated noise sigma, scored once, no search
            done = _grid_search(masked(bm3d, 1), [1.0], lambda f: f, max_extend=0)
        if not done:
            continue
        param = min(done, key=lambda q: done[q].mean)
        p: Any = int(param) if method == "median" else param
        score, alpha, kind = done[param], 0.0, "direct"
        if method in ("nlm", "bm3d"):
            out = (nlm if method == "nlm" else bm3d)(xc, param)
        else:
            crop = region.shape != xc.shape
            bf = F.blind_gaussian if method == "gaussian" else F.blind_median
            b = bf(xc, p, cax, footprint) if crop or output != "plain" else xc
            if crop:  # score the whole image, so that it pairs with a whole-image N2V score
                score = self_supervised_score(xc, b, axes=cax)
            if output == "plain":
                out, kind = (
                    (F.gaussian if method == "gaussian" else F.median)(xc, p, cax),
                    output,
                )
            else:
                alpha = mix_weight(score, var) if output == "mix" else 0.0
                out, kind = alpha * xc + (1 - alpha) * b, output
        tried = tuple(sorted((p, s.mean) for p, s in done.items()))
        img = F.from_canonical(out, axes, x.shape)
        results.append(MethodResult(method, param, score, kind, alpha, img, tried))
    if not results:
        raise N2VError("the time budget ran out before any baseline was scored; give it more time.")
    best = min(results, key=lambda r: r.score.mean)
    return BaselineResult(tuple(results), best, float(var))
