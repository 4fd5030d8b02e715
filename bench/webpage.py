"""The web page's search latency in a real browser: from Enter to the first row of thumbnails painted.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/webpage.py             # 100k photos, 30 queries
    HF_HUB_OFFLINE=1 .venv/bin/python bench/webpage.py --quick     # 2k photos, 5 queries (the test)

The embedded store is filled with ``--photos`` points carrying realistic
payloads (bench/store.py's ``make_points``, through bench/query.py's ``fill``),
and every point gets a real 200 px JPEG thumbnail in the cache folder at its
content-addressed path, so the page's ``<img>`` requests go through the real
thumbnail route to real files. The thumbnails are hard links to a pool of
distinct JPEGs: each photo still has its own URL and its own file on disk (the
browser cannot share them), without writing gigabytes for 100k photos.

Text queries go through the real model worker with the tiny random-weight
CLIP (the text encoder's cost is not what this measures: bench/query.py does).
The real app is served over HTTP by uvicorn (bench/query.py's ``Server``) and
driven by Debian's headless Chromium through Playwright.

For each query the text is put in the search box, then Enter is pressed (a real key press).
Inside the page a keydown listener takes ``performance.now()`` at Enter; a
MutationObserver on the results sees the new tiles, picks the first row (the
tiles at the first tile's top), waits for each of their images to load
(``complete && naturalWidth > 0``) and decode, then for one animation frame:
the time of that frame is when the row is painted. Both ends are read from
the page's own clock. Two warm-up queries are reported apart. Each query runs in
a fresh browser context with the HTTP cache off, so every thumbnail of the row
comes from the server (``row_fetched`` in the JSON says so, query by query).

Prints p50/p95/max and writes JSON (default ``bench/results/webpage-<time>.json``),
with the load average: figures taken on a busy machine say so.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

import anyio  # noqa: E402

from chromium import CHROMIUM_ARGS, find_chromium  # noqa: E402
from photoindex.indexer.decoding.thumbnails import thumbnail_path, write_thumbnail  # noqa: E402
from photoindex.indexer.models.ids import ClipSpec  # noqa: E402
from photoindex.indexer.models.worker import ModelWorker  # noqa: E402
from photoindex.indexer.store import EdgeStore  # noqa: E402
from query import WORDS, Server, fill  # noqa: E402
from sample_photos import photo_image  # noqa: E402

WARM_UP = 2
POOL = 512  # distinct thumbnails behind the hard links
VIEWPORT = {"width": 1280, "height": 800}

# Armed before each Enter. Resolves with the times (page clock, ms) of Enter, of the search response's end,
# and of the frame after the first row's images are loaded and decoded.
PROBE = """
() => {
  const results = document.getElementById("results");
  const input = document.getElementById("q");
  performance.clearResourceTimings();  // the buffer holds 250 entries: a query's thumbnails would fill it
  window.__probe = new Promise((resolve, reject) => {
    let enter = null;
    const failed = (why) => { observer.disconnect(); reject(new Error(why)); };
    const onKey = (event) => {
      if (event.key !== "Enter") return;
      enter = performance.now();
      input.removeEventListener("keydown", onKey, true);
    };
    input.addEventListener("keydown", onKey, true);
    const observer = new MutationObserver((records) => {
      if (enter === null || !records.some((r) => r.addedNodes.length)) return;
      const tiles = [...results.querySelectorAll(":scope > li.tile")];
      if (!tiles.length) return;
      observer.disconnect();
      const top = tiles[0].getBoundingClientRect().top;
      const row = tiles.filter((t) => Math.abs(t.getBoundingClientRect().top - top) < 1);
      if (top >= window.innerHeight) return failed(`the first row is below the fold (top ${top})`);
      const images = row.map((t) => t.querySelector("img"));
      const loaded = images.map((img) => new Promise((ok, bad) => {
        if (img.complete && img.naturalWidth > 0) return ok();
        img.addEventListener("load", () => ok(), { once: true });
        const broken = () => bad(new Error(`thumbnail failed: ${img.currentSrc || img.src}`));
        img.addEventListener("error", broken, { once: true });
      }).then(() => img.decode()));
      const rendered = performance.now();
      Promise.all(loaded).then(() => requestAnimationFrame((frame) => {
        const painted = performance.now();
        if (!images.every((img) => img.complete && img.naturalWidth > 0)) return failed("an image is not complete");
        const entries = performance.getEntriesByType("resource").filter((e) => e.startTime >= enter);
        const search = entries.filter((e) => e.name.includes("/api/v1/search/text"));
        const early = performance.getEntriesByType("resource")
          .filter((e) => e.name.includes("/api/v1/search/") && e.startTime < enter);
        if (early.length) return failed(`a search ran before Enter: ${early[0].name}`);
        resolve({
          enter, rendered, painted, frame,
          search_end: search.length ? search[0].responseEnd : null,
          row: images.length, tiles: tiles.length,
          sources: images.map((img) => img.currentSrc),
        });
      }), (error) => failed(error.message));
    });
    observer.observe(results, { childList: true });
  });
}
"""


def chromium() -> str:
    found = find_chromium()
    if found is None:
        raise SystemExit("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    return found


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(pct(samples, 50), 1),
        "p95_ms": round(pct(samples, 95), 1),
        "max_ms": round(max(samples), 1),
        "n": len(samples),
    }


def write_thumbnails(store: EdgeStore, cache_dir: Path, pool_dir: Path) -> int:
    """A real JPEG thumbnail at every point's content-addressed path: hard links to ``POOL`` distinct ones."""
    pool_dir.mkdir(parents=True)
    pool = []
    for k in range(POOL):
        path = pool_dir / f"{k}.jpg"
        write_thumbnail(photo_image((400, 300), seed=1000 + k), path)
        pool.append(path)
    made: set[Path] = set()
    count = 0
    for point in store.scroll():
        target = thumbnail_path(cache_dir, str(point.payload.sha256))
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        os.link(pool[count % POOL], target)
        count += 1
    return count


