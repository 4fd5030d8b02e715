"""Decode files in worker processes, each decode bounded in time and memory.

A decode that hangs (a fuzzed file sending a parser into a loop) is given up
after ``timeout_s``: its worker processes are killed and a fresh pool takes
over; the other decodes that were in flight are resubmitted, since they were
not at fault. Each worker also runs under an address-space limit, so a file
that makes a decoder eat memory fails with ``ERR_TOO_LARGE`` instead of
taking the daemon with it. Workers run at low CPU and I/O priority
(``priority.lower_this_process``): decoding is indexing work, and the daemon
that asks for it keeps its normal priority for queries.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog

from photoindex.errors import ErrorCode, FileError
from photoindex.indexer.decoding.decode import decode_photo
from photoindex.indexer.priority import lower_this_process
from photoindex.indexer.records import DecodedImage, DecodeRequest
from photoindex.lifeline import bind_to_parent
from photoindex.logs import ChildLogging, child_logging, configure_child_logging

log = structlog.get_logger(__name__)

# Each worker may map this much; a 24 MP RGB decode needs ~100 MB, a 100 MP one ~400 MB.
DEFAULT_MEMORY_LIMIT = 3 << 30
# Workers are replaced now and then so a slow leak in a codec never accumulates.
TASKS_PER_WORKER = 2000
# A file whose decode broke the pool this many times is blamed for it.
MAX_POOL_BREAKS = 2
# What a worker is called in top, ps and /proc/<pid>/comm (at most 15 bytes).
DECODE_WORKER_NAME = "photoidx-decode"


def _init_worker(memory_limit: int, logging_config: ChildLogging | None) -> None:
    lower_this_process(DECODE_WORKER_NAME)  # first, so the threads started below inherit it
    # Log like the parent, through it: a bare structlog would print to stdout, in another format.
    configure_child_logging(logging_config)
    if sys.platform.startswith("linux") and memory_limit > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    # One decode per process: libjpeg/numpy threads would only fight each other.
    os.environ["OMP_NUM_THREADS"] = "1"
    bind_to_parent()


def _decode_in_worker(path: str, request: DecodeRequest) -> DecodedImage:
    try:
        return decode_photo(path, request)
    except MemoryError:
        raise FileError(f"decoding {path} needed more memory than a worker may use", code=ErrorCode.TOO_LARGE) from None


class DecodePool:
    """A process pool for ``decode_photo`` with per-decode timeouts and recycling."""

    def __init__(self, workers: int, *, timeout_s: float = 60.0, memory_limit: int = DEFAULT_MEMORY_LIMIT) -> None:
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self.memory_limit = memory_limit
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0
        self._closed = False
        self.recycled = 0

    def _pool(self) -> tuple[ProcessPoolExecutor, int]:
        with self._lock:
            if self._closed:
                # Not a FileError: nothing about the file is known, and nothing may be recorded.
                raise RuntimeError("the decode pool is closed")
            if self._executor is None:
                # spawn: the parent holds torch and threads, which fork would copy half-initialised.
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.memory_limit, child_logging()),
                    max_tasks_per_child=TASKS_PER_WORKER,
                )
                self._generation += 1
            return self._executor, self._generation

    def warm_up(self) -> None:
        """Start the workers now (spawning costs ~0.3 s each) rather than on the first file.

        Call it from a thread that lives as long as the pool (the event loop's): the workers are
        spawned by the calling thread, and they end when it does (``photoindex.lifeline``).
        """
        pool, _ = self._pool()
        for future in [pool.submit(os.getpid) for _ in range(self.workers)]:
            future.result()

    def _recycle(self, generation: int, reason: str) -> None:
        with self._lock:
            if generation != self._generation or self._executor is None:
                return  # someone already replaced this pool
            executor, self._executor = self._executor, None
            self.recycled += 1
        processes = list(getattr(executor, "_processes", {}).values())
        for process in processes:
            process.kill()
        # No cancel_futures: queued decodes then fail with BrokenProcessPool and are resubmitted.
        executor.shutdown(wait=False)
        log.warning("decode.pool_recycled", reason=reason, killed=len(processes))

    async def decode(self, path: str, request: DecodeRequest) -> DecodedImage:
        """Decode one file; raises FileError (with ``ERR_DECODE_TIMEOUT`` for a hang)."""
        breaks = 0
        while True:
            pool, generation = self._pool()
            try:
                future: Future[DecodedImage] = pool.submit(_decode_in_worker, path, request)
            except BrokenProcessPool:
                self._recycle(generation, "pool unusable")
                continue
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout_s)
            except TimeoutError:
                self._recycle(generation, f"decode of {path} exceeded {self.timeout_s:g} s")
                raise FileError(
                    f"decoding took longer than {self.timeout_s:g} s; the worker was stopped",
                    code=ErrorCode.DECODE_TIMEOUT,
                ) from None
            except BrokenProcessPool:
                breaks += 1
                self._recycle(generation, "a worker died")
                if breaks >= MAX_POOL_BREAKS:
                    raise FileError("the decoder crashed on this file", code=ErrorCode.DECODE) from None
            except asyncio.CancelledError:
                future.cancel()
                raise

    def close(self, grace_s: float = 5.0) -> None:
        """Stop the workers: queued decodes are dropped, a running one gets ``grace_s`` to finish."""
        with self._lock:
            self._closed = True
        self.release(grace_s)

    def release(self, grace_s: float = 5.0) -> None:
        """Stop the worker processes but stay usable: the next decode starts fresh ones (an idle daemon's memory)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace_s
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()  # a decode stuck in a codec or on a dead mount
