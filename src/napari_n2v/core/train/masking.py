"""Blind-spot masking, the heart of Noise2Void. Vectorised torch, runs on the training device.

For each patch, N pixels are drawn by stratified sampling (one per grid cell, so they never cluster); each
is replaced by the value of a random neighbour (``uniform``, never the pixel itself) or by the median of its
neighbourhood without the centre (``median``, N2V2). A blind spot larger than one pixel (a box such as
3x3 for spatially correlated camera noise, or a line such as 1x5: structN2V) additionally overwrites every
other pixel of the box around each masked pixel with values from random positions of the patch, and draws
the centre's replacement from outside the box (the noise inside it is correlated with the centre's). The
loss is then taken at the N pixels only, against their original values.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch


def grid_shape(patch: Sequence[int], n: int) -> tuple[int, ...]:
    """A grid with at least ``n`` cells, cells as close to cubic as the patch allows."""
    total = math.prod(patch)
    if n > total:
        raise ValueError(f"cannot mask {n} pixels in a patch of {total}")
    ratio = (n / total) ** (1 / len(patch))
    g = [min(p, max(1, round(p * ratio))) for p in patch]
    while math.prod(g) < n:  # grow the dimension whose cells are largest
        d = max((i for i in range(len(g)) if g[i] < patch[i]), key=lambda i: patch[i] / g[i])
        g[d] += 1
    return tuple(g)


def _unravel(flat: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Flat indices (...) -> multi-indices (..., D) in C order."""
    out = []
    for s in reversed(shape):
        out.append(flat % s)
        flat = torch.div(flat, s, rounding_mode="floor")
    return torch.stack(out[::-1], dim=-1)


