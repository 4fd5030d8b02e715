"""Run indexing work at low CPU and I/O priority, and let queries keep the normal one.

The daemon itself runs at normal priority, so the query API, text encoding
and store searches answer quickly on a busy machine. What may wait is
indexing: the decode workers (whole processes) and the embedding and
captioning batches made for indexing (one thread of the model worker, in
whichever process holds the models). On Linux nice values and I/O classes
belong to threads, so one thread can be lowered while the others keep their
priority; threads it starts later (torch's OpenMP team for that thread)
inherit the lowered value. A thread cannot raise its priority back without
privileges, which is why indexing gets threads of its own rather than
lowering and raising one.

Elsewhere (macOS) ``setpriority`` applies to the whole process: the decode
workers are still lowered, and a thread is left as it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

# The nice value of indexing work: the old service unit ran the whole daemon at 10.
INDEXING_NICE = 10
# ioprio_set(2): class "idle" gets the disk only when no one else wants it.
_IOPRIO_WHO_PROCESS = 1
_IOPRIO_CLASS_IDLE = 3
_IOPRIO_CLASS_SHIFT = 13
_SYS_IOPRIO_SET = {"x86_64": 251, "aarch64": 30, "riscv64": 30, "i686": 289, "armv7l": 314, "ppc64le": 273}

# The name of a model worker's indexing thread (and of its OpenMP threads, which inherit it).
INDEX_THREAD_NAME = "photoidx-index"

_low = threading.local()


def lower_this_process(name: str) -> None:
    """For a worker process's initializer, before it starts threads: low CPU and idle I/O priority.

    ``name`` becomes the process's name in ``top`` and ``ps -o comm`` (15 bytes on Linux).
    """
    _set_thread_name(name)
    if sys.platform.startswith("linux"):
        lower_this_thread()  # what this thread starts from now on inherits it
        # Threads started before the initializer (OpenBLAS starts its pool when numpy loads).
        with contextlib.suppress(OSError):
            for tid in map(int, os.listdir("/proc/self/task")):
                _renice(tid)
                _io_idle(tid)
    elif hasattr(os, "setpriority"):
        _renice(0)


def lower_this_thread() -> None:
    """Lower the calling thread's CPU priority (and I/O class on Linux); a no-op where threads have none."""
    _low.active = True  # callers ask on_low_priority_thread(), whatever the platform could do
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    _renice(tid)
    _io_idle(tid)


def on_low_priority_thread() -> bool:
    """True on a thread that ``lower_this_thread`` lowered: its work is indexing work."""
    return bool(getattr(_low, "active", False))


def low_priority_executor(name: str) -> ThreadPoolExecutor:
    """One thread named ``name``, lowered before it runs anything: where a model worker runs indexing jobs."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name, initializer=_start_low_thread, initargs=(name,))


def _start_low_thread(name: str) -> None:
    _set_thread_name(name)
    lower_this_thread()


def _renice(who: int) -> None:
    with contextlib.suppress(OSError):
        current = os.getpriority(os.PRIO_PROCESS, who)
        if current < INDEXING_NICE:  # already lower (the user ran us under nice): keep that
            os.setpriority(os.PRIO_PROCESS, who, INDEXING_NICE)


def _io_idle(tid: int) -> None:
    number = _SYS_IOPRIO_SET.get(platform.machine())
    if number is not None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).syscall(
                number, _IOPRIO_WHO_PROCESS, tid, _IOPRIO_CLASS_IDLE << _IOPRIO_CLASS_SHIFT
            )


def _set_thread_name(name: str) -> None:
    """Name the OS thread (15 bytes on Linux) so ``top -H`` and /proc show what it is."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


__all__ = [
    "INDEXING_NICE",
    "INDEX_THREAD_NAME",
    "low_priority_executor",
    "lower_this_process",
    "lower_this_thread",
    "on_low_priority_thread",
]
