"""The daemon: the composition root, and the long-running watcher/indexer behind ``photoindex serve``.

Other subpackages (the query API) import the status record from here; the
daemon itself is ``photoindex.daemon.serve`` (imported on demand: it pulls in
watchdog and uvicorn, which ``photoindex index`` does not need).
"""

from photoindex.daemon.status import (
    DaemonStatus,
    ModelStatus,
    Problem,
    QueueStatus,
    StatusProvider,
    WatchedRoot,
    read_status,
)

__all__ = [
    "DaemonStatus",
    "ModelStatus",
    "Problem",
    "QueueStatus",
    "StatusProvider",
    "WatchedRoot",
    "read_status",
]
