"""Inference backends against torch fp32: fidelity and speed of ONNX Runtime fp32/int8 CLIP and int8 BLIP.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/backends.py             # ViT-B-32 + BLIP-base, ~20 min on 2 cores
    HF_HUB_OFFLINE=1 .venv/bin/python bench/backends.py --quick     # tiny models, a few images (the test)

Inputs: the first ``--images`` corpus photos (../shared/corpus/photos) that
decode, decoded as the pipeline decodes them (``decode_photo`` with a
``DecodeRequest``), and ``--texts`` generated queries. Weights are random
(only those can be built offline): speed does not depend on weight values,
but int8 fidelity does (trained weights have outlier activations), so the
int8 fidelity figures here are a lower bound on the error, not a verdict.

Per variant against torch fp32: cosine of each image's (and text's) vector
(min, mean); overlap of every image's 10 nearest neighbours within the set
(mean); image-tower throughput at batch 16 and single-text latency, measured
in interleaved rounds (torch, onnx, ... torch, onnx, ...) and reported as the
median of per-round ratios, so load from other work on the machine hits
every variant alike; idle RSS of a fresh process holding each variant. BLIP:
int8 Linear layers against fp32, caption time per image and word agreement.

Then what a daemon sees of each backend (bench/backends_daemon.py): text
queries over HTTP with each variant's text tower (p50/p95, interleaved), the
daemon's idle memory once the models are unloaded (bench/unloaded_rss.py),
and the model bound, the pipeline and peak memory while ingesting for torch,
onnx and int8 in one ``bench/ingest.py --backends`` run (``--no-pipeline``
skips it). The last table holds every goal of the backends with this run's
value. Prints the tables and writes JSON (default
``bench/results/backends-<time>.json``).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402

import backends_daemon  # noqa: E402
import ingest_backends  # noqa: E402
from photoindex.indexer.decoding.decode import decode_photo  # noqa: E402
from photoindex.indexer.records import DecodeRequest  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "photos"
INGEST_BACKENDS = ["torch", "onnx", "int8"]  # bench/ingest.py's names: int8 is ONNX Runtime with int8 weights
BATCH = 16
TOP_K = 10
WORDS = [
    "red",
    "kite",
    "beach",
    "dog",
    "mountain",
    "snow",
    "city",
    "night",
    "street",
    "portrait",
    "sunset",
    "forest",
    "cat",
    "boat",
    "bridge",
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny models and a few images (for the test suite)")
    parser.add_argument("--out", metavar="JSON", help="default bench/results/backends-<time>.json")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder of photos to decode")
    parser.add_argument("--images", type=int, default=None, help="images (default 200; 24 in --quick)")
    parser.add_argument("--texts", type=int, default=None, help="texts (default 100; 10 in --quick)")
    parser.add_argument("--captions", type=int, default=None, help="images captioned (default 10; 2 in --quick)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved speed rounds (default 7; 2 in --quick)")
    parser.add_argument("--clip", default=None, help="open_clip model name (default ViT-B-32; tiny in --quick)")
    parser.add_argument("--http-points", type=int, default=None, help="points in the served store (10000; 2000)")
    parser.add_argument("--http-queries", type=int, default=None, help="text queries per variant (100; 10 in --quick)")
    parser.add_argument(
        "--ingest-inputs", type=Path, metavar="DIR", help="bench/ingest.py --inputs DIR: keep its inputs for next time"
    )
    parser.add_argument("--no-pipeline", action="store_true", help="skip the ingest pipeline per backend")
    parser.add_argument("--rss-child", nargs=2, metavar=("VARIANT", "DIR"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def load_torch(clip: str) -> Any:
    from photoindex.indexer.models.embedder import load_clip

    return load_clip(clip, None, "random", "cpu")


def variants(torch_clip: Any, cache: Path) -> dict[str, Any]:
    """name -> embedder; every ONNX one exported from the same torch model (export timed)."""
    from photoindex.indexer.models.onnx_embedder import OnnxClipEmbedder

    built: dict[str, Any] = {"torch": torch_clip}
    for name, quantize, threads in (("onnx", "none", 2), ("onnx-1thread", "none", 1), ("onnx-int8", "int8", 2)):
        built[name] = OnnxClipEmbedder.from_clip(torch_clip, cache, quantize=quantize, threads=threads)
    return built


def corpus_pixels(folder: Path, n: int, size: int, caption_size: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """(model pixels, caption pixels, files tried) of the first ``n`` files that decode, sorted by path."""
    pixels, captions, tried = [], [], 0
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    for path in files:
        if len(pixels) == n:
            break
        tried += 1
        try:
            image = decode_photo(str(path), DecodeRequest(model_size=size, caption_size=caption_size))
        except Exception:  # unreadable or unsupported corpus files are part of the corpus; skip them
            continue
        pixels.append(image.pixels)
        captions.append(image.caption_pixels)
    if len(pixels) < n:
        raise SystemExit(f"only {len(pixels)} of {n} images decoded from {folder}")
    return np.stack(pixels), np.stack(captions) if caption_size else np.zeros(0), tried


def texts(n: int) -> list[str]:
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(2, 6)))) for _ in range(n)]


def embed_all(embedder: Any, pixels: np.ndarray) -> np.ndarray:
    return np.concatenate([embedder.embed_images(pixels[i : i + BATCH]) for i in range(0, len(pixels), BATCH)])


def top_k(vectors: np.ndarray) -> np.ndarray:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1)[:, :TOP_K]


def fidelity(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    cos = np.sum(reference * other, axis=1)
    out = {"cos_min": float(cos.min()), "cos_mean": float(cos.mean())}
    if len(reference) > TOP_K:
        ref, oth = top_k(reference), top_k(other)
        overlap = [len(set(a) & set(b)) / TOP_K for a, b in zip(ref, oth, strict=True)]
        out["top10_overlap_mean"] = float(np.mean(overlap))
    return out


def interleaved(calls: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each call once per round, in a rotating order; each returns its own figure."""
    names = list(calls)
    for name in names:
        calls[name]()  # warm-up: first-run allocations and ORT's lazy initialisation
    results: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            results[name].append(calls[name]())
    return results


