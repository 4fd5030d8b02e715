"""Run the models in a child process, so that unloading them gives all their memory back.

Importing torch and open_clip costs a process ~350 MB that Python never
returns (modules cannot be un-imported), before any weights load. The daemon
therefore keeps torch out of its own process: a spawned child loads the
embedder and the captioner, and exits when the model worker unloads them
after its idle TTL. ``RemoteEmbedder`` and ``RemoteCaptioner`` implement the
``ImageEmbedder`` and ``Captioner`` protocols by sending uint8 pixels and
texts over a pipe (a batch of 16 images at 224 px is 2.4 MB: about a
millisecond). The child dies with its parent (``photoindex.lifeline``), and
reads the pipe until EOF.

The child runs at the daemon's (normal) priority, and so do loads and query
embeddings; a call made from the model worker's low-priority thread
(indexing batches, captions) runs on a low-priority thread in the child too,
so the CPU the models use for indexing yields to queries and to other
programs, while a query's text encoding does not.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import structlog

from photoindex.config import ModelSettings
from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.models.openmp import prefer_passive_waits
from photoindex.indexer.priority import INDEX_THREAD_NAME, low_priority_executor, on_low_priority_thread

log = structlog.get_logger(__name__)

# How long a child may take to stop after being asked, before it is killed.
STOP_GRACE_S = 3.0


class ModelProcess:
    """One child process hosting the models; started on first use, stopped when no model needs it."""

    def __init__(self, model: ModelSettings, cache_dir: Path, *, log_level: str = "warning") -> None:
        self._model = msgspec.to_builtins(model)
        self._cache_dir = str(cache_dir)
        self._log_level = log_level
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._users: set[str] = set()  # which models are loaded in the child
        # Set by ``kill`` (shutdown): no new child may start, so a call in flight fails instead of
        # restarting one and waiting for it to load (the daemon's exit waited on that for minutes).
        self._killed = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def load(self, kind: str) -> dict[str, Any]:
        """Load ``kind`` ("embedder" or "captioner") in the child; returns its description."""
        info: dict[str, Any] = self.call(f"load_{kind}")
        with self._lock:
            self._users.add(kind)
        return info

    def release(self, kind: str) -> None:
        """The caller no longer needs ``kind``; the child exits when nothing is loaded."""
        with self._lock:
            self._users.discard(kind)
            last = not self._users
        if last:
            self.stop()

    def call(self, op: str, *args: Any) -> Any:
        """Run ``op`` in the child (starting it if needed); a child that died is restarted once."""
        try:
            return self._call_once(op, args)
        except _ChildDied as exc:
            if op.startswith("load_") or self._killed:
                raise RuntimeError(str(exc)) from exc
            log.warning("models.process_died", op=op, error=str(exc))
        try:
            for kind in sorted(self._users):  # a fresh child: load what the old one held, then retry
                self._call_once(f"load_{kind}", ())
            return self._call_once(op, args)
        except _ChildDied as exc:
            raise RuntimeError(str(exc)) from exc

    def _call_once(self, op: str, args: tuple[Any, ...]) -> Any:
        low = on_low_priority_thread()  # indexing work: the child runs it at low priority too
        with self._lock:
            conn = self._ensure()
            try:
                conn.send((op, args, low))
                reply = conn.recv()
            except (EOFError, OSError) as exc:
                self._reap()
                raise _ChildDied(f"the model process died during {op} ({exc.__class__.__name__})") from exc
        return _result(reply)

    def stop(self) -> None:
        """Ask the child to exit; kill it if it does not."""
        with self._lock:
            conn, process = self._conn, self._process
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.send(("stop", (), False))
            if process is not None:
                process.join(STOP_GRACE_S)
            self._reap()

    def kill(self) -> None:
        """Stop at once (shutdown): whatever the child was computing is abandoned, and no child starts again."""
        self._killed = True
        process = self._process
        if process is not None and process.is_alive():
            process.kill()

    def _ensure(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        self._reap()
        if self._killed:
            raise _ChildDied("the model process was stopped: the daemon is shutting down")
        prefer_passive_waits()  # the child inherits it before it imports torch
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(
            target=_child_main,
            args=(child, self._model, self._cache_dir, self._log_level),
            name="photoindex-models",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        log.info("models.process_started", pid=process.pid)
        return parent

    def _reap(self) -> None:
        conn, process = self._conn, self._process
        self._conn = self._process = None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join(STOP_GRACE_S)
            log.info("models.process_stopped", pid=process.pid, exitcode=process.exitcode)


class RemoteEmbedder:
    """An ``ImageEmbedder`` whose model lives in a ``ModelProcess``."""

    def __init__(self, host: ModelProcess) -> None:
        info = host.load("embedder")
        self._host = host
        self.model_id: str = info["model_id"]
        self.dim: int = info["dim"]
        self.input_size: int = info["input_size"]
        self.random_weights: bool = info["random_weights"]
        self.preferred_batch_size: int = info["batch_size"]

    def embed_images(self, pixels: np.ndarray) -> np.ndarray:
        result: np.ndarray = self._host.call("embed_images", np.ascontiguousarray(pixels))
        return result

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        result: np.ndarray = self._host.call("embed_texts", list(texts))
        return result

    def close(self) -> None:
        self._host.release("embedder")


class RemoteCaptioner:
    """A ``Captioner`` whose model lives in a ``ModelProcess``."""

    def __init__(self, host: ModelProcess) -> None:
        info = host.load("captioner")
        self._host = host
        self.model_id: str = info["model_id"]
        self.input_size: int = info["input_size"]
        self.random_weights: bool = info["random_weights"]

    def caption(self, pixels: np.ndarray) -> list[str]:
        result: list[str] = self._host.call("caption", np.ascontiguousarray(pixels))
        return result

    def close(self) -> None:
        self._host.release("captioner")


class _ChildDied(Exception):
    pass


def _result(reply: tuple[Any, ...]) -> Any:
    status = reply[0]
    if status == "ok":
        return reply[1]
    _status, kind, code, message = reply
    if kind == "model":
        raise ModelError(message, code=ErrorCode(code))
    if kind == "value":
        raise ValueError(message)
    raise RuntimeError(message)  # the model worker turns this into ERR_EMBED / ERR_CAPTION


def _child_main(conn: Connection, model_raw: dict[str, Any], cache_dir: str, log_level: str) -> None:
    """The child: load models on request and answer calls until told to stop or the parent goes."""
    from photoindex.lifeline import bind_to_parent

    bind_to_parent()  # the pipe's EOF is seen only between calls; a kill -9 mid-batch must end us too
    from photoindex.logs import configure_logging

    configure_logging(level=log_level)
    model = msgspec.convert(model_raw, ModelSettings)
    models: dict[str, Any] = {}
    low = low_priority_executor(INDEX_THREAD_NAME)  # indexing calls; the main thread serves queries
    while True:
        try:
            op, args, on_low = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if op == "stop":
            return
        try:
            if on_low and op in _COMPUTE_OPS:
                reply = low.submit(_serve, op, args, model, Path(cache_dir), models).result()
            else:
                reply = _serve(op, args, model, Path(cache_dir), models)
            message: tuple[Any, ...] = ("ok", reply)
        except ModelError as exc:
            message = ("error", "model", str(exc.code), exc.message)
        except ValueError as exc:
            message = ("error", "value", "", str(exc))
        except Exception as exc:  # sent to the parent, which decides; the child keeps serving
            message = ("error", "runtime", "", f"{exc.__class__.__name__}: {exc}")
        try:
            conn.send(message)
        except (OSError, EOFError):
            return


_COMPUTE_OPS = frozenset({"embed_images", "embed_texts", "caption"})


def _serve(op: str, args: tuple[Any, ...], model: ModelSettings, cache_dir: Path, models: dict[str, Any]) -> Any:
    """One call in the child: load a model (kept in ``models``) or compute with one."""
    from photoindex.daemon.supervisor import load_captioner_for, load_embedder_for

    if op == "load_embedder":
        if "embedder" not in models:
            models["embedder"] = load_embedder_for(model, cache_dir)
        embedder = models["embedder"]
        return {
            "model_id": embedder.model_id,
            "dim": embedder.dim,
            "input_size": embedder.input_size,
            "random_weights": embedder.random_weights,
            "batch_size": _batch_size(embedder, model.batch_size),
        }
    if op == "load_captioner":
        if "captioner" not in models:
            models["captioner"] = load_captioner_for(model)
        captioner = models["captioner"]
        return {
            "model_id": captioner.model_id,
            "input_size": captioner.input_size,
            "random_weights": captioner.random_weights,
        }
    if op == "embed_images":
        return models["embedder"].embed_images(*args)
    if op == "embed_texts":
        return models["embedder"].embed_texts(*args)
    if op == "caption":
        return models["captioner"].caption(*args)
    raise ValueError(f"unknown model operation {op!r}")


def _batch_size(embedder: Any, configured: int) -> int:
    """Images per batch for the parent: configured, else probed from free memory on CUDA."""
    from photoindex.indexer.models.worker import CPU_BATCH

    device = getattr(embedder, "device", None)
    if configured > 0:
        return configured
    if device is None or device.type != "cuda":
        return CPU_BATCH
    from photoindex.indexer.models.device import probe_batch_size

    return probe_batch_size(device, embedder.bytes_per_image(), configured)


__all__ = ["ModelProcess", "RemoteCaptioner", "RemoteEmbedder"]
