"""Report section of the GPU suite: the engine's rates, quality on the GPU, and a CUDA graph of the
training step."""

from __future__ import annotations

from typing import Any

from benchmarks.report.fmt import f, rid, section, table

RATES = [  # (result key, what)
    ("train_2d", "training 2D, engine, batch 128 (default), patches/s"),
    ("train_2d_b512", "training 2D, engine, batch 512, patches/s"),
    ("psnr_nuclei_3d", "training 3D 16×64×64, engine, batch 32, patches/s"),
    ("predict_2d_default", "prediction 2D 4096², default tiles, MPix/s"),
    ("predict_2d_tile1024_b8", "prediction 2D 4096², tiles 1024², batch 8, MPix/s"),
    ("predict_2d_tile2048_b4", "prediction 2D 4096², tiles 2048², batch 4, MPix/s"),
    ("predict_3d_default", "prediction 3D 64×1024², default tiles, MVox/s"),
    ("predict_3d_tile64x512_b2", "prediction 3D 64×1024², tiles 64×512², batch 2, MVox/s"),
]


def _quality(r: dict[str, Any]) -> list[list[str]]:
    res, rows = r["result"], []
    for key in sorted(k for k in res if k.startswith("psnr_nuclei")):
        v = res[key]
        what = f"nuclei {'3D' if v['axes'] == 'ZYX' else '2D'} sample, batch {v['batch']}"
        psnr = f"{v['psnr_noisy']:.2f} → **{v['psnr_n2v']:.2f}**"
        rows.append([what, f"{v['train_s']:.0f} s", f(v["steps"], 0), psnr, rid(r)])
    c = res.get("bsd68_curve") or {}
    curve = [m for m in c.get("curve", []) if not m.get("final")]
    if curve:
        pts = ", ".join(f"{m['train_s']:.0f} s: {m['psnr']:.2f}" for m in curve)
        what = f"BSD68, trained on Train400, batch {c['batch']}; the kept model at {pts}"
        psnr = f"{c['input_psnr']:.2f} → **{curve[-1]['psnr']:.2f}**"
        rows.append([what, f"{curve[-1]['train_s']:.0f} s", f(curve[-1]["steps"], 0), psnr, rid(r)])
    return rows


def _graphs(r: dict[str, Any]) -> list[list[str]]:
    by: dict[tuple[int, int], dict[str, float]] = {}
    for g in r["result"].get("cuda_graphs", []):
        by.setdefault((g["n_dim"], g["batch"]), {})[g["variant"]] = g["patches_per_s"]
    rows = []
    for (n_dim, batch), v in by.items():
        e, g, gm = v.get("eager"), v.get("graph_fwd_bwd_adam"), v.get("graph_with_masking")
        gain = f"{gm / e:.2f}×" if e and gm else "–"
        rows.append([f"{n_dim}D, batch {batch}", f(e, 0), f(g, 0), f(gm, 0), gain, rid(r)])
    return rows


def gpu(runs: list[dict[str, Any]]) -> list[str]:
    rates, quality, graphs = [], [], []
    for r in runs:
        for key, what in RATES:
            if v := r["result"].get(key):
                rate = v.get("mpix_per_s", v.get("steady_patches_per_s"))
                rates.append([what, f(rate, 0), rid(r)])
        quality += _quality(r)
        graphs += _graphs(r)
    intro = (
        "The engine on CUDA (bf16 autocast, channels_last). PSNR with `napari_n2v.psnr` (the "
        "clean image's range as the peak) for the nuclei samples, the 8-bit protocol for BSD68."
    )
    body = table(["what", "rate", "run"], rates)
    body += ["", *table(["quality on the GPU", "training", "steps", "PSNR dB", "run"], quality)]
    if graphs:
        body += ["", "A CUDA graph of the training step (a benchmark, not in the trainer):", ""]
        body += table(["step, patches/s", "eager", "graph", "+ masking", "gain", "run"], graphs)
    return section("GPU", intro, body, runs)
