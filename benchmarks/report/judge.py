"""Report sections of the suites about the output itself: correlated noise (``noise``) and the
calibrated classical filters (``classical``)."""

from __future__ import annotations

from typing import Any

from benchmarks.report.fmt import f, rid, section, table

KIND = {"white": "white", "iso": "correlated, isotropic (2×2 box)", "x": "correlated along X"}


def noise(runs: list[dict[str, Any]]) -> list[str]:
    rows, picks = [], []
    for r in runs:
        res = r["result"]
        for kind, counts in res.get("choice", {}).get("picks", {}).items():
            got = ", ".join(f"{spec} {n}/{sum(counts.values())}" for spec, n in counts.items())
            picks.append([KIND.get(kind, kind), got, rid(r)])
        by = {(t["image"], t["kind"], t["arm"]): t for t in res.get("train", [])}
        for (image, kind, arm), t in by.items():
            pix = by.get((image, kind, "pixel"))
            if arm != "auto" or pix is None:
                continue
            pairs = by.get((image, kind, "pairs"), {}).get("psnr")
            pd2 = by.get((image, kind, "pd2"), {}).get("psnr")
            pd2_1 = by.get((image, kind, "pd2>1"), {}).get("psnr")
            alone = by.get((image, kind, "auto alone"), {}).get("psnr")
            gain = f"{t['psnr'] - pix['psnr']:+.2f} dB"
            gap = f"{t['psnr'] - pairs:+.2f} dB" if pairs is not None else "–"
            steps = f"{pix['steps']} / {t['steps']}"
            cells = [
                f(t["psnr_noisy"]),
                f(pix["psnr"]),
                f(t["psnr"]),
                f(alone),
                f(pd2),
                f(pd2_1),
                f(pairs),
                gain,
                gap,
                steps,
            ]
            rows.append([image, KIND.get(kind, kind), t["blind_spot"], *cells, rid(r)])
    intro = (
        "Set12 images and the synthetic 3D stack (`3d`, 32×128×128) with Gaussian noise (σ = 25) "
        "that is white or made spatially correlated (lag-1 autocorrelation 0.5; in 3D within each "
        "plane), as camera-based microscopes make it. *Choice*: the blind spot "
        "`--blind-spot auto` takes from the noise analysis alone, over all 12 images. *Training*: "
        "`auto` against today's one-pixel blind spot, each with the defaults otherwise and the same "
        "wall-clock budget (see the run's command), PSNR against the clean image; *pairs*: the same "
        "network trained for the same time on noisy/clean pairs (the bound a self-supervised "
        "method can approach); *pd2*: pixel-shuffle downsampling (stride 2, as AP-BSN trains) with "
        "a one-pixel blind spot instead of a larger one; *pd2→1*: that model run on the full image "
        "(AP-BSN's asymmetric inference). Predictions keep the share of the input their training "
        "measured (`predict`'s blend, on by default since 2026-12-03); *auto alone*: without it "
        "(– : a run from before the blend, all of whose figures are the networks alone)."
    )
    body = table(["noise", "auto's choice", "run"], picks) if picks else []
    if rows:
        head = ["image", "noise", "auto", "input", "pixel", "auto", "auto alone", "pd2", "pd2→1",
                "pairs",
                "auto − pixel",
                "auto − pairs", "steps pixel / auto", "run"]  # fmt: skip
        body += ["", *table(head, rows)]
    return section("Correlated noise", intro, body, runs)


def classical(runs: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in runs:
        budget = r["result"].get("budget_s", 0)
        for row in r["result"]["rows"]:
            blurs = [row[m]["psnr"] for m in ("gaussian", "median") if m in row]
            n2v = row.get("n2v", {}).get("psnr")
            tta = row.get("n2v", {}).get("psnr_tta")
            alone = row.get("n2v", {}).get("psnr_no_blend")
            gap = f"{n2v - max(blurs):+.2f} dB" if n2v is not None and blurs else "–"
            bm3d = row.get("bm3d", {}).get("psnr")
            cells = [
                row["image"], f"{row['sigma']:g}", f(row["psnr_noisy"]),
                *(f"{f(row[m]['psnr'])} ({row[m]['param']:.3g})" if m in row else "–"
                  for m in ("gaussian", "median")),
                f(bm3d), f(row["oracle_gaussian_psnr"]), f(n2v), f(alone), f(tta), gap,
                "yes" if row["score_ranks_like_psnr"] else "**no**", f"{budget:g} s", rid(r),
            ]  # fmt: skip
            rows.append(cells)
    intro = (
        "What a microscopist compares us with: filters tuned on the noisy image itself by the "
        "no-clean-image score (`napari-n2v baseline`; Gaussian σ and median size in brackets), BM3D "
        "told σ, the Gaussian chosen *with* the clean image (oracle), and N2V with its defaults "
        "trained for the budget, its output blended with the input by the weight the run measured "
        "(`predict`'s default since 2026-12-03); *no blend*: the network alone (– : a run from "
        "before the blend, whose N2V figures are the network alone); *+TTA*: with test-time augmentation too (the mean of the 8 flips/rotations, "
        "`predict --tta`). *N2V − best filter*: N2V without TTA against the better "
        "of the tuned Gaussian and median. *Score ranks*: whether the score orders the filters as the "
        "true PSNR does. Images: Set12 by number, BSD68 by name (σ = 25, the N2V paper's protocol), "
        "`3d` the synthetic 32×128×128 stack (BM3D slice by slice)."
    )
    head = ["image", "σ", "input", "Gaussian", "median", "BM3D", "oracle Gaussian", "N2V",
            "no blend", "+TTA",
            "N2V − best filter", "score ranks", "N2V budget", "run"]  # fmt: skip
    return section("Against classical filters", intro, table(head, rows), runs)
