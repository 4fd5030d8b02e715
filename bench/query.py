"""Query latency: the store alone, whole queries over HTTP with CLIP ViT-B-32, and queries during a backlog.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/query.py                  # 10k and 100k points
    HF_HUB_OFFLINE=1 .venv/bin/python bench/query.py --quick          # 2k points, tiny model (the test)

1. Store part: the embedded store filled with random unit vectors (dim 512)
   and realistic payloads (bench/store.py); p50/p95 of ``search`` for a
   vector query, unfiltered and filtered (camera make + has GPS + taken range).
2. Whole queries through the API, served by uvicorn on loopback exactly as the
   daemon serves it, with ViT-B-32 (random weights: same compute) in the
   model worker: text (new texts: encoding + search), text repeated (the
   embedding cache), filtered text, image upload (decode + image encoding +
   search), similar-to-a-photo.
3. During a backlog: the indexing pipeline works through generated 2 MP JPEGs
   (batches of 16) on the same model worker while text queries are sent
   every 0.3 s; compared with the time of one image batch.

Prints a table and writes JSON (default ``bench/results/query-<time>.json``).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import http.client
import io
import json
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

import anyio  # noqa: E402
import numpy as np  # noqa: E402

from photoindex.config import ApiSettings, AppPaths, ModelSettings, PathSettings, Settings  # noqa: E402
from photoindex.indexer.decoding.pool import DecodePool  # noqa: E402
from photoindex.indexer.discovery import DiscoveryRules, canonical_root, iter_files  # noqa: E402
from photoindex.indexer.identity import load_host_id  # noqa: E402
from photoindex.indexer.models.ids import ClipSpec  # noqa: E402
from photoindex.indexer.models.worker import ModelWorker, Priority  # noqa: E402
from photoindex.indexer.pipeline import IndexPipeline, PipelineOptions  # noqa: E402
from photoindex.indexer.state import IndexState  # noqa: E402
from photoindex.indexer.store import EdgeStore, PhotoFilter  # noqa: E402
from photoindex.indexer.writer import IndexWriter  # noqa: E402
from photoindex.query_api import create_app  # noqa: E402
from sample_photos import photo_image  # noqa: E402
from store import make_points  # noqa: E402

FILTER = PhotoFilter(
    camera_makes=("Canon", "Sony"), has_gps=True, taken_from_ts=946_684_800.0, taken_to_ts=1_500_000_000.0
)
FILTER_QUERY = "make=Canon&make=Sony&has_gps=true&taken_from=2000-01-01&taken_to=2017-07-14"
BATCH = 16
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
    "river",
    "car",
    "bridge",
    "cat",
]


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(pct(samples, 50), 1), "p95_ms": round(pct(samples, 95), 1), "n": len(samples)}


def fill(base: Path, n: int, dim: int) -> EdgeStore:
    store = EdgeStore.open(base, f"bench_query_{n}", dim)
    rng = np.random.default_rng(0)
    for start in range(0, n, 1024):
        store.upsert(make_points(rng, start, min(1024, n - start), dim))
    store.flush()
    return store


def store_part(store: EdgeStore, dim: int, queries: int) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    out: dict[str, Any] = {}
    for name, flt in (("vector", None), ("vector_filtered", FILTER)):
        samples = []
        for _ in range(queries):
            vector = rng.standard_normal(dim).astype(np.float32)
            vector /= np.linalg.norm(vector)
            started = time.perf_counter()
            store.search(vector, limit=20, flt=flt)
            samples.append((time.perf_counter() - started) * 1000)
        out[name] = summary(samples)
    return out


class Server:
    """The API over ``store`` and ``models``, served by uvicorn in a thread with its own loop."""

    def __init__(self, store: EdgeStore, models: ModelWorker, spec: ClipSpec, work: Path) -> None:
        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        settings = Settings(
            model=ModelSettings(captions="off", weights="random"),
            api=ApiSettings(port=self.port),
            paths=PathSettings(data_dir=str(work / "data"), cache_dir=str(work / "cache"), state_dir=str(work)),
        )
        paths = AppPaths.from_settings(settings)
        app = create_app(
            settings,
            store=store,
            models=models,
            paths=paths,
            spec=spec,
            host_id=load_host_id(paths.data_dir),
            projection_warm_up=False,
            config_file=work / "config.toml",
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def timed(self, method: str, target: str, body: bytes | None = None, content_type: str | None = None) -> float:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Content-Type": content_type} if content_type else {}
        started = time.perf_counter()
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"{method} {target}: {response.status} {payload[:300]!r}")
        return elapsed


def text_target(i: int, extra: str = "") -> str:
    words = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(3))
    q = urllib.parse.quote(f"{words} {i}")
    return f"/api/v1/search/text?q={q}&limit=20" + (f"&{extra}" if extra else "")


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = "benchboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="q.jpg"\r\n\r\n'.encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def api_part(server: Server, store: EdgeStore, queries: int) -> dict[str, Any]:
    server.timed("GET", text_target(-1))  # warm: first request, model already loaded
    server.timed("GET", "/api/v1/duplicates?kind=exact&wait_s=10")  # let the start-up library read finish first
    out: dict[str, Any] = {}
    out["text"] = summary([server.timed("GET", text_target(i)) for i in range(queries)])
    out["text_cached"] = summary([server.timed("GET", text_target(i % 5)) for i in range(queries)])
    out["text_filtered"] = summary([server.timed("GET", text_target(10_000 + i, FILTER_QUERY)) for i in range(queries)])
    jpeg = io.BytesIO()
    photo_image((1600, 1200), seed=3).save(jpeg, "JPEG", quality=90)
    body, content_type = multipart(jpeg.getvalue())
    images = max(5, queries // 4)
    out["image_upload"] = summary(
        [server.timed("POST", "/api/v1/search/image?limit=20", body, content_type) for _ in range(images)]
    )
    point = next(iter(store.scroll(flt=PhotoFilter(statuses=("indexed",)), page_size=1)))
    out["similar"] = summary(
        [server.timed("GET", f"/api/v1/photos/{point.id}/similar?limit=20") for _ in range(queries)]
    )
    return out


def batch_time(models: ModelWorker, size: int, repeats: int = 3) -> float:
    """Seconds for one indexing batch of ``BATCH`` images in the model worker."""
    pixels = np.random.default_rng(0).integers(0, 255, (BATCH, size, size, 3), dtype=np.uint8)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        anyio.run(lambda: models.embed_images(pixels, Priority.INDEX))
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def backlog_part(
    server: Server, store: EdgeStore, models: ModelWorker, spec: ClipSpec, work: Path, files: int
) -> dict[str, Any]:
    library = work / "backlog"
    library.mkdir()
    for i in range(files):
        photo_image((1632, 1224), seed=100 + i).save(library / f"b{i:04d}.jpg", "JPEG", quality=90)
    decoder = DecodePool(os.cpu_count() or 2, timeout_s=120)
    options = PipelineOptions(
        host_id="bench",
        model_id=spec.model_id,
        model_size=spec.image_size,
        captions="off",
        batch_size=BATCH,
        max_wait_s=0.05,
        decode_concurrency=(os.cpu_count() or 2) + 1,
        thumbs_dir=work / "cache",
    )
    state = IndexState(options.host_id)
    pipeline = IndexPipeline(writer=IndexWriter(store, state), decoder=decoder, models=models, options=options)
    facts = list(iter_files([canonical_root(str(library))], DiscoveryRules()))
    done = threading.Event()
    samples: list[float] = []
    busy_before = models.busy_s

    def ask() -> None:
        i = 0
        while not done.is_set():
            samples.append(server.timed("GET", text_target(50_000 + i)))
            i += 1
            done.wait(0.3)

    asker = threading.Thread(target=ask, daemon=True)
    started = time.perf_counter()
    asker.start()
    try:
        indexed = anyio.run(pipeline.run, facts)
    finally:
        done.set()
        asker.join(timeout=120)
        decoder.close()
    wall = time.perf_counter() - started
    batches = max(1, -(-indexed.embedded_images // BATCH))
    return {
        "files": files,
        "wall_s": round(wall, 1),
        "rate_per_s": round(files / wall, 2),
        "model_busy_s": round(models.busy_s - busy_before, 1),
        "batch_s_under_load": round(indexed.stage_s["embed"] / batches, 3),
        **summary(samples),
    }


def run(points: list[int], *, model: str, queries: int, backlog: int, work: Path) -> dict[str, Any]:
    from photoindex.indexer.models.embedder import load_clip

    if model == "tiny":
        from tiny_models import tiny_clip_embedder

        loader: Callable[[], Any] = tiny_clip_embedder
    else:

        def loader() -> Any:
            return load_clip(model, None, "random", "cpu")

    models = ModelWorker(loader)
    embedder = anyio.run(models.ensure_embedder)
    spec = ClipSpec(model_id=embedder.model_id, dim=embedder.dim, image_size=embedder.input_size, random_weights=True)
    result: dict[str, Any] = {"model": embedder.model_id, "dim": spec.dim, "cpus": os.cpu_count(), "sizes": {}}
    try:
        result["batch_s"] = round(batch_time(models, spec.image_size), 3)
        for n in points:
            store = fill(work / f"store-{n}", n, spec.dim)
            try:
                entry: dict[str, Any] = {"store": store_part(store, spec.dim, queries)}
                with Server(store, models, spec, work / f"api-{n}") as server:
                    entry["api"] = api_part(server, store, queries)
                    if n == points[-1] and backlog:
                        entry["during_backlog"] = backlog_part(server, store, models, spec, work, backlog)
                result["sizes"][str(n)] = entry
            finally:
                store.close()
    finally:
        models.close()
    return result


def report(result: dict[str, Any]) -> None:
    print(
        f"model {result['model']} (dim {result['dim']}), {result['cpus']} CPUs; one indexing batch of {BATCH}: "
        f"{result['batch_s'] * 1000:.0f} ms"
    )
    for n, entry in result["sizes"].items():
        print(f"\n{int(n):,} points")
        for group in ("store", "api"):
            for name, s in entry[group].items():
                print(f"  {group:5} {name:16} p50 {s['p50_ms']:7.1f} ms   p95 {s['p95_ms']:7.1f} ms   (n={s['n']})")
        backlog = entry.get("during_backlog")
        if backlog:
            print(
                f"  during a backlog of {backlog['files']} JPEGs ({backlog['rate_per_s']} img/s, one batch "
                f"{backlog['batch_s_under_load'] * 1000:.0f} ms under that load): text query "
                f"p50 {backlog['p50_ms']:.1f} ms, p95 {backlog['p95_ms']:.1f} ms (n={backlog['n']})"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2k points, the tiny model, a short backlog")
    parser.add_argument("--points", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=160, help="JPEGs indexed while querying (0: skip)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--tmp", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.points, args.model, args.queries, args.backlog = [2_000], "tiny", 20, 8
    work = Path(tempfile.mkdtemp(prefix="photoindex-query-", dir=args.tmp))
    try:
        result = run(args.points, model=args.model, queries=args.queries, backlog=args.backlog, work=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(result)
    out = args.out or REPO / "bench" / "results" / f"query-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