def ratios(results: dict[str, list[float]], base: str) -> dict[str, float]:
    """Median over rounds of each variant's figure divided by the base's figure in the same round."""
    return {
        name: statistics.median(v / b for v, b in zip(values, results[base], strict=True))
        for name, values in results.items()
    }


def speed(embedders: dict[str, Any], pixels: np.ndarray, rounds: int, n_batches: int) -> dict[str, Any]:
    batches = [pixels[(i * BATCH) % len(pixels) :][:BATCH] for i in range(n_batches)]
    batches = [b for b in batches if len(b) == BATCH] or [pixels[:BATCH]]

    def throughput(embedder: Any) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            for batch in batches:
                embedder.embed_images(batch)
            return len(batches) * BATCH / (time.perf_counter() - start)

        return run

    def latency(embedder: Any) -> Callable[[], float]:
        queries = texts(20)

        def run() -> float:
            times = []
            for query in queries:
                start = time.perf_counter()
                embedder.embed_texts([query])
                times.append(time.perf_counter() - start)
            return statistics.median(times) * 1000

        return run

    load_before = os.getloadavg()
    images = interleaved({name: throughput(e) for name, e in embedders.items()}, rounds)
    text = interleaved({name: latency(e) for name, e in embedders.items() if name != "onnx-1thread"}, rounds)
    return {
        "images_per_round": len(batches) * BATCH,
        "img_per_s_median": {name: statistics.median(v) for name, v in images.items()},
        "img_per_s_ratio_to_torch": ratios(images, "torch"),
        "text_ms_median": {name: statistics.median(v) for name, v in text.items()},
        "text_ms_ratio_to_torch": ratios(text, "torch"),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }


