"""Run the models in a child process, so that unloading them gives all their memory back.

Importing torch and open_clip costs a process ~350 MB that Python never
returns (modules cannot be un-imported), before any weights load. The daemon
therefore keeps torch out of its own process: a spawned child loads the
embedder and the captioner, and exits when the model worker unloads them
after its idle TTL. ``RemoteEmbedder`` and ``RemoteCaptioner`` implement the
``ImageEmbedder`` and ``Captioner`` protocols by sending uint8 pixels and
texts over a pipe as tagged messages (``process_messages``); every failure
comes back as ``ModelError``. The child dies with its parent (``photoindex.lifeline``), and
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
from typing import TYPE_CHECKING

import msgspec
import numpy as np
import structlog

from photoindex.config import ModelSettings
from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.models import process_messages as msg
from photoindex.indexer.models.factories import load_captioner_for, load_embedder_for
from photoindex.indexer.models.openmp import prefer_passive_waits
from photoindex.indexer.models.worker import ModelWorker
from photoindex.indexer.priority import INDEX_THREAD_NAME, low_priority_executor, on_low_priority_thread

if TYPE_CHECKING:
    from photoindex.indexer.models.captioner import Captioner
    from photoindex.indexer.models.embedder import ImageEmbedder

log = structlog.get_logger(__name__)

# How long a child may take to stop after being asked, before it is killed.
STOP_GRACE_S = 3.0
_LOADS: dict[str, msg.Load] = {"embedder": msg.LoadEmbedder(), "captioner": msg.LoadCaptioner()}


class ModelProcess:
    """One child process hosting the models; started on first use, stopped when no model needs it."""

    def __init__(self, model: ModelSettings, cache_dir: Path, *, log_level: str = "warning") -> None:
        self._model = msgspec.json.encode(model)
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

    def load_embedder(self) -> msg.EmbedderLoaded:
        """Load the embedder in the child; returns its description."""
        reply = self._load("embedder")
        if not isinstance(reply, msg.EmbedderLoaded):
            raise _unexpected(reply)
        return reply

    def load_captioner(self) -> msg.CaptionerLoaded:
        """Load the captioner in the child; returns its description."""
        reply = self._load("captioner")
        if not isinstance(reply, msg.CaptionerLoaded):
            raise _unexpected(reply)
        return reply

    def _load(self, kind: str) -> msg.Reply:
        reply = self.call(_LOADS[kind])
        with self._lock:
            self._users.add(kind)
        return reply

    def release(self, kind: str) -> None:
        """The caller no longer needs ``kind`` ("embedder" or "captioner"); the child exits when nothing is loaded."""
        with self._lock:
            self._users.discard(kind)
            last = not self._users
        if last:
            self.stop()

    def call(self, request: msg.Load | msg.Compute) -> msg.Reply:
        """Run ``request`` in the child (starting it if needed); a child that died is restarted once.

        Raises ``ModelError`` when the call fails there or the child cannot be brought back."""
        try:
            return self._call_once(request)
        except _ChildDied as exc:
            if isinstance(request, msg.LoadEmbedder | msg.LoadCaptioner) or self._killed:
                raise _failure(request, str(exc)) from exc
            log.warning("models.process_died", op=msg.name_of(request), error=str(exc))
        try:
            for kind in sorted(self._users):  # a fresh child: load what the old one held, then retry
                self._call_once(_LOADS[kind])
            return self._call_once(request)
        except _ChildDied as exc:
            raise _failure(request, str(exc)) from exc

    def _call_once(self, request: msg.Load | msg.Compute) -> msg.Reply:
        if on_low_priority_thread() and not isinstance(request, msg.LoadEmbedder | msg.LoadCaptioner):
            # indexing work: the child runs it at low priority too
            request = msgspec.structs.replace(request, low_priority=True)
        with self._lock:
            conn = self._ensure()
            try:
                conn.send_bytes(msg.encode(request))
                reply = msg.decode_reply(conn.recv_bytes())
            except (EOFError, OSError) as exc:
                self._reap()
                died = f"the model process died during {msg.name_of(request)} ({exc.__class__.__name__})"
                raise _ChildDied(died) from exc
        if isinstance(reply, msg.Failed):
            raise ModelError(reply.message, code=ErrorCode(reply.code))
        return reply

    def stop(self) -> None:
        """Ask the child to exit; kill it if it does not."""
        with self._lock:
            conn, process = self._conn, self._process
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.send_bytes(msg.encode(msg.Stop()))
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
        info = host.load_embedder()
        self._host = host
        self.model_id = info.model_id
        self.dim = info.dim
        self.input_size = info.input_size
        self.random_weights = info.random_weights
        self.preferred_batch_size = info.batch_size

    def embed_images(self, pixels: np.ndarray) -> np.ndarray:
        return _vectors(self._host.call(msg.EmbedImages(msg.Array.of(pixels))))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return _vectors(self._host.call(msg.EmbedTexts(list(texts))))

    def close(self) -> None:
        self._host.release("embedder")


class RemoteCaptioner:
    """A ``Captioner`` whose model lives in a ``ModelProcess``."""

    def __init__(self, host: ModelProcess) -> None:
        info = host.load_captioner()
        self._host = host
        self.model_id = info.model_id
        self.input_size = info.input_size
        self.random_weights = info.random_weights

    def caption(self, pixels: np.ndarray) -> list[str]:
        reply = self._host.call(msg.Caption(msg.Array.of(pixels)))
        if not isinstance(reply, msg.Captions):
            raise _unexpected(reply)
        return reply.captions

    def close(self) -> None:
        self._host.release("captioner")


def build_remote_model_worker(
    model: ModelSettings, cache_dir: Path, *, log_level: str = "warning"
) -> tuple[ModelWorker, ModelProcess]:
    """The daemon's model worker: models in a child process, unloaded (the child ends) when idle."""
    host = ModelProcess(model, cache_dir, log_level=log_level)

    def load_embedder() -> ImageEmbedder:
        return RemoteEmbedder(host)

    def load_captioner() -> Captioner:
        return RemoteCaptioner(host)

    worker = ModelWorker(
        load_embedder,
        load_captioner if model.captions != "off" else None,
        batch_size=model.batch_size,
        idle_unload_s=model.idle_unload_s,
    )
    return worker, host


