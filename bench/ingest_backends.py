"""The model bound and the pipeline for each inference backend, in one run of bench/ingest.py.

``bench/ingest.py --backends torch,onnx,int8`` generates the inputs once and
then runs itself once per backend on them, each in its own process
(``--backend B --quantize Q --skip sequential,old,rerun``), so that each
backend's peak memory is its own and no backend inherits another's warm
caches or allocator. Every child measures its bounds and its pipeline twice
and keeps the best; the children run one after another, in the order given,
and the table puts each figure beside torch's from the same run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# name -> (model.backend, model.quantize)
BACKENDS: dict[str, tuple[str, str]] = {"torch": ("torch", "none"), "onnx": ("onnx", "none"), "int8": ("onnx", "int8")}
CHILD_TIMEOUT_S = 1800


def parse_backends(text: str) -> list[str]:
    """``"torch,onnx,int8"`` -> names, each known, torch first (every ratio is against it)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise SystemExit(f"--backends: unknown {unknown}; known: {', '.join(BACKENDS)}")
    return ["torch", *[n for n in dict.fromkeys(names) if n != "torch"]]


def run_backends(
    names: list[str], child_argv: Callable[[str, str, Path], list[str]], work: Path, log: Callable[[str], None]
) -> dict[str, Any]:
    """Run bench/ingest.py once per backend; ``child_argv(backend, quantize, out)`` gives its arguments."""
    script = Path(__file__).with_name("ingest.py")
    runs: dict[str, Any] = {}
    for name in names:
        backend, quantize = BACKENDS[name]
        out = work / f"ingest-{name}.json"
        command = [sys.executable, str(script), *child_argv(backend, quantize, out)]
        log(f"backend {name}: {' '.join(command[1:])}")
        done = subprocess.run(command, timeout=CHILD_TIMEOUT_S, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the {name} run of bench/ingest.py failed (exit {done.returncode})")
        runs[name] = summarize(json.loads(out.read_text(encoding="utf-8")))
    return {"order": names, "runs": runs, "ratios": ratios(runs)}


def summarize(child: dict[str, Any]) -> dict[str, Any]:
    """What the backends table shows of one child's result."""
    pipeline, model, config = child["pipeline"], child["model_bound"], child["config"]
    return {
        "config": config,
        "model_img_s": model["img_s"],
        "model_runs_img_s": model["before_after"],
        "decode_img_s": child["decode_bound"]["img_s"],
        "pipeline_img_s": pipeline["img_s"],
        "pipeline_runs_img_s": pipeline["runs_img_s"],
        "pipeline_vs_bound": child["ratios"]["pipeline_vs_bound"],
        "cpu_ms_per_img": child["ratios"]["cpu_ms_per_img"]["pipeline"],
        "model_busy_share": pipeline["model_busy_share"],
        "foreign_share_max": max([r["foreign_share"] for r in pipeline["runs"]] + list(model["foreign_before_after"])),
        "peak_rss_mb": child["rss"]["ingest_peak_mb"],
        "clip_load_s": child["cold_start"]["clip_load_s"],  # the ONNX export included, on first use
    }


def ratios(runs: dict[str, Any]) -> dict[str, Any]:
    """Each backend against torch, same run: model bound, pipeline, peak memory; and the best pipeline."""
    base = runs["torch"]
    out: dict[str, Any] = {
        name: {
            "model": round(run["model_img_s"] / base["model_img_s"], 3),
            "pipeline": round(run["pipeline_img_s"] / base["pipeline_img_s"], 3),
            "peak_rss": round(run["peak_rss_mb"] / base["peak_rss_mb"], 3)
            if run["peak_rss_mb"] and base["peak_rss_mb"]
            else None,
        }
        for name, run in runs.items()
    }
    best = max(runs, key=lambda name: runs[name]["pipeline_img_s"])
    out["best_pipeline"] = {"backend": best, "vs_torch": out[best]["pipeline"]}
    return out


def table_lines(result: dict[str, Any]) -> list[str]:
    runs, rel = result["runs"], result["ratios"]
    lines = [
        "per backend, this run (each its own process, one after another; best of two runs each):",
        f"{'backend':<8}{'model img/s':>12}{'× torch':>9}{'pipeline img/s':>16}{'× torch':>9}"
        f"{'CPU ms/photo':>14}{'peak RSS MiB':>14}{'× torch':>9}{'other load':>12}",
    ]
    for name in result["order"]:
        run, r = runs[name], rel[name]
        peak = run["peak_rss_mb"]
        lines.append(
            f"{name:<8}{run['model_img_s']:>12.2f}{r['model']:>9.2f}{run['pipeline_img_s']:>16.2f}"
            f"{r['pipeline']:>9.2f}{run['cpu_ms_per_img']:>14.0f}"
            f"{peak if peak is not None else float('nan'):>14.0f}"
            f"{r['peak_rss'] if r['peak_rss'] is not None else float('nan'):>9.2f}"
            f"{run['foreign_share_max']:>12.0%}"
        )
    best = rel["best_pipeline"]
    lines.append(f"best pipeline: {best['backend']}, {best['vs_torch']:.2f}× torch's")
    return lines


__all__ = ["BACKENDS", "parse_backends", "run_backends", "table_lines"]