def _ravel(idx: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Multi-indices (..., D) -> flat indices (...) in C order."""
    flat = idx[..., 0]
    for d in range(1, len(shape)):
        flat = flat * shape[d] + idx[..., d]
    return flat


@functools.lru_cache(maxsize=64)
def _const(values: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """A small constant index tensor on ``device``, made once: no host-to-device copy per step (which
    would also stop the step from being captured in a CUDA graph)."""
    return torch.tensor(values, device=device)


def stratified_coords(
    batch: int,
    patch: Sequence[int],
    n: int,
    generator: torch.Generator,
    device: torch.device,
    shift: bool = True,
) -> torch.Tensor:
    """``n`` distinct grid cells per patch, one uniform position in each.  Returns (B, N, D) int64.

    Cells have integer bounds ``[floor(i*P/g), floor((i+1)*P/g))``, so the N positions are always
    distinct. With ``shift`` the whole grid is rolled by a random cyclic offset per patch, which makes
    every pixel exactly equally likely across draws even when ``g`` does not divide ``P``.
    """
    g = grid_shape(patch, n)
    cells = torch.rand(batch, math.prod(g), generator=generator, device=device).argsort(dim=1)[
        :, :n
    ]
    cell_idx = _unravel(cells, g)  # (B, N, D)
    p = _const(tuple(patch), device)
    gt = _const(g, device)
    lo = torch.div(cell_idx * p, gt, rounding_mode="floor")
    hi = torch.div((cell_idx + 1) * p, gt, rounding_mode="floor")
    u = torch.rand(batch, n, len(patch), generator=generator, device=device)
    coords = lo + (u * (hi - lo)).long()
    if shift:
        off = (torch.rand(batch, 1, len(patch), generator=generator, device=device) * p).long()
        coords = (coords + off) % p
    return coords


def allowed_offsets(
    radius: Sequence[int], half: Sequence[int] | None = None, device: torch.device | None = None
) -> torch.Tensor:
    """All neighbour offsets in the box ``[-r, r]`` per dim outside the blind spot: without the centre,
    and without the box of half-widths ``half`` around it (None: the centre alone; a line, i.e. one
    nonzero half-width, excludes the whole line through the centre). Returns (K, D)."""
    grids = torch.meshgrid(*[torch.arange(-r, r + 1) for r in radius], indexing="ij")
    off = torch.stack([g.reshape(-1) for g in grids], dim=-1)
    inner = torch.tensor(list(half) if half is not None else [0] * len(radius))
    if (
        int((inner > 0).sum()) == 1
    ):  # a line (structN2V): its noise runs the whole line, skip all of it
        inner = torch.where(inner > 0, torch.tensor(max(radius)), inner)
    keep = (off.abs() > inner).any(dim=-1)
    return off[keep].to(device)


def box_offsets(half: Sequence[int]) -> torch.Tensor:
    """The offsets of the box of half-widths ``half`` without its centre. Returns (L, D) int64."""
    grids = torch.meshgrid(*[torch.arange(-h, h + 1) for h in half], indexing="ij")
    off = torch.stack([g.reshape(-1) for g in grids], dim=-1)
    return off[(off != 0).any(dim=-1)]


def line_half(n_dim: int, struct_dim: int | None, struct_span: int) -> tuple[int, ...] | None:
    """structN2V's line as a blind-spot box: ``struct_span`` each side along ``struct_dim``."""
    if struct_dim is None:
        return None
    return tuple(struct_span if d == struct_dim else 0 for d in range(n_dim))


def _fold_into_patch(pos: torch.Tensor, centre: torch.Tensor, patch: torch.Tensor) -> torch.Tensor:
    """Reflect out-of-patch neighbours through the centre, then clamp. With radius <= patch-1 per dim
    this never lands on the centre (each offset's nonzero components stay nonzero)."""
    out = (pos < 0) | (pos >= patch)
    pos = torch.where(out, 2 * centre - pos, pos)
    return torch.minimum(pos.clamp(min=0), patch - 1)


def _gather(x: torch.Tensor, lin: torch.Tensor) -> torch.Tensor:
    """x (B, C, *P), lin (B, ...) flat spatial indices -> (B, C, ...)."""
    b, c = x.shape[:2]
    flat = x.reshape(b, c, -1)
    idx = lin.reshape(b, 1, -1).expand(b, c, -1)
    return flat.gather(2, idx).reshape(b, c, *lin.shape[1:])


@dataclass
class MaskResult:
    masked: torch.Tensor  # (B, C, *P) network input
    coords: torch.Tensor  # (B, N, D) masked positions
    targets: torch.Tensor  # (B, C, N) original values there


class Masker:
    """Applies N2V masking to batches of patches of one shape.

    Parameters
    ----------
    patch
        Spatial patch shape.
    n_masked
        Masked pixels per patch.
    strategy
        ``'uniform'`` (random neighbour, never itself) or ``'median'`` (N2V2).
    radius
        Neighbourhood radius (clipped to ``patch - 1`` per dimension); grown past the blind spot.
    half
        Half-widths of the blind-spot box per spatial dim (``(1, 1)`` for 3x3, ``(0, 2)`` for a 1x5
        line along X), or None for the one-pixel blind spot.
    """

    def __init__(
        self,
        patch: Sequence[int],
        n_masked: int,
        strategy: str = "uniform",
        radius: int = 5,
        half: Sequence[int] | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.patch = tuple(int(p) for p in patch)
        self.n = int(n_masked)
        self.strategy = strategy
        self.device = torch.device(device)
        self.half = tuple(int(h) for h in half) if half is not None and any(half) else None
        inner = self.half or (0,) * len(self.patch)
        if any(2 * h + 1 >= p for h, p in zip(inner, self.patch, strict=True)):
            raise ValueError(
                f"a blind spot of half-widths {inner} does not fit a {self.patch} patch"
            )
        rad = [min(max(radius, h + 1), p - 1) for h, p in zip(inner, self.patch, strict=True)]
        self.offsets = allowed_offsets(rad, self.half, self.device)  # (K, D)
        self._patch_t = torch.tensor(self.patch, device=self.device)
        if self.half is not None:
            self._box = box_offsets(self.half).to(self.device)  # (L, D)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> MaskResult:
        """Mask a batch ``x`` of shape (B, C, *patch)."""
        b = x.shape[0]
        coords = stratified_coords(b, self.patch, self.n, generator, self.device)  # (B, N, D)
        centre_lin = _ravel(coords, self.patch)  # (B, N)
        targets = _gather(x, centre_lin)  # (B, C, N)
        n_px = math.prod(self.patch)
        # No masked pixel's original value may reach the input anywhere (it would leak through the
        # neighbour that copies it): sources at masked positions are redrawn, or else set to 0 (the mean).
        is_masked = torch.zeros(b, n_px, dtype=torch.bool, device=self.device)
        is_masked.scatter_(1, centre_lin, True)
        k = self.offsets.shape[0]
        if self.strategy == "median":
            pos = coords[:, :, None, :] + self.offsets[None, None]  # (B, N, K, D)
            lin = _ravel(_fold_into_patch(pos, coords[:, :, None, :], self._patch_t), self.patch)
            vals = _gather(x, lin)  # (B, C, N, K)
            bad = is_masked.gather(1, lin.reshape(b, -1)).reshape(lin.shape)
            vals = vals.masked_fill(bad[:, None], float("nan"))
            values = vals.nanmedian(dim=-1).values.nan_to_num(0.0)  # (B, C, N)
        else:
            pick = torch.randint(0, k, (b, self.n), generator=generator, device=self.device)
            lin = _ravel(
                _fold_into_patch(coords + self.offsets[pick], coords, self._patch_t), self.patch
            )
            for _ in range(3):  # fixed rounds, no early exit: `bad.any()` would stall a GPU
                bad = is_masked.gather(1, lin)
                pick = torch.randint(0, k, (b, self.n), generator=generator, device=self.device)
                alt = _ravel(
                    _fold_into_patch(coords + self.offsets[pick], coords, self._patch_t), self.patch
                )
                lin = torch.where(bad, alt, lin)
            values = _gather(x, lin).masked_fill(
                is_masked.gather(1, lin)[:, None], 0.0
            )  # (B, C, N)
        c = x.shape[1]
        flat = x.reshape(b, c, -1).clone()
        if self.half is not None:
            flat = self._blind_box(flat, x, coords, generator, is_masked)
        flat.scatter_(2, centre_lin[:, None, :].expand(b, c, -1), values)
        return MaskResult(flat.reshape(x.shape), coords, targets)

    def _blind_box(
        self,
        flat: torch.Tensor,
        x: torch.Tensor,
        coords: torch.Tensor,
        generator: torch.Generator,
        is_masked: torch.Tensor,
    ) -> torch.Tensor:
        """Overwrite the blind-spot box around each masked pixel with values from random positions."""
        half = self.half
        assert half is not None
        b, c, n_px = flat.shape
        pos = coords[:, :, None, :] + self._box[None, None]  # (B, N, L, D)
        valid = ((pos >= 0) & (pos < self._patch_t)).all(dim=-1)  # (B, N, L)
        lin = torch.where(
            valid, _ravel(pos.clamp(min=0), self.patch), n_px
        )  # invalid -> spare slot
        # Random sources, never inside the box (a box pixel could otherwise keep its own value, or take
        # another that carries the same correlated noise): outside it along the axis with most room.
        src_pos = torch.stack(
            [
                torch.randint(0, p, lin.shape, generator=generator, device=self.device)
                for p in self.patch
            ],
            dim=-1,
        )  # (B, N, L, D)
        d0 = max(range(len(self.patch)), key=lambda d: self.patch[d] - 2 * half[d])
        p0, h0 = self.patch[d0], half[d0]
        shift = torch.randint(h0 + 1, p0 - h0, lin.shape, generator=generator, device=self.device)
        src_pos[..., d0] = (coords[:, :, None, d0] + shift) % p0
        src = _ravel(src_pos, self.patch)
        vals = _gather(x, src).masked_fill(
            is_masked.gather(1, src.reshape(b, -1)).reshape(src.shape)[:, None], 0.0
        )
        vals = vals.reshape(b, c, -1)
        padded = torch.cat([flat, flat.new_zeros(b, c, 1)], dim=2)
        padded.scatter_(2, lin.reshape(b, 1, -1).expand(b, c, -1), vals)
        return padded[:, :, :n_px]


def masked_mse(pred: torch.Tensor, coords: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error between ``pred`` (B, C, *P) at ``coords`` (B, N, D) and ``targets`` (B, C, N)."""
    patch = pred.shape[2:]
    values = _gather(pred, _ravel(coords, patch))
    return torch.mean((values.float() - targets.float()) ** 2)