class _ChildDied(Exception):
    pass


def _vectors(reply: msg.Reply) -> np.ndarray:
    if not isinstance(reply, msg.Vectors):
        raise _unexpected(reply)
    return reply.vectors.to_numpy()


def _unexpected(reply: msg.Reply) -> ModelError:
    return ModelError(f"the model process answered {msg.name_of(reply)} unexpectedly", code=ErrorCode.MODEL_UNAVAILABLE)


def _failure(request: msg.Request, reason: str) -> ModelError:
    """``reason`` as the model worker reports it: a failed load, else a failed batch of the request's kind."""
    if isinstance(request, msg.LoadEmbedder):
        return ModelError(f"could not load the embedder: {reason}", code=ErrorCode.MODEL_UNAVAILABLE)
    if isinstance(request, msg.LoadCaptioner):
        return ModelError(f"could not load the captioner: {reason}", code=ErrorCode.MODEL_UNAVAILABLE)
    code = ErrorCode.CAPTION if isinstance(request, msg.Caption) else ErrorCode.EMBED
    return ModelError(f"inference failed: {reason}", code=code)


def _child_main(conn: Connection, model_json: bytes, cache_dir: str, log_level: str) -> None:
    """The child: load models on request and answer calls until told to stop or the parent goes."""
    from photoindex.lifeline import bind_to_parent

    bind_to_parent()  # the pipe's EOF is seen only between calls; a kill -9 mid-batch must end us too
    from photoindex.logs import configure_logging

    configure_logging(level=log_level)
    models = _ChildModels(msgspec.json.decode(model_json, type=ModelSettings), Path(cache_dir))
    low = low_priority_executor(INDEX_THREAD_NAME)  # indexing calls; the main thread serves queries
    while True:
        try:
            request = msg.decode_request(conn.recv_bytes())
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if isinstance(request, msg.Stop):
            return
        try:
            if isinstance(request, msg.EmbedImages | msg.EmbedTexts | msg.Caption) and request.low_priority:
                reply = low.submit(models.serve, request).result()
            else:
                reply = models.serve(request)
        except ModelError as exc:
            reply = msg.Failed(str(exc.code), exc.message)
        except ValueError as exc:
            reply = _as_failed(_failure(request, str(exc)))
        except Exception as exc:  # sent to the parent, which decides; the child keeps serving
            reply = _as_failed(_failure(request, f"{exc.__class__.__name__}: {exc}"))
        try:
            conn.send_bytes(msg.encode(reply))
        except (OSError, EOFError):
            return


def _as_failed(error: ModelError) -> msg.Failed:
    return msg.Failed(str(error.code), error.message)


class _ChildModels:
    """The models loaded in the child, and the one call each request makes of them."""

    def __init__(self, model: ModelSettings, cache_dir: Path) -> None:
        self._model = model
        self._cache_dir = cache_dir
        self._embedder: ImageEmbedder | None = None
        self._captioner: Captioner | None = None

    def serve(self, request: msg.Load | msg.Compute) -> msg.Reply:
        if isinstance(request, msg.LoadEmbedder):
            embedder = self._embedder = self._embedder or load_embedder_for(self._model, self._cache_dir)
            return msg.EmbedderLoaded(
                embedder.model_id,
                embedder.dim,
                embedder.input_size,
                embedder.random_weights,
                _batch_size(embedder, self._model.batch_size),
            )
        if isinstance(request, msg.LoadCaptioner):
            captioner = self._captioner = self._captioner or load_captioner_for(self._model)
            return msg.CaptionerLoaded(captioner.model_id, captioner.input_size, captioner.random_weights)
        if isinstance(request, msg.Caption):
            if self._captioner is None:
                raise ModelError("the captioner is not loaded", code=ErrorCode.CAPTION)
            return msg.Captions(self._captioner.caption(request.pixels.to_numpy()))
        if self._embedder is None:
            raise ModelError("the embedder is not loaded", code=ErrorCode.EMBED)
        if isinstance(request, msg.EmbedImages):
            return msg.Vectors(msg.Array.of(self._embedder.embed_images(request.pixels.to_numpy())))
        return msg.Vectors(msg.Array.of(self._embedder.embed_texts(request.texts)))


def _batch_size(embedder: ImageEmbedder, configured: int) -> int:
    """Images per batch for the parent: configured, else probed from free memory on CUDA."""
    from photoindex.indexer.models.worker import CPU_BATCH

    device = getattr(embedder, "device", None)
    if configured > 0:
        return configured
    if device is None or device.type != "cuda":
        return CPU_BATCH
    from photoindex.indexer.models.device import probe_batch_size

    return probe_batch_size(device, embedder.bytes_per_image(), configured)  # type: ignore[attr-defined]


__all__ = ["ModelProcess", "RemoteCaptioner", "RemoteEmbedder", "build_remote_model_worker"]