def idle_rss(args: argparse.Namespace, cache: Path, names: list[str]) -> dict[str, float]:
    """MiB resident in a fresh process that loaded one variant and embedded one batch (exports cached)."""
    out = {}
    for name in names:
        cmd = [sys.executable, __file__, "--rss-child", name, str(cache)] + (["--quick"] if args.quick else [])
        if args.clip:
            cmd += ["--clip", args.clip]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
        out[name] = float(done.stdout.strip().splitlines()[-1])
    return out


def rss_child(args: argparse.Namespace, name: str, cache: Path) -> None:
    import ctypes
    import gc

    torch_clip = load_torch(clip_name(args, cache.parent))
    embedder: Any = torch_clip
    if name != "torch":
        from photoindex.indexer.models.onnx_embedder import OnnxClipEmbedder

        embedder = OnnxClipEmbedder.from_clip(torch_clip, cache, quantize="int8" if "int8" in name else "none")
        del torch_clip  # what the model worker keeps: the sessions only
    side = embedder.input_size
    embedder.embed_images(np.zeros((BATCH, side, side, 3), dtype=np.uint8))
    embedder.embed_texts(["a red kite"])
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # as the model worker does after each batch
    with open("/proc/self/status", encoding="ascii") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    print(kb / 1024)


def captions(args: argparse.Namespace, work: Path, pixels: np.ndarray) -> dict[str, Any]:
    """BLIP with int8 Linear layers against fp32: seconds per image (interleaved) and word agreement."""
    from photoindex.indexer.models.captioner import load_blip

    name = caption_name(args, work)
    fp32 = load_blip(name, "random", "cpu")
    int8 = load_blip(name, "random", "cpu", quantize="int8")
    seconds: dict[str, list[float]] = {"fp32": [], "int8": []}
    agree = []
    fp32.caption(pixels[:1])
    int8.caption(pixels[:1])
    for i, image in enumerate(pixels):
        order = [("fp32", fp32), ("int8", int8)] if i % 2 == 0 else [("int8", int8), ("fp32", fp32)]
        said = {}
        for label, captioner in order:
            start = time.perf_counter()
            said[label] = captioner.caption(image[None])[0].split()
            seconds[label].append(time.perf_counter() - start)
        a, b = said["fp32"], said["int8"]
        agree.append(sum(x == y for x, y in zip(a, b, strict=False)) / max(len(a), len(b), 1))
    return {
        "images": len(pixels),
        "model_id": int8.model_id,
        "s_per_image_median": {k: statistics.median(v) for k, v in seconds.items()},
        "int8_time_ratio": statistics.median(q / f for q, f in zip(seconds["int8"], seconds["fp32"], strict=True)),
        "word_agreement_mean": float(np.mean(agree)),
        "identical_captions": int(sum(a == 1.0 for a in agree)),
    }


