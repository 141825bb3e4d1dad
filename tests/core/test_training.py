import numpy as np
import pytest

from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.predict.prediction import predict
from napari_n2v.core.progress import drain as run_to_end
from napari_n2v.core.train.trainer import InfoEvent, PreviewEvent, Trainer, TrainEvent, train

from ..conftest import blobs, psnr

TINY = dict(batch_size=4, n_filters=8, val_patches=4, steps_per_epoch=5, seed=0)
FP32 = PredictConfig(device="cpu", precision="fp32")


def drain(trainer):
    events = []
    return run_to_end(trainer.run(), events.append), events


def test_training_denoises_2d():
    clean = blobs((96, 96), n=25, seed=1) * 200 + 50
    noisy = (clean + np.random.default_rng(0).normal(0, 40, clean.shape)).astype(np.float32)
    cfg = TrainConfig(
        axes="YX",
        steps=100,
        patch_size=(32, 32),
        masked_pixels=16,  # 1.6%, as in the N2V paper (64 per 64x64): far more signal per step
        batch_size=8,
        n_filters=8,
        learning_rate=2e-3,
        steps_per_epoch=25,
        seed=0,
    )
    model = train(noisy, cfg)
    den = predict(model, noisy, "YX", FP32)
    gain = psnr(den, clean) - psnr(noisy, clean)
    assert gain >= 5.0, f"PSNR gain only {gain:.2f} dB"


def test_training_denoises_3d():
    clean = blobs((16, 48, 48), n=20, seed=2) * 200 + 50
    noisy = (clean + np.random.default_rng(1).normal(0, 40, clean.shape)).astype(np.float32)
    cfg = TrainConfig(
        axes="ZYX",
        steps=100,
        patch_size=(8, 32, 32),
        batch_size=4,
        n_filters=8,
        learning_rate=2e-3,
        steps_per_epoch=25,
        seed=0,
    )
    model = train(noisy, cfg)
    den = predict(model, noisy, "ZYX", FP32)
    gain = psnr(den, clean) - psnr(noisy, clean)
    assert gain >= 5.0, f"PSNR gain only {gain:.2f} dB"


def test_pure_noise_does_not_learn_the_identity():
    noise = np.random.default_rng(3).normal(100, 10, (96, 96)).astype(np.float32)
    cfg = TrainConfig(
        axes="YX",
        steps=100,
        patch_size=(32, 32),
        masked_pixels=16,
        batch_size=8,
        n_filters=8,
        learning_rate=2e-3,
        steps_per_epoch=25,
        seed=0,
    )
    model = train(noise, cfg)
    pred = predict(model, noise, "YX", FP32)
    # An identity would reproduce the noise; a blind-spot net can only predict ~the mean.
    corr = np.corrcoef(pred.ravel(), noise.ravel())[0, 1]
    assert abs(corr) < 0.3, corr
    assert pred.std() < 0.35 * noise.std()


def test_events_stop_and_best_model():
    img = (blobs((64, 64)) * 100 + np.random.default_rng(0).normal(0, 5, (64, 64))).astype(
        np.float32
    )
    tr = Trainer(img, TrainConfig(axes="YX", steps=1000, patch_size=(16, 16), **TINY))
    gen = tr.run()
    steps = []
    for ev in gen:
        if isinstance(ev, TrainEvent):
            steps.append(ev)
            if ev.step == 7:
                tr.stop()
    # generator finished early; a model exists and it validated what it had
    assert steps[-1].step == 7 and steps[-1].total_steps == 1000
    assert steps[4].val_loss is not None and steps[0].val_loss is None
    best = tr.best_model
    assert best is not None and best.steps_trained == 7
    assert [h["step"] for h in best.history] == [5, 7]
    assert predict(best, img, "YX", FP32).shape == img.shape


