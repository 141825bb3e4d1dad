"""Report sections of our own suites: memory, scale-out, the defaults sweeps."""

from __future__ import annotations

from typing import Any

from benchmarks.report.fmt import f, rid, section, table, x


def memory(runs: list[dict[str, Any]]) -> list[str]:
    rows: list[list[str]] = []
    for r in reversed(runs):
        res = r["result"]
        if "stack" in res:
            s = res["stack"]
            what = f"training (5 steps) on a {s['stack_mb'] / 1024:.1f} GiB uint16 stack in memory"
            rows.append([what, f"{f(s['peak_rss_mb'], 0)} ({x(s['ratio'])} the stack)", rid(r)])
        if "folder" in res:
            base = f(res["folder"]["import_only_rss_mb"], 0)
            rows.append(["importing torch and the engine alone", base, rid(r)])
            sizes = [v for v in res["folder"].values() if isinstance(v, dict)]
            for v in sorted(sizes, key=lambda v: v["gb"]):
                what = f"training from {v['files']} uint16 TIFFs read from disk, {v['gb']:g} GB"
                rows.append([what, f(v["peak_rss_mb"], 0), rid(r)])
        if "stream" in res:
            s = res["stream"]
            what = f"streamed prediction of {s['planes']} planes of a {s['input_gb']:g} GB uint16 "
            what += f"zarr ({'×'.join(map(str, s['shape']))}), {f(s['mpix_per_s'])} MPix/s"
            rows.append([what, f(s["peak_rss_mb"], 0), rid(r)])
    intro = (
        "Peak resident memory (MiB) of the whole process, each measurement a fresh process, on "
        "data larger than the network's working set. The side-by-side peak RSS against the peer "
        "is in the speed table."
    )
    return section("Memory", intro, table(["what", "peak RSS, MiB", "run"], rows), runs)


def _pred(v: dict[str, Any]) -> str:
    out = f"{f(v['seconds'], 1)} s, {f(v['mvox_per_s'], 3)} MVox/s, {f(v['peak_rss_mb'], 0)} MiB"
    if "worker_peak_rss_mb" in v:
        out += f"; workers {' / '.join(f(w, 0) for w in v['worker_peak_rss_mb'])} MiB"
        out += f"; largest difference to one process {v['max_abs_diff_vs_single']:.1g}"
    return out


def _scale_row(key: str, p: dict[str, Any]) -> list[str]:
    if key.startswith("predict_"):
        cl = next(k for k in p if k.startswith("cluster_local_"))
        how = " (plane by plane)" if p["model"] == "2D" else ""
        shape = "×".join(map(str, p["shape"]))
        what = f"prediction, {p['model']} model{how}, zarr {shape} ({p['gb_float32']:g} GB float32)"
        return [what, _pred(p["single_process"]), f"{cl.rsplit('_', 1)[1]} workers: {_pred(p[cl])}"]
    one, two = p["ranks_1"], p.get("ranks_2")
    what = "DDP training, " + ("CPU (gloo), batch 16" if "gloo" in key else "GPU (NCCL), batch 128")
    more = "–"
    if two:
        more = f"2 ranks: {f(two['patches_per_s_per_rank'], 0)} per rank, "
        more += f"{f(two['patches_per_s_total'], 0)} in all"
    return [what, f"{f(one['patches_per_s_per_rank'], 0)} patches/s", more]


def scale_out(runs: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in sorted(runs, key=lambda r: next(iter(r["result"])).startswith("ddp")):
        rows += [[*_scale_row(k, p), rid(r)] for k, p in r["result"].items()]
    intro = (
        "The command line in fresh processes: a zarr volume denoised in one process and on a "
        "dask LocalCluster (`--cluster local:N`), DDP training under torchrun. On two cores the "
        "workers and ranks share the same cores: these runs show bounded memory and identical "
        "results, not a speed-up, which needs more cores, GPUs or nodes."
    )
    head = ["what", "one process / rank", "cluster / more ranks", "run"]
    return section("Scale-out", intro, table(head, rows), runs)


def sweep(runs: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in runs:
        res = r["result"]
        for w in res["rows"]:
            named = w["factor"] in ("default", "combo")
            setting = w["value"] if named else f"{w['factor']} {w['value']}"
            delta = "–" if w.get("delta_db") is None else f"{w['delta_db']:+.2f} dB"
            rate, grid = f(w.get("patches_per_s"), 1), f(w.get("checkerboard"), 1)
            budget = (r.get("settings") or {}).get("budget")
            dims = f"{res['dims']}D {res.get('precision', 'auto')}" + (
                f", {budget:g} s" if budget else ""
            )
            rows.append([dims, setting, f(w["psnr"]), delta, f(w["steps"], 0), rate, grid, rid(r)])
    intro = (
        "Ours only, one setting at a time around the defaults (or whole configurations), at an "
        "equal wall-clock budget per run (*run*: dims, precision path — `auto` is the machine's, "
        "`fp32` the path of a CPU without bf16 — and budget): 2D on Set12 02 and 05, 3D on the "
        "synthetic 32×128×128 stack. Δ against the mean of the default runs; a checkerboard score "
        "≫ 1 means a visible grid. One seed: differences under the default runs' spread are noise."
    )
    head = ["run", "setting", "PSNR dB", "Δ vs default", "steps", "patches/s", "checkerboard"]
    return section("Defaults from data (sweeps, CPU)", intro, table([*head, "file"], rows), runs)
