"""A score for denoisers that see the pixel they denoise (BM3D, non-local means) when the noise is white.

Hiding pixels from such a filter (``masked_score``) breaks what it relies on: BM3D matches blocks, and
blocks with replaced pixels match worse, so the masked score ranks it below a blur that it beats by dB.
For white Gaussian noise of known variance s2, Stein's unbiased risk estimate needs no hiding:
``E|f(x) - x|^2 = E|f(x) - s|^2 + N s2 - 2 s2 E[div f(x)]``, and the divergence is estimated by one
random probe (Monte-Carlo SURE: Ramani, Blu & Unser, IEEE TIP 2008):
``div f(x) ~ b . (f(x + e b) - f(x)) / e`` with b standard normal. The per-pixel terms
``(f(x) - x)^2 + 2 s2 b (f(x + e b) - f(x)) / e`` then estimate MSE-to-clean plus s2, the same quantity
as the Noise2Self score of a blind filter, so the two rank together.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .filters import canonical, check_finite
from .score import BLOCK, Score, block_ids, score_from_blocks

#: The probe's step, as a fraction of the noise's standard deviation.
EPS_FRACTION = 0.01


def sure_score(
    denoise: Callable[[np.ndarray], np.ndarray],
    noisy: np.ndarray,
    noise_var: float,
    rng: np.random.Generator,
    *,
    axes: str | None = None,
    block: int = BLOCK,
) -> Score:
    """Monte-Carlo SURE of ``denoise`` on ``noisy`` (white noise of variance ``noise_var``), on the
    scale of :func:`self_supervised_score`: lower is better, ``mean`` estimates MSE + noise variance.
    Two calls of ``denoise``; ``axes`` and ``block`` as in ``self_supervised_score``."""
    x = np.asarray(noisy, dtype=np.float32)
    check_finite(x, "image")
    eps = EPS_FRACTION * float(np.sqrt(noise_var))
    probe = rng.standard_normal(x.shape).astype(np.float32)
    f0 = np.asarray(denoise(x), dtype=np.float64)
    f1 = np.asarray(denoise(x + eps * probe), dtype=np.float64)
    check_finite(f0, "prediction")
    check_finite(f1, "prediction")
    xc, f0c, f1c, bc = (canonical(a, axes).astype(np.float64) for a in (x, f0, f1, probe))
    terms = (f0c - xc) ** 2 + 2 * noise_var * bc * (f1c - f0c) / eps
    ids, nb = block_ids(terms.shape[0], terms.shape[2:], block)
    ids = np.broadcast_to(ids[:, None], terms.shape).ravel()
    sums = np.bincount(ids, weights=terms.ravel(), minlength=nb)
    counts = np.bincount(ids, minlength=nb).astype(np.float64)
    return score_from_blocks(sums, counts, (*xc.shape, block))
