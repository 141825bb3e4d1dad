import math

import numpy as np
import pytest
import torch

from napari_n2v.core.model.unet import UNet
from napari_n2v.core.train.masking import Masker, grid_shape, masked_mse, stratified_coords


def _unique_batch(b, c, patch):
    n = b * c * math.prod(patch)
    return (
        torch.randperm(n, generator=torch.Generator().manual_seed(0)).float().reshape(b, c, *patch)
    )


@pytest.mark.parametrize(
    ("patch", "n"), [((64, 64), 8), ((32, 32), 64), ((8, 32, 32), 16), ((17, 23), 5)]
)
def test_stratified_exactly_n_one_per_cell(patch, n):
    gen = torch.Generator().manual_seed(1)
    coords = stratified_coords(50, patch, n, gen, torch.device("cpu"), shift=False)
    assert coords.shape == (50, n, len(patch))
    assert (coords >= 0).all() and (coords < torch.tensor(patch)).all()
    g = grid_shape(patch, n)
    bounds = [
        np.floor(np.arange(gd + 1) * p / gd).astype(int) for gd, p in zip(g, patch, strict=True)
    ]
    for row in coords.numpy():  # one position in each of n distinct cells
        cells = {
            tuple(
                int(np.searchsorted(b, v, side="right") - 1)
                for b, v in zip(bounds, pos, strict=True)
            )
            for pos in row
        }
        assert len(cells) == n
    shifted = stratified_coords(50, patch, n, gen, torch.device("cpu"))
    flat = [{tuple(p) for p in row.tolist()} for row in shifted]
    assert all(len(s) == n for s in flat)  # still n distinct pixels after the cyclic shift


def test_stratified_positions_uniform():
    patch, n, draws = (16, 16), 4, 4000
    gen = torch.Generator().manual_seed(2)
    coords = stratified_coords(draws, patch, n, gen, torch.device("cpu"))
    counts = np.bincount((coords[..., 0] * 16 + coords[..., 1]).flatten().numpy(), minlength=256)
    expected = draws * n / 256
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 256 + 5 * math.sqrt(2 * 256)  # chi-square with 255 dof, ~5 sigma bound
    assert counts.min() > 0


@pytest.mark.parametrize("strategy", ["uniform", "median"])
@pytest.mark.parametrize("patch", [(32, 32), (8, 16, 16)])
def test_blind_spot_never_carries_its_own_value(strategy, patch):
    x = _unique_batch(
        16, 2, patch
    )  # every value unique: a replaced value reveals where it came from
    masker = Masker(patch, 10, strategy=strategy, radius=3)
    res = masker(x, torch.Generator().manual_seed(3))
    b, n, _ = res.coords.shape
    for i in range(b):
        for j in range(n):
            idx = tuple(res.coords[i, j].tolist())
            for c in range(2):
                assert res.masked[(i, c, *idx)] != x[(i, c, *idx)]
                assert res.targets[i, c, j] == x[(i, c, *idx)]
                # the original value does not reach the input anywhere (no copy by another mask)
                assert not (res.masked[i] == x[(i, c, *idx)]).any()
    changed = (res.masked != x).sum().item()
    assert changed <= b * n * 2  # only the masked pixels change


def test_uniform_replacement_comes_from_the_neighbourhood():
    patch = (32, 32)
    x = _unique_batch(8, 1, patch)
    res = Masker(patch, 16, radius=2)(x, torch.Generator().manual_seed(4))
    for i in range(8):
        for j in range(16):
            y, xx = res.coords[i, j].tolist()
            src = (x[i, 0] == res.masked[i, 0, y, xx]).nonzero()[0].tolist()
            assert src != [y, xx]
            assert max(abs(src[0] - y), abs(src[1] - xx)) <= 2


@pytest.mark.parametrize("seed", range(8))
def test_struct_mask_overwrites_the_line_and_keeps_centre_off_it(seed):
    # Several seeds: a line pixel drawing its own value (about 1 in 1000 per pixel) once slipped by.
    patch = (32, 32)
    x = _unique_batch(8, 1, patch)
    res = Masker(patch, 4, radius=2, half=(0, 2))(x, torch.Generator().manual_seed(seed))
    for i in range(8):
        for j in range(4):
            y, xx = res.coords[i, j].tolist()
            src = (x[i, 0] == res.masked[i, 0, y, xx]).nonzero()[0].tolist()
            assert src[0] != y  # the centre's replacement is never on the masked row
            for dx in (-2, -1, 1, 2):
                if 0 <= xx + dx < 32:
                    assert res.masked[i, 0, y, xx + dx] != x[i, 0, y, xx + dx]


def test_loss_does_not_depend_on_the_masked_pixels_own_value():
    torch.manual_seed(0)
    net = UNet(2, 1, depth=2, n_filters=8).eval()
    patch = (32, 32)
    x = torch.randn(4, 1, *patch)
    masker = Masker(patch, 6)
    res = masker(x, torch.Generator().manual_seed(6))
    x2 = x.clone()
    for i in range(4):
        for j in range(6):
            x2[(i, 0, *res.coords[i, j].tolist())] += (
                100.0  # change the original values at masked pixels
            )
    res2 = masker(x2, torch.Generator().manual_seed(6))  # same masks
    assert torch.equal(res.coords, res2.coords)
    assert torch.equal(res.masked, res2.masked)  # the network input is identical
    with torch.no_grad():
        p1, p2 = net(res.masked), net(res2.masked)
    assert torch.equal(p1, p2)
    # only the target moved: the loss compares the prediction with the (noisy) original value
    assert masked_mse(p2, res2.coords, res2.targets) > masked_mse(p1, res.coords, res.targets)


def test_masked_mse_only_looks_at_masked_pixels():
    pred = torch.zeros(1, 1, 8, 8)
    coords = torch.tensor([[[1, 1], [5, 6]]])
    targets = torch.tensor([[[1.0, 3.0]]])
    pred[0, 0, 0, 0] = 1000.0  # an unmasked pixel: ignored
    assert masked_mse(pred, coords, targets).item() == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("patch", "half"), [((32, 32), (1, 1)), ((32, 32), (2, 2)), ((8, 16, 16), (1, 1, 1))]
)
def test_box_blind_spot_hides_the_whole_box_and_draws_the_centre_from_outside(patch, half):
    """For correlated noise: no pixel of the box around a masked pixel keeps its value, and the centre's
    replacement comes from outside the box (its noise is independent of the centre's)."""
    x = _unique_batch(4, 1, patch)
    res = Masker(patch, 3, radius=3, half=half)(x, torch.Generator().manual_seed(0))
    box = [torch.arange(-h, h + 1) for h in half]
    offs = torch.stack(torch.meshgrid(*box, indexing="ij"), dim=-1).reshape(-1, len(patch))
    for i in range(4):
        for c in res.coords[i]:
            src = (x[i, 0] == res.masked[i, 0][tuple(c)]).nonzero()
            if len(src):  # (0 when the source was itself masked and zeroed)
                assert ((src[0] - c).abs() > torch.tensor(half)).any()
            for o in offs:
                q = c + o
                if ((q >= 0) & (q < torch.tensor(patch))).all():
                    assert res.masked[i, 0][tuple(q)] != x[i, 0][tuple(q)]


def test_a_blind_spot_wider_than_the_patch_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        Masker((8, 8), 2, half=(4, 4))