def test_lagged_loss_readout_reports_the_same_steps():
    """The GPU mode (each loss read two steps late) gives the same events, losses and kept models
    as reading at once; a stop then ends two steps later. Forced on the CPU here."""
    img = (blobs((64, 64)) * 100 + np.random.default_rng(0).normal(0, 5, (64, 64))).astype(
        np.float32
    )
    cfg = TrainConfig(axes="YX", steps=12, patch_size=(16, 16), **TINY)

    def events(lag: int, stop_at: int | None = None) -> tuple[list, Trainer]:
        tr = Trainer(img, cfg)
        tr.lag = lag
        out = []
        for ev in tr.run():
            if isinstance(ev, TrainEvent):
                out.append(ev)
                if ev.step == stop_at:
                    tr.stop()
        return out, tr

    now, _ = events(0)
    late, tr_late = events(2)
    assert [e.step for e in late] == list(range(1, 13))
    assert [e.train_loss for e in late] == pytest.approx([e.train_loss for e in now], rel=1e-5)
    assert [e.step for e in late if e.val_loss is not None] == [5, 10, 12]
    vals = [(e.val_loss, f.val_loss) for e, f in zip(late, now, strict=True) if e.val_loss]
    assert [a for a, _ in vals] == pytest.approx([b for _, b in vals], rel=1e-5)
    assert [h["step"] for h in tr_late.best_model.history] == [5, 10, 12]
    stopped, tr = events(2, stop_at=6)
    assert [e.step for e in stopped] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert tr.best_model.steps_trained == 8
    assert [h["step"] for h in tr.best_model.history] == [5, 8]


def test_abort_at_yield_keeps_best_model():
    img = (blobs((64, 64)) * 100).astype(np.float32) + 1
    tr = Trainer(img, TrainConfig(axes="YX", steps=100, patch_size=(16, 16), **TINY))
    gen = tr.run()
    for ev in gen:
        if isinstance(ev, TrainEvent) and ev.step == 6:
            gen.close()  # what worker.quit() does
            break
    assert tr.best_model is not None


def test_preview_and_info_events():
    img = (blobs((64, 64)) * 100 + np.random.default_rng(0).normal(0, 5, (64, 64))).astype(
        np.float32
    )
    tr = Trainer(img, TrainConfig(axes="YX", steps=4, patch_size=(16, 16), **TINY))
    gen = tr.run()
    tr.request_preview(img[:40, :50], "YX")
    _, events = drain_gen(gen)
    previews = [e for e in events if isinstance(e, PreviewEvent)]
    assert len(previews) == 1 and previews[0].image.shape == (40, 50)
    assert any(isinstance(e, InfoEvent) and "CPU" in e.message for e in events)


def drain_gen(gen):
    events = []
    return run_to_end(gen, events.append), events


def test_continue_training_keeps_architecture_and_counts_steps():
    img = (blobs((64, 64)) * 100 + np.random.default_rng(0).normal(0, 5, (64, 64))).astype(
        np.float32
    )
    first = train(img, TrainConfig(axes="YX", steps=5, patch_size=(16, 16), **TINY))
    again = train(
        img,
        TrainConfig(
            axes="YX",
            steps=5,
            patch_size=(16, 16),
            n_filters=32,
            seed=1,
            batch_size=4,
            val_patches=4,
        ),
        model=first,
    )
    assert again.config.n_filters == 8 and again.steps_trained == 10
    np.testing.assert_array_equal(again.mean, first.mean)


def test_seeded_runs_are_reproducible():
    img = (blobs((64, 64)) * 100 + np.random.default_rng(0).normal(0, 5, (64, 64))).astype(
        np.float32
    )
    cfg = TrainConfig(axes="YX", steps=6, patch_size=(16, 16), precision="fp32", **TINY)
    a, b = train(img, cfg), train(img, cfg)
    np.testing.assert_array_equal(predict(a, img, "YX", FP32), predict(b, img, "YX", FP32))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float64, np.float32])
def test_integer_and_float_dtypes_accepted(dtype):
    img = (blobs((48, 48)) * 200 + 20).astype(dtype)
    model = train(img, TrainConfig(axes="YX", steps=2, patch_size=(16, 16), **TINY))
    assert predict(model, img, "YX", FP32).dtype == np.float32


@pytest.mark.parametrize(
    ("image", "axes", "kwargs", "match"),
    [
        (np.zeros((32, 32), bool), "YX", {}, "boolean"),
        (np.zeros((32, 32), complex), "YX", {}, "complex"),
        (np.full((32, 32), 7.0), "YX", {}, "constant"),
        (np.zeros((0, 32)), "YX", {}, "empty"),
        (np.ones((32, 32)), "ZYX", {}, "name 3 dimension"),
        (np.ones((32, 32)), "YY", {}, "repeat"),
        (np.ones((3, 32, 32)), "ZYX", {}, "only 3 pixel"),
        (np.ones((2, 32)), "YX", {}, "only 2 pixel"),
        (blobs((32, 32)), "YX", {"masked_pixels": 300, "patch_size": (64, 64)}, "too many"),
    ],
)
def test_bad_input_clear_errors(image, axes, kwargs, match):
    with pytest.raises(N2VError, match=match):
        Trainer(image, TrainConfig(axes=axes, **kwargs))


