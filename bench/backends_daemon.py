"""What a daemon sees of each inference backend: text queries over HTTP, memory with the models unloaded, ingest.

Used by bench/backends.py, so that one run prints every row of the backends'
goals:

- text queries over HTTP: the API served by uvicorn on loopback, as the
  daemon serves it, over an embedded store of random points, one server per
  CLIP variant (each with its own model worker and embedding cache) and the
  same new texts sent to each, in rotating order, round after round;
- idle memory with the models unloaded: a fresh process holding the daemon's
  model worker (models in a child process) with one backend, after it loaded
  the model, embedded a batch and a text, and unloaded it (the child ends);
  what stays is the daemon's own side, which should not depend on the backend;
- the ingest pipeline: ``bench/ingest.py --backends``, each backend in its
  own process on the same generated inputs (bench/ingest_backends.py).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from photoindex.indexer.models.ids import ClipSpec
from photoindex.indexer.models.worker import ModelWorker
from query import Server, fill, summary, text_target


def http_text_queries(
    embedders: dict[str, Any], work: Path, points: int, per_round: int, rounds: int
) -> dict[str, Any]:
    """p50/p95 of new text queries over HTTP with each variant's text tower; p95 against torch's."""
    reference = embedders["torch"]
    spec = ClipSpec(
        model_id=reference.model_id, dim=reference.dim, image_size=reference.input_size, random_weights=True
    )
    store = fill(work / "http-store", points, spec.dim)
    samples: dict[str, list[float]] = {name: [] for name in embedders}
    try:
        with contextlib.ExitStack() as stack:
            servers = {}
            for name, embedder in embedders.items():
                models = ModelWorker(lambda embedder=embedder: embedder)
                stack.callback(models.close)
                servers[name] = stack.enter_context(Server(store, models, spec, work / f"http-{name}"))
            for server in servers.values():
                server.timed("GET", text_target(-1))  # the first request loads the model
                server.timed("GET", "/api/v1/duplicates?kind=exact&wait_s=10")  # the start-up library read
            names = list(servers)
            for r in range(rounds):
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    for q in range(per_round):
                        samples[name].append(servers[name].timed("GET", text_target(r * per_round + q)))
    finally:
        store.close()
    out: dict[str, Any] = {"points": points, "by_variant": {name: summary(s) for name, s in samples.items()}}
    base = out["by_variant"]["torch"]["p95_ms"]
    out["p95_ratio_to_torch"] = {name: round(s["p95_ms"] / base, 3) for name, s in out["by_variant"].items()}
    return out


def unloaded_rss(clip: str, cache: Path, names: list[str]) -> dict[str, Any]:
    """Per backend: MiB resident in a daemon-like process once its models were used and unloaded."""
    out = {}
    for name in names:
        # Its own small script: this process has torch and the benchmark's imports loaded, a daemon does not.
        cmd = [sys.executable, str(Path(__file__).with_name("unloaded_rss.py")), clip, name, str(cache)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=900)
        out[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def ingest_pipeline(args: Any, work: Path, names: list[str]) -> dict[str, Any]:
    """``bench/ingest.py --backends`` (its own table goes to this run's output); its per-backend result."""
    out = work / "ingest-backends.json"
    cmd = [sys.executable, str(Path(__file__).with_name("ingest.py")), "--backends", ",".join(names)]
    cmd += ["--out", str(out), "--tmp", str(work)] + (["--quick"] if args.quick else [])
    cmd += ["--clip", args.clip] if args.clip else []
    cmd += ["--inputs", str(args.ingest_inputs)] if args.ingest_inputs else []
    subprocess.run(cmd, check=True, timeout=3600)
    return dict(json.loads(out.read_text(encoding="utf-8"))["backends"])


__all__ = ["http_text_queries", "ingest_pipeline", "unloaded_rss"]