def goals(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goals, each with this run's value: (what, value, rule, target, met)."""
    speed_ratio, fid = result["speed"]["img_per_s_ratio_to_torch"], result["fidelity"]
    p95 = result["http_text"]["p95_ratio_to_torch"]
    unloaded = {name: r["rss_mib"] for name, r in result["unloaded_rss"].items()}
    rows: list[tuple[str, float | None, str, float]] = [
        ("CLIP image tower, onnx fp32 / torch fp32", speed_ratio["onnx"], ">=", 1.4),
        ("cosine onnx fp32 vs torch fp32, min over images", fid["onnx"]["cos_min"], ">=", 0.9999),
        ("CLIP image tower, int8 / torch fp32", speed_ratio["onnx-int8"], ">=", 2.0),
        ("int8: min cosine (to be offered)", fid["onnx-int8"]["cos_min"], ">=", 0.98),
        ("int8: mean top-10 overlap (to be offered)", fid["onnx-int8"]["top10_overlap_mean"], ">=", 0.9),
        ("BLIP caption time per image, int8 / fp32", result["captions"]["int8_time_ratio"], "<=", 0.5),
    ]
    pipeline = result.get("pipeline")
    if pipeline:
        best = pipeline["ratios"]["best_pipeline"]
        rows.append((f"ingest pipeline, best ({best['backend']}) / torch, same run", best["vs_torch"], ">=", 1.4))
    rows += [
        ("text query p95 over HTTP, onnx / torch", p95["onnx"], "<=", 1.0),
        ("text query p95 over HTTP, int8 / torch", p95["onnx-int8"], "<=", 1.0),
        # A fresh process's RSS moves by a few hundred KiB from run to run: "no worse" is within 1 %.
        ("idle RSS, models unloaded, onnx / torch", unloaded["onnx"] / unloaded["torch"], "<=", 1.01),
        ("idle RSS, models unloaded, int8 / torch", unloaded["int8"] / unloaded["torch"], "<=", 1.01),
    ]
    if pipeline:
        for name in ("onnx", "int8"):
            rows.append((f"peak RSS while ingesting, {name} / torch", pipeline["ratios"][name]["peak_rss"], "<=", 1.0))
    return [
        {
            "goal": what,
            "value": None if value is None else round(value, 6),
            "rule": rule,
            "target": target,
            "met": None if value is None else (value >= target if rule == ">=" else value <= target),
        }
        for what, value, rule, target in rows
    ]


def clip_name(args: argparse.Namespace, work: Path) -> str:
    if not args.quick:
        return args.clip or "ViT-B-32"
    from tiny_models import tiny_clip_config

    return args.clip or str(tiny_clip_config(work / "models"))


def caption_name(args: argparse.Namespace, work: Path) -> str:
    if not args.quick:
        return "Salesforce/blip-image-captioning-base"
    from tiny_models import tiny_blip_dir

    return str(tiny_blip_dir(work / "models" / "tiny-blip"))


def report(result: dict[str, Any]) -> None:
    sp = result["speed"]
    print(f"\nCLIP {result['clip']} (random weights), {result['images']} images, {result['texts']} texts, CPU:")
    print(f"{'variant':<14}{'img cos min':>12}{'mean':>10}{'top-10':>8}{'txt cos min':>12}"
          f"{'img/s':>8}{'× torch':>9}{'text ms':>9}{'× torch':>9}{'idle MiB':>10}")  # fmt: skip
    for name in sp["img_per_s_median"]:
        fid = result["fidelity"].get(name, {})
        txt = result["text_fidelity"].get(name, {})
        text_ms = sp["text_ms_median"].get(name)
        print(
            f"{name:<14}{fid.get('cos_min', 1.0):>12.6f}{fid.get('cos_mean', 1.0):>10.6f}"
            f"{fid.get('top10_overlap_mean', 1.0):>8.3f}{txt.get('cos_min', 1.0):>12.6f}"
            f"{sp['img_per_s_median'][name]:>8.1f}{sp['img_per_s_ratio_to_torch'][name]:>9.2f}"
            f"{text_ms if text_ms is not None else float('nan'):>9.1f}"
            f"{sp['text_ms_ratio_to_torch'].get(name, float('nan')):>9.2f}"
            f"{result['idle_rss_mib'].get(name, float('nan')):>10.0f}"
        )
    cap = result["captions"]
    print(
        f"BLIP int8 vs fp32 ({cap['images']} images): {cap['s_per_image_median']['int8']:.2f} s vs "
        f"{cap['s_per_image_median']['fp32']:.2f} s per image = {cap['int8_time_ratio']:.2f}×; "
        f"word agreement {cap['word_agreement_mean']:.3f} ({cap['identical_captions']} identical)"
    )
    print(f"export: {result['export_s']:.1f} s; load average {sp['loadavg_before']} -> {sp['loadavg_after']}")
    http = result["http_text"]
    print(f"\ntext queries over HTTP ({http['points']:,} points, new texts, one server per variant, interleaved):")
    for name, s in http["by_variant"].items():
        print(f"  {name:<10} p50 {s['p50_ms']:7.1f} ms   p95 {s['p95_ms']:7.1f} ms   (n={s['n']})")
    print("idle RSS of a daemon-like process after its models were unloaded (the model process ended):")
    for name, r in result["unloaded_rss"].items():
        print(
            f"  {name:<10} {r['rss_mib']:7.1f} MiB   (torch imported: {r['imports_torch']}, "
            f"onnxruntime imported: {r['imports_onnxruntime']})"
        )
    if "pipeline" in result:
        print("ingest pipeline per backend: bench/ingest.py --backends " + ",".join(result["pipeline"]["order"]))
        for line in ingest_backends.table_lines(result["pipeline"]):
            print("  " + line)
    note = " (--quick: tiny models, the goals do not apply)" if result["quick"] else ""
    print(f"\ngoals{note}:")
    for g in result["goals"]:
        state = "n/a" if g["met"] is None else ("MET" if g["met"] else "NOT MET")
        value = "n/a" if g["value"] is None else f"{g['value']:.4g}"
        print(f"  {g['goal']:<52} {value:>10} {g['rule']} {g['target']:<7} {state}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rss_child:
        rss_child(args, args.rss_child[0], Path(args.rss_child[1]))
        return 0
    n_images = args.images or (24 if args.quick else 200)
    n_texts = args.texts or (10 if args.quick else 100)
    n_captions = args.captions or (2 if args.quick else 10)
    rounds = args.rounds or (2 if args.quick else 7)
    with tempfile.TemporaryDirectory(prefix="photoindex-backends-") as tmp:
        work = Path(tmp)
        cache = work / "cache"
        torch_clip = load_torch(clip_name(args, work))
        start = time.perf_counter()
        embedders = variants(torch_clip, cache)
        export_s = time.perf_counter() - start
        from photoindex.indexer.models.ids import DEFAULT_CAPTION_SIZE

        caption_size = 32 if args.quick else DEFAULT_CAPTION_SIZE
        pixels, caption_pixels, tried = corpus_pixels(args.corpus, n_images, torch_clip.input_size, caption_size)
        queries = texts(n_texts)
        reference = embed_all(torch_clip, pixels)
        reference_text = torch_clip.embed_texts(queries)
        result: dict[str, Any] = {
            "clip": torch_clip.model_id,
            "quick": args.quick,
            "images": n_images,
            "files_tried": tried,
            "texts": n_texts,
            "cpu_count": os.cpu_count(),
            "export_s": export_s,
            "fidelity": {n: fidelity(reference, embed_all(e, pixels)) for n, e in embedders.items() if n != "torch"},
            "text_fidelity": {
                n: fidelity(reference_text, e.embed_texts(queries)) for n, e in embedders.items() if n != "torch"
            },
            "speed": speed(embedders, pixels, rounds, n_batches=2 if args.quick else 4),
        }
        served = {name: embedders[name] for name in ("torch", "onnx", "onnx-int8")}
        http_queries = args.http_queries or (10 if args.quick else 100)
        http_rounds = 2 if args.quick else 5
        result["http_text"] = backends_daemon.http_text_queries(
            served, work, args.http_points or (2000 if args.quick else 10_000), http_queries // http_rounds, http_rounds
        )
        del embedders, served, torch_clip
        result["idle_rss_mib"] = idle_rss(args, cache, ["torch", "onnx", "onnx-int8"])
        result["unloaded_rss"] = backends_daemon.unloaded_rss(clip_name(args, work), cache, INGEST_BACKENDS)
        result["captions"] = captions(args, work, caption_pixels[:n_captions])
        if not args.no_pipeline:
            result["pipeline"] = backends_daemon.ingest_pipeline(args, work, INGEST_BACKENDS)
        result["goals"] = goals(result)
    report(result)
    out = Path(args.out) if args.out else REPO / "bench" / "results" / f"backends-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
