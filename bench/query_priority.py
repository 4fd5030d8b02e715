"""Text queries over HTTP against a real ``photoindex serve``: after the idle unload, and on a busy machine.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/query_priority.py               # ViT-B-32 (random weights)
    HF_HUB_OFFLINE=1 .venv/bin/python bench/query_priority.py --as-unit     # at the priority the systemd unit sets
    HF_HUB_OFFLINE=1 .venv/bin/python bench/query_priority.py --quick       # tiny model (a smoke run)

The daemon runs as a real process with the query API on, captions off and
``model.idle_unload_s = --ttl`` (default 5 s), on a library of a few photos.
``--as-unit`` starts it with the priority settings of the rendered systemd
user unit (``Nice``, ``CPUSchedulingPolicy=idle``, ``IOSchedulingClass``),
as ``photoindex service install`` would run it; without it, the daemon runs
at this process's priority (the same, since the unit sets none).

1. idle: once the models and decode workers are gone (one TTL without work),
   VmRSS of the daemon process and of it plus its children;
2. first query after the idle unload, ``--cold`` times: the HTTP status and
   the seconds until the answer (the query waits for the model to load);
3. contended: ``--hogs`` (default: one per CPU) busy-loop processes at
   normal priority keep every core busy, and ``--queries`` distinct text
   queries (no embedding-cache hits), one every ``--spacing`` s, are timed
   end to end over HTTP; p50 / p95 / max. The goal is p95 ≤ 1 s.

Prints a table and writes JSON (default ``bench/results/query-priority-<time>.json``).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # random weights: nothing to download

import argparse
import configparser
import json
import multiprocessing
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

from photoindex.service_units import render_systemd_unit, serve_command  # noqa: E402

GOALS = {"contended_p95_s": 1.0, "idle_rss_mb": 300.0}
IDLE_SETTLE_S = 180.0  # the longest wait, after the models' unload, for the other children to go
WORDS = ["red", "kite", "beach", "dog", "cat", "mountain", "snow", "city", "night", "river", "boat", "forest"]


def unit_priority() -> dict[str, str]:
    """The priority keys of the systemd unit ``photoindex service install`` writes."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(render_systemd_unit(serve_command(None)))
    keys = ("Nice", "CPUSchedulingPolicy", "IOSchedulingClass")
    return {key: parser["Service"][key] for key in keys if key in parser["Service"]}


def _apply_priority(settings: dict[str, str]) -> None:
    """preexec_fn: what systemd does for those keys, done to the child before it runs photoindex."""
    if "Nice" in settings:
        os.setpriority(os.PRIO_PROCESS, 0, int(settings["Nice"]))
    if settings.get("CPUSchedulingPolicy") == "idle":
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _command(settings: dict[str, str], argv: list[str]) -> list[str]:
    io_class = settings.get("IOSchedulingClass")
    if io_class == "idle" and subprocess.run(["which", "ionice"], capture_output=True).returncode == 0:
        return ["ionice", "-c", "3", *argv]
    return argv


def _hog() -> None:
    while True:
        pass


def _get(url: str, timeout: float = 180) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return response.status, time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, time.perf_counter() - started