def settle(port: int) -> None:
    """Wait until the start-up read of the library is done: it would compete with the first queries."""
    url = f"http://127.0.0.1:{port}/api/v1/duplicates?kind=exact&wait_s=10&limit=1"
    while True:
        with urllib.request.urlopen(url, timeout=60) as response:
            page = json.load(response)
        if not page.get("computing"):
            return


def texts(n: int) -> list[str]:
    """``n`` different queries of three words each (new texts: no query meets the embedding cache)."""
    return [f"{' '.join(WORDS[(i * 5 + k * 3) % len(WORDS)] for k in range(3))} {i}" for i in range(n)]


def measure(url: str, queries: list[str]) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    out = []
    seen: set[str] = set()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        for text in queries:
            # A fresh context for each query, without the HTTP cache: the tiny model's text vectors are alike, so
            # queries share many results, and Chromium keeps the images a page loaded beyond the HTTP cache.
            # Every thumbnail of the row then comes from the server, as for photos never shown before.
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})
            page.set_default_timeout(60_000)
            errors: list[str] = []
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            served: list[str] = []  # the URLs the server answered with 200 after Enter
            page.on("response", lambda response, served=served: served.append(response.url))
            page.goto(url + "/#search")
            page.wait_for_selector("#q")
            # The text goes in without an input event: typing starts the page's search-as-you-type after a
            # 250 ms pause, which on a busy machine could run before Enter and load the row's thumbnails early.
            page.evaluate("(text) => { document.getElementById('q').value = text; }", text)
            page.evaluate(PROBE)  # armed before Enter; its promise settles in the page
            served.clear()
            page.press("#q", "Enter")
            timing = page.evaluate("() => window.__probe")
            context.close()
            if errors:
                raise RuntimeError(f"the page threw: {errors}")
            out.append(
                {
                    "q": text,
                    "ms": round(timing["painted"] - timing["enter"], 1),
                    "search_ms": round(timing["search_end"] - timing["enter"], 1) if timing["search_end"] else None,
                    "rendered_ms": round(timing["rendered"] - timing["enter"], 1),
                    "row": timing["row"],
                    # Thumbnails an earlier query showed too (fetched again all the same), counted to be seen.
                    "row_seen_before": sum(src in seen for src in timing["sources"]),
                    # Fetched from the server after Enter: all of them, or the figure would flatter the page.
                    "row_fetched": sum(src in served for src in timing["sources"]),
                    "tiles": timing["tiles"],
                }
            )
            seen.update(timing["sources"])
        browser.close()
    return out


def run(photos: int, n_queries: int, work: Path) -> dict[str, Any]:
    from tiny_models import tiny_clip_embedder

    models = ModelWorker(tiny_clip_embedder)
    try:
        embedder = anyio.run(models.ensure_embedder)
        spec = ClipSpec(
            model_id=embedder.model_id, dim=embedder.dim, image_size=embedder.input_size, random_weights=True
        )
        started = time.perf_counter()
        store = fill(work / "store", photos, spec.dim)
        fill_s = time.perf_counter() - started
        try:
            api = work / "api"
            started = time.perf_counter()
            thumbs = write_thumbnails(store, api / "cache", work / "pool")
            thumbs_s = time.perf_counter() - started
            with Server(store, models, spec, api) as server:
                settle(server.port)
                load_before = os.getloadavg()
                rows = measure(f"http://127.0.0.1:{server.port}", texts(WARM_UP + n_queries))
                load_after = os.getloadavg()
        finally:
            store.close()
    finally:
        models.close()
    warm, measured = rows[:WARM_UP], rows[WARM_UP:]
    return {
        "photos": photos,
        "thumbnails": thumbs,
        "model": spec.model_id,
        "cpus": os.cpu_count(),
        "viewport": VIEWPORT,
        "browser_cache": "disabled, and a fresh page for each query",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "setup_s": {"fill": round(fill_s, 1), "thumbnails": round(thumbs_s, 1)},
        "enter_to_first_row": summary([r["ms"] for r in measured]),
        "enter_to_search_response": summary([r["search_ms"] for r in measured if r["search_ms"] is not None]),
        "row_thumbnails_seen_before": sum(r["row_seen_before"] for r in measured),
        "warm_up": warm,
        "queries": measured,
    }


def report(result: dict[str, Any], command: str) -> None:
    s = result["enter_to_first_row"]
    api = result["enter_to_search_response"]
    print(f"{result['photos']:,} photos, {result['cpus']} CPUs, load average {result['load_average_before']}")
    print(f"  {command}")
    print(
        f"  Enter → first row painted: p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, "
        f"max {s['max_ms']:.1f} ms (n={s['n']}, row of {result['queries'][0]['row']})"
    )
    print(f"  Enter → search response:   p50 {api['p50_ms']:.1f} ms, p95 {api['p95_ms']:.1f} ms")
    print("  warm-up: " + ", ".join(f"{r['ms']:.1f} ms" for r in result["warm_up"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2k photos, 5 queries")
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--tmp", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.photos, args.queries = 2_000, 5
    work = Path(tempfile.mkdtemp(prefix="photoindex-webpage-", dir=args.tmp))
    try:
        result = run(args.photos, args.queries, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    command = f"bench/webpage.py --photos {args.photos} --queries {args.queries}"
    result["command"] = command
    report(result, command)
    out = args.out or REPO / "bench" / "results" / f"webpage-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
