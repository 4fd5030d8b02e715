"""Daemon benchmark: drop-to-searchable latency, idle memory, and the reconcile scan of an unchanged library.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/latency.py            # ViT-B-32 (random weights), captions deferred
    HF_HUB_OFFLINE=1 .venv/bin/python bench/latency.py --quick    # tiny model, few drops, 2,000 files (the test)

Three measurements, each on seeded inputs in a temporary folder:

1. latency: the daemon runs in this process exactly as ``photoindex serve``
   builds it (models in their child process, captions deferred, the query
   API off); a 12 MP JPEG is written into the watched folder and closed, and
   the clock stops when a vector search filtered to that path returns it
   (what a query would see). One drop every ``--spacing`` seconds, after the
   models are loaded and the deferred captions of a warm-up photo are done;
   p50/p95 over ``--drops``. Then the models are left to unload (TTL) and one
   more drop measures the cold path.
2. idle RSS: ``python -m photoindex serve`` as a real process (query API on)
   indexes one photo, then idles past ``model.idle_unload_s``; VmRSS of the
   daemon process, and of it plus every child still alive.
3. reconcile: ``--files`` small files in folders of 100 and matching points
   written straight through the store; the time to load the index state,
   and the time of one full reconcile scan that finds every file unchanged
   (page cache warm: the files were just written).

Prints a table and writes JSON (default ``bench/results/latency-<time>.json``).
The machine may be shared: the load average is recorded with the figures.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # random weights: nothing to download

import argparse
import io
import json
import math
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

import anyio  # noqa: E402
import msgspec  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from photoindex.components import build_daemon_model_worker, open_components  # noqa: E402
from photoindex.config import ApiSettings, AppPaths, ModelSettings, PathSettings, Settings, WatchSettings  # noqa: E402
from photoindex.daemon.reconcile import Reconciler  # noqa: E402
from photoindex.daemon.serve import Daemon  # noqa: E402
from photoindex.daemon.status import read_status  # noqa: E402
from photoindex.indexer.discovery import DiscoveryRules  # noqa: E402
from photoindex.indexer.payloads import file_payload  # noqa: E402
from photoindex.indexer.records import FileFacts  # noqa: E402
from photoindex.indexer.store import PhotoFilter, PhotoPayload, PhotoPoint, payload_from_dict, point_id  # noqa: E402
from photoindex.indexer.summary import IndexSummary  # noqa: E402

GOALS = {"p50_s": 1.0, "idle_rss_mb": 300.0, "reconcile_s": 10.0}


# -- inputs ------------------------------------------------------------------------
def photo_bytes(seed: int, size: tuple[int, int]) -> bytes:
    """A photo-like JPEG (smooth gradients, a few discs, mild noise), distinct per seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.5, 4.0), rng.uniform(0.5, 4.0), rng.uniform(0, 6.28)
        channels.append(127 + 110 * np.sin(fx * x / w * 6.28 + phase) * np.cos(fy * y / h * 6.28))
    pixels = np.stack(channels, axis=-1)
    for _ in range(6):
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(h // 20, h // 5)
        pixels[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.integers(0, 255, 3)
    pixels += rng.normal(0, 4, pixels.shape).astype(np.float32)
    buffer = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def model_settings(quick: bool, work: Path) -> dict[str, Any]:
    if not quick:
        return {"clip": "ViT-B-32", "weights": "random", "captions": "deferred"}
    from tiny_models import tiny_blip_dir, tiny_clip_config

    return {
        "clip": str(tiny_clip_config(work / "models" / "tiny-clip.json")),
        "weights": "random",
        "captions": "deferred",
        "caption_model": str(tiny_blip_dir(work / "models" / "blip")),
    }


def settings_for(work: Path, model: dict[str, Any], **extra_model: Any) -> Settings:
    return Settings(
        watch=WatchSettings(),
        model=ModelSettings(**{**model, **extra_model}),
        paths=PathSettings(data_dir=str(work / "data"), cache_dir=str(work / "cache"), state_dir=str(work / "state")),
    )


# -- 1. latency ----------------------------------------------------------------------
async def measure_latency(
    work: Path, model: dict[str, Any], drops: int, spacing: float, size: tuple[int, int], ttl: float
) -> dict[str, Any]:
    lib = work / "lib"
    lib.mkdir(parents=True)
    settings = settings_for(work, model, idle_unload_s=ttl)
    blobs = [photo_bytes(1000 + i, size) for i in range(drops + 2)]
    models, host = build_daemon_model_worker(settings, AppPaths.from_settings(settings))
    with open_components(settings, models=models) as parts:
        async with anyio.create_task_group() as tg:
            daemon: Daemon = await tg.start(Daemon(parts, [str(lib)], api=False, model_host=host).run)
            warm = await drop(daemon, lib / "warm-up.jpg", blobs[0], timeout=600)
            await wait(lambda: daemon.idle.state.captions_pending == 0 and not daemon.idle.state.captioning, 600)
            await wait(lambda: not daemon.busy() and daemon.parts.models.queued == 0, 60)
            latencies = []
            for i in range(drops):
                started = time.monotonic()
                latencies.append(await drop(daemon, lib / f"drop-{i:03d}.jpg", blobs[i + 1]))
                print(f"  drop {i + 1:>3}/{drops}: {latencies[-1] * 1000:6.0f} ms", flush=True)
                await anyio.sleep(max(0.0, spacing - (time.monotonic() - started)))
            unloads = daemon.parts.models.unloads
            await wait(lambda: daemon.parts.models.unloads > unloads, ttl + 900)
            cold = await drop(daemon, lib / "cold.jpg", blobs[-1], timeout=600)
            tg.cancel_scope.cancel()
    ordered = sorted(latencies)
    return {
        "drops": drops,
        "spacing_s": spacing,
        "photo": f"{size[0]}x{size[1]} JPEG, {statistics.mean(len(b) for b in blobs) / 1e6:.1f} MB",
        "p50_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[math.ceil(0.95 * len(ordered)) - 1], 3),  # nearest rank
        "min_s": round(ordered[0], 3),
        "max_s": round(ordered[-1], 3),
        "first_drop_with_model_load_s": round(warm, 3),
        "cold_after_idle_unload_s": round(cold, 3),
        "all_s": [round(v, 3) for v in latencies],
    }


async def drop(daemon: Daemon, target: Path, data: bytes, timeout: float = 120) -> float:
    """Write and close ``target``; seconds until a search filtered to its path returns it."""

    def write() -> float:
        with open(target, "wb") as handle:
            handle.write(data)
        return time.monotonic()

    closed = await anyio.to_thread.run_sync(write)
    store, path = daemon.parts.store, str(target.resolve())
    query = np.zeros(store.dim, dtype=np.float32)
    query[0] = 1.0
    flt = PhotoFilter(paths=(path,))
    with anyio.fail_after(timeout):
        while not store.search(query, limit=1, flt=flt):
            await anyio.sleep(0.005)
    return time.monotonic() - closed


async def wait(condition: Any, timeout: float) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.1)


# -- 2. idle RSS ---------------------------------------------------------------------
def measure_idle_rss(
    work: Path, model: dict[str, Any], ttl: float, size: tuple[int, int], *, api: bool
) -> dict[str, Any]:
    lib = work / "lib"
    lib.mkdir(parents=True)
    settings = settings_for(work, model, idle_unload_s=ttl)
    settings = msgspec.structs.replace(settings, api=ApiSettings(port=free_port()))
    config = work / "config.toml"
    config.write_text(settings_toml(settings), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOINDEX_", "NOTIFY_SOCKET"))}
    log = open(work / "daemon.log", "wb")  # noqa: SIM115 - closed below, after the process ends
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "photoindex",
            "--config",
            str(config),
            "serve",
            str(lib),
            *([] if api else ["--no-api"]),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**env, "HF_HUB_OFFLINE": "1"},
    )
    state_dir = work / "state"
    try:
        _wait_status(state_dir, lambda s: s.state == "idle", 300, process)
        ready_rss = _rss_mb(process.pid)
        (lib / "one.jpg").write_bytes(photo_bytes(7, size))
        _wait_status(state_dir, lambda s: s.photos["indexed"] == 1, 600, process)
        busy_rss = _rss_mb(process.pid), _tree_rss_mb(process.pid)
        _wait_status(
            state_dir,
            lambda s: s.models.unloads >= 1 and s.models.embedder == "unloaded" and not s.captions_pending,
            ttl + 900,
            process,
        )
        time.sleep(ttl + 3)  # the decode workers go one TTL after the last work, too
        idle_main, idle_tree = _rss_mb(process.pid), _tree_rss_mb(process.pid)
        children = [
            {"pid": c, "rss_mb": round(_rss_mb(c), 1), "cmdline": _cmdline(c)} for c in _descendants(process.pid)
        ]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        log.close()
    return {
        "idle_unload_s": ttl,
        "rss_ready_before_any_model_mb": round(ready_rss, 1),
        "rss_while_loaded_main_mb": round(busy_rss[0], 1),
        "rss_while_loaded_with_children_mb": round(busy_rss[1], 1),
        "idle_rss_mb": round(idle_main, 1),
        "idle_rss_with_children_mb": round(idle_tree, 1),
        "children_alive_when_idle": children,
        "api": api,
    }


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:160]
    except OSError:
        return "?"