def _json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _wait(condition: Any, timeout: float, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the daemon exited with {process.returncode}")
        try:
            if condition():
                return
        except (urllib.error.URLError, ConnectionError, KeyError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"timed out waiting for {what}")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    found = []  # each thread's children: the model process is started by a worker thread
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _comm(pid: int) -> str:
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:80]
        return f"{name} {_rss_mb(pid):.0f} MB: {command}"
    except OSError:
        return "?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _model(quick: bool, work: Path) -> dict[str, str]:
    if not quick:
        return {"clip": "ViT-B-32", "weights": "random", "captions": "off"}
    from tiny_models import tiny_clip_config

    return {"clip": str(tiny_clip_config(work / "models" / "tiny-clip.json")), "weights": "random", "captions": "off"}


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from PIL import Image

    lib = work / "lib"
    lib.mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (640, 480), (60 * i, 120, 200 - 40 * i)).save(lib / f"p{i}.jpg", quality=90)
    port = _free_port()
    lines = ["[model]", *(f"{k} = {json.dumps(v)}" for k, v in _model(args.quick, work).items())]
    lines += [f"idle_unload_s = {args.ttl}", "[api]", f"port = {port}", "[paths]"]
    lines += [f'{name} = "{work / name}"' for name in ("data_dir", "cache_dir", "state_dir")]
    config = work / "config.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    priority = unit_priority() if args.as_unit else {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOINDEX_", "NOTIFY_SOCKET", "WATCHDOG_"))}
    argv = [sys.executable, "-m", "photoindex", "--config", str(config), "serve", str(lib)]
    log = open(work / "daemon.log", "wb")  # noqa: SIM115 - closed below, after the process ends
    process = subprocess.Popen(
        _command(priority, argv),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        preexec_fn=lambda: _apply_priority(priority),
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    hogs: list[multiprocessing.Process] = []
    results: dict[str, Any] = {"unit_priority": priority, "ttl_s": args.ttl}
    try:
        _wait(lambda: _json(f"{base}/ready")["ready"], 300, process, "the daemon to be ready")
        _wait(lambda: _json(f"{base}/status")["daemon"]["photos"]["indexed"] == 4, 300, process, "4 photos indexed")

        def unloaded() -> bool:
            models = _json(f"{base}/status")["daemon"]["models"]
            return bool(models["embedder"] == "unloaded" and models["unloads"] > unloads)

        cold = []
        for round_ in range(args.cold):
            unloads = _json(f"{base}/status")["daemon"]["models"]["unloads"]
            _wait(unloaded, args.ttl + 600, process, "the idle unload")
            if round_ == 0:
                time.sleep(args.ttl + 3)  # the decode workers and the map worker go one TTL after their last work
                # The map's first fit (UMAP compiles for 10-20 s) can outlast that: idle is once it is gone too.
                waited = time.monotonic()
                while any("resource_tracker" not in _comm(c) for c in _children(process.pid)):
                    if time.monotonic() - waited > IDLE_SETTLE_S:
                        break
                    time.sleep(0.5)
                results["idle_settled_after_s"] = round(time.monotonic() - waited + args.ttl + 3, 1)
                results["children_alive_when_idle"] = {c: _comm(c) for c in _children(process.pid)}
                results["idle_rss_mb"] = round(_rss_mb(process.pid), 1)
                results["idle_rss_with_children_mb"] = round(
                    _rss_mb(process.pid) + sum(_rss_mb(c) for c in _children(process.pid)), 1
                )
            status, seconds = _get(f"{base}/search/text?q=first+after+idle+{round_}")
            cold.append({"status": status, "seconds": round(seconds, 3)})
            print(f"first query after the idle unload: {status} in {seconds:.2f} s", flush=True)
        results["first_after_idle"] = cold

        # The model loaded before the cores get busy (a daemon that answers 503 while loading is asked again).
        _wait(lambda: _get(f"{base}/search/text?q=warm")[0] == 200, 300, process, "a warm model")
        hogs = [multiprocessing.Process(target=_hog, daemon=True) for _ in range(args.hogs or os.cpu_count() or 2)]
        for hog in hogs:
            hog.start()
        time.sleep(1.0)
        timings, statuses = [], []
        for i in range(args.queries):
            text = f"{WORDS[i % len(WORDS)]} {WORDS[(i * 7 + 3) % len(WORDS)]} {i}"
            status, seconds = _get(f"{base}/search/text?q={urllib.parse.quote(text)}")
            statuses.append(status)
            timings.append(seconds)
            time.sleep(args.spacing)
        timings.sort()
        results["contended"] = {
            "hogs": len(hogs),
            "queries": len(timings),
            "non_200": sum(1 for s in statuses if s != 200),
            "p50_s": round(statistics.median(timings), 3),
            "p95_s": round(timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))], 3),
            "max_s": round(timings[-1], 3),
        }
    finally:
        for hog in hogs:
            hog.kill()
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        log.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny model, few queries")
    parser.add_argument("--as-unit", action="store_true", help="run the daemon at the systemd unit's priority")
    parser.add_argument("--ttl", type=float, default=5.0, help="model.idle_unload_s (default 5)")
    parser.add_argument("--cold", type=int, default=2, help="first-query-after-idle rounds (default 2)")
    parser.add_argument("--hogs", type=int, default=0, help="busy processes (default: one per CPU)")
    parser.add_argument("--queries", type=int, help="contended text queries (default 40; quick 8)")
    parser.add_argument("--spacing", type=float, default=0.25, help="seconds between contended queries")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/query-priority-<time>.json)")
    args = parser.parse_args(argv)
    args.queries = args.queries or (8 if args.quick else 40)
    results: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "model": "tiny-clip (random)" if args.quick else "ViT-B-32 (random weights), captions off",
        "goals": GOALS,
    }
    with tempfile.TemporaryDirectory(prefix="photoindex-query-priority-") as temp:
        results |= run(args, Path(temp))
    results["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    contended = results["contended"]
    print()
    print(f"unit priority applied:        {results['unit_priority'] or 'none'}")
    idle = results["idle_rss_mb"], results["idle_rss_with_children_mb"]
    print(
        f"idle RSS, daemon / with children: {idle[0]:.0f} / {idle[1]:.0f} MB"
        f" (children settled {results['idle_settled_after_s']} s after the unload)"
    )
    for i, cold in enumerate(results["first_after_idle"]):
        print(f"first query after idle #{i + 1}:   {cold['status']} in {cold['seconds']:.2f} s")
    print(
        f"contended ({contended['hogs']} hogs), {contended['queries']} text queries: "
        f"p50 {contended['p50_s'] * 1000:.0f} ms, p95 {contended['p95_s'] * 1000:.0f} ms, "
        f"max {contended['max_s'] * 1000:.0f} ms, non-200 {contended['non_200']} (goal p95 ≤ 1 s)"
    )
    print(
        f"({results['cpus']} CPUs; load average {results['load_average_at_start']} → {results['load_average_at_end']})"
    )
    out = args.out or REPO / "bench" / "results" / f"query-priority-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
