"""Child processes end when their parent dies, even by ``kill -9``: call ``bind_to_parent`` first in each child.

A killed daemon runs no clean-up, so its children (the model process, the
decode and map workers) would live on as orphans holding hundreds of MB.
On Linux the kernel ends them: ``PR_SET_PDEATHSIG`` sends SIGKILL when the
parent goes, which works even while the child is deep in C code holding the
GIL. The signal fires when the *thread* that spawned the child exits, not
the process, so children are spawned only from threads that live as long as
they are needed: the event loop's, the model worker's, and a process pool's
own manager thread. The parent may have died before the call, so the parent
pid is checked right after it. Everywhere (and as a second line on Linux) a
thread waits on the parent's sentinel pipe, which closes when the parent
dies, and ends the process. multiprocessing's resource tracker needs
neither: it exits when the last process holding its pipe (parent and
children) is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def bind_to_parent() -> None:
    """End this (multiprocessing) child when its parent process dies; a no-op in a process that has none."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    if sys.platform.startswith("linux"):
        _die_with_parent_signal()
        if os.getppid() != parent.pid:
            os._exit(0)  # the parent died before the signal was armed: nobody is left to serve
    threading.Thread(target=_watch, args=(parent,), name="photoindex-parent-watch", daemon=True).start()


def bind_to_spawner(parent_pid: int) -> None:
    """The same for a plain subprocess (``python -m``), which multiprocessing does not know as a child.

    On Linux only: elsewhere the parent ends the subprocess on its way out.
    """
    if sys.platform.startswith("linux"):
        _die_with_parent_signal()
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the signal was armed (or this is not its child)


def _die_with_parent_signal() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no prctl (an unusual libc): the sentinel watch still ends us


def _watch(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()  # returns when the parent's sentinel pipe closes, even if it already has
    os._exit(0)


__all__ = ["bind_to_parent", "bind_to_spawner"]