def _wait_status(state_dir: Path, condition: Any, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the daemon exited with {process.returncode}")
        status, _why = read_status(state_dir)
        if status is not None and condition(status):
            return
        time.sleep(0.25)
    raise TimeoutError("the daemon did not get there in time")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _tree_rss_mb(pid: int) -> float:
    return _rss_mb(pid) + sum(_rss_mb(child) for child in _descendants(pid))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_toml(settings: Settings) -> str:
    lines = []
    for section, values in msgspec.to_builtins(settings).items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items() if value is not None]
    return "\n".join(lines) + "\n"


# -- 3. reconcile --------------------------------------------------------------------
async def measure_reconcile(work: Path, model: dict[str, Any], files: int) -> dict[str, Any]:
    root = work / "library"
    settings = settings_for(work, model)
    started = time.perf_counter()
    facts = await anyio.to_thread.run_sync(_make_files, root, files)
    made_s = time.perf_counter() - started
    with open_components(settings) as parts:
        store = parts.store
        rng = np.random.default_rng(0)
        started = time.perf_counter()
        for start in range(0, len(facts), 1000):
            chunk = facts[start : start + 1000]
            vectors = rng.standard_normal((len(chunk), store.dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            points = [
                PhotoPoint(point_id(parts.host_id, f.path), _payload(f, parts.host_id), vectors[i])
                for i, f in enumerate(chunk)
            ]
            await anyio.to_thread.run_sync(store.upsert, points)
        written_s = time.perf_counter() - started
        store.flush()
        started = time.perf_counter()
        await parts.pipeline.writer.load_state()
        load_s = time.perf_counter() - started
        submitted: list[FileFacts] = []

        async def submit(item: FileFacts) -> None:
            submitted.append(item)

        reconciler = Reconciler(
            parts.pipeline,
            DiscoveryRules(),
            submit=submit,
            repoint=lambda moves: parts.pipeline.repoint(moves, IndexSummary()),
            too_young=submitted.append,
            available=lambda _root: True,
            summary=IndexSummary(),
        )
        scans = []
        for _ in range(2):
            result = await reconciler.scan(str(root), str(root), young_s=1.0)
            scans.append(result.seconds)
        assert result.files == files and not submitted, (result, len(submitted))
    return {
        "files": files,
        "folders": len(result.folders),
        "make_files_s": round(made_s, 1),
        "write_points_s": round(written_s, 1),
        "state_load_s": round(load_s, 2),
        "scan_s": round(min(scans), 2),
        "scan_runs_s": [round(s, 2) for s in scans],
        "unchanged_per_s": round(files / min(scans)),
        "page_cache": "warm",
    }


def _make_files(root: Path, files: int) -> list[FileFacts]:
    canonical = os.path.realpath(root)
    out = []
    for i in range(files):
        folder = os.path.join(canonical, f"{i // 100000:02d}", f"{i // 100:04d}")
        if i % 100 == 0:
            os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"IMG_{i:06d}.jpg")
        with open(path, "wb") as handle:
            handle.write(i.to_bytes(8, "little"))
        st = os.stat(path)
        out.append(FileFacts(path=path, root=canonical, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino))
    return out


def _payload(facts: FileFacts, host_id: str) -> PhotoPayload:
    payload = file_payload(facts, host_id=host_id)
    payload.update(status="indexed", sha256=f"{facts.inode:064x}", caption_status="done", model_id="bench")
    return payload_from_dict(payload)


# -- the run -------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny model, 5 drops, 2,000 files, headless RSS only")
    parser.add_argument("--drops", type=int, help="timed drops (default 25; quick 5)")
    parser.add_argument("--spacing", type=float, default=2.5, help="seconds between drops")
    parser.add_argument("--files", type=int, help="files for the reconcile scan (default 100,000; quick 2,000)")
    parser.add_argument("--ttl", type=float, help="model.idle_unload_s for the idle phases (default 20; quick 3)")
    parser.add_argument("--skip", action="append", default=[], choices=("latency", "rss", "reconcile"))
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/latency-<time>.json)")
    args = parser.parse_args(argv)
    quick = args.quick
    drops = args.drops or (5 if quick else 25)
    files = args.files or (2_000 if quick else 100_000)
    ttl = args.ttl or (3.0 if quick else 20.0)
    size = (640, 480) if quick else (4032, 3024)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        },
        "model": "tiny-clip (random)" if quick else "ViT-B-32 (random weights), captions deferred (BLIP base)",
        "goals": GOALS,
    }
    with tempfile.TemporaryDirectory(prefix="photoindex-latency-") as temp:
        work = Path(temp)
        model = model_settings(quick, work)
        if "latency" not in args.skip:
            print(f"latency: {drops} drops of a {size[0]}x{size[1]} JPEG, one every {args.spacing:g} s", flush=True)
            results["latency"] = anyio.run(measure_latency, work / "latency", model, drops, args.spacing, size, ttl)
        if "rss" not in args.skip:
            print(f"idle RSS: photoindex serve, idle past a {ttl:g} s TTL", flush=True)
            if not quick:  # the query API's own start-up (its map worker) is not what --quick checks
                results["idle"] = measure_idle_rss(work / "rss", model, ttl, size, api=True)
            results["idle_headless"] = measure_idle_rss(work / "rss-headless", model, ttl, size, api=False)
        if "reconcile" not in args.skip:
            print(f"reconcile: {files} unchanged files", flush=True)
            results["reconcile"] = anyio.run(measure_reconcile, work / "reconcile", model, files)
    results["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    _print_table(results)
    out = args.out or REPO / "bench" / "results" / f"latency-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


def _print_table(results: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str]] = []
    if "latency" in results:
        lat = results["latency"]
        rows += [
            ("drop → searchable p50", f"{lat['p50_s'] * 1000:.0f} ms", f"≤ {GOALS['p50_s'] * 1000:.0f} ms"),
            ("drop → searchable p95", f"{lat['p95_s'] * 1000:.0f} ms", ""),
            ("  min / max", f"{lat['min_s'] * 1000:.0f} / {lat['max_s'] * 1000:.0f} ms", ""),
            ("  first drop (models load)", f"{lat['first_drop_with_model_load_s']:.1f} s", ""),
            ("  cold, after idle unload", f"{lat['cold_after_idle_unload_s']:.1f} s", ""),
        ]
    if "idle" in results:
        idle = results["idle"]
        rows += [
            ("idle RSS (daemon process)", f"{idle['idle_rss_mb']:.0f} MB", f"≤ {GOALS['idle_rss_mb']:.0f} MB"),
            ("  with children", f"{idle['idle_rss_with_children_mb']:.0f} MB", ""),
            ("  while models loaded (tree)", f"{idle['rss_while_loaded_with_children_mb']:.0f} MB", ""),
        ]
    if "idle_headless" in results:
        idle = results["idle_headless"]
        rows += [
            ("idle RSS, --no-api (process)", f"{idle['idle_rss_mb']:.0f} MB", ""),
            ("  with children", f"{idle['idle_rss_with_children_mb']:.0f} MB", ""),
        ]
    if "reconcile" in results:
        rec = results["reconcile"]
        rows += [
            (
                f"reconcile scan, {rec['files']:,} unchanged",
                f"{rec['scan_s']:.2f} s",
                f"≤ {GOALS['reconcile_s']:.0f} s",
            ),
            ("  index state load", f"{rec['state_load_s']:.2f} s", ""),
        ]
    width = max(len(r[0]) for r in rows) if rows else 10
    print()
    print(f"{'measure':<{width}}  {'result':>14}  goal")
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:>14}  {goal}")
    machine = results["machine"]
    print(
        f"({machine['cpus']} CPUs; load average {machine['load_average_at_start']} → {machine['load_average_at_end']})"
    )


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