def test_nan_pixels_refused():
    img = blobs((32, 32))
    img[5, 5] = np.inf
    with pytest.raises(N2VError, match="NaN or infinite"):
        Trainer(img, TrainConfig(axes="YX"))


@pytest.mark.parametrize("z", [4, 5, 6, 7])
def test_thin_z_stacks_shrink_the_patch_and_say_so(z):
    img = blobs((z, 40, 40)) * 100 + 1
    tr = Trainer(img, TrainConfig(axes="ZYX", steps=2, **TINY))
    model, events = drain(tr)
    assert tr.data.patch == (4, 40 // 4 * 4, 40 // 4 * 4)
    assert any(isinstance(e, InfoEvent) and "larger than the image" in e.message for e in events)
    assert predict(model, img, "ZYX", FP32).shape == img.shape


def test_validation_split_never_overlaps():
    from napari_n2v.core.train.data import split_regions

    tr, va, msg = split_regions(10, (64, 64), (32, 32), 0.1)
    assert (tr.s0, tr.s1, va.s0, va.s1) == (0, 9, 9, 10) and msg is None
    tr, va, msg = split_regions(1, (64, 200), (32, 32), 0.1)
    assert tr.spatial[1].stop <= va.spatial[1].start and va.shape()[1] >= 32
    tr, va, msg = split_regions(1, (40, 40), (32, 32), 0.1)
    assert va is None and "too small" in msg


def test_separate_validation_image_and_struct():
    img = (blobs((48, 48)) * 100 + 3).astype(np.float32)
    val = (blobs((40, 40), seed=5) * 100 + 3).astype(np.float32)
    model = train(
        img,
        TrainConfig(axes="YX", steps=3, patch_size=(16, 16), struct_axis="X", n2v2=True, **TINY),
        val_image=val,
    )
    assert model.config.n2v2 and model.describe().startswith("2D N2V2, structN2V along X")
    with pytest.raises(N2VError, match="channel"):
        Trainer(np.stack([img, img], -1), TrainConfig(axes="YXC"), val_image=np.ones((40, 40, 3)))


@pytest.mark.parametrize(
    ("shape", "patch"),
    [((3, 2, 40, 50), (16, 16)), ((2, 1, 10, 30, 40), (4, 16, 16)), ((2, 1, 40, 50), (16, 32))],
)
def test_device_sampler_cuts_the_same_patches(shape, patch):
    import torch

    from napari_n2v.core.train.data import DevicePatchSampler, PatchSampler, Region

    data = np.random.default_rng(0).integers(0, 60000, shape).astype(np.uint16)
    region = Region(0, shape[0], tuple(slice(0, n) for n in shape[2:]))
    host = PatchSampler(data, region, patch, True, np.random.default_rng(5)).sample(24)
    dev = DevicePatchSampler(
        data, region, patch, True, np.random.default_rng(5), torch.device("cpu")
    )
    np.testing.assert_array_equal(host, dev.sample(24).numpy())


def test_out_of_memory_becomes_a_clear_error():
    import torch

    from napari_n2v.core.device import out_of_memory_hint

    with pytest.raises(N2VError, match="out of memory: lower the batch"):
        with out_of_memory_hint("lower the batch size."):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    with pytest.raises(RuntimeError, match="other"):
        with out_of_memory_hint("x"):
            raise RuntimeError("other")


def test_learning_rate_schedule_counts_steps_and_has_a_floor():
    """Frequent validation must not make the plateau schedule hasty, and the rate never reaches 0."""
    import torch

    from napari_n2v.core.train.step import LR_PATIENCE_STEPS, MIN_LR_FACTOR, plateau_scheduler

    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=4e-4)
    sched = plateau_scheduler(opt, 4e-4, steps_per_epoch=5)
    sched.step(1.0)
    for _ in range(LR_PATIENCE_STEPS // 5):  # a plateau just as long as the patience: no cut yet
        sched.step(1.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(4e-4)
    sched.step(1.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(2e-4)
    for _ in range(100 * LR_PATIENCE_STEPS // 5):
        sched.step(1.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(4e-4 * MIN_LR_FACTOR)
