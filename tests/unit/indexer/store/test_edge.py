"""What only the embedded store has: one process per shard directory, and survival of kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from photoindex.errors import ErrorCode, StoreError
from photoindex.indexer.store import EdgeStore, PhotoFilter, PhotoPayload, PhotoPoint, point_id

COLLECTION = "photos-test"

# Writes 300 photos (the last 100 after the flush), says "ok", then waits to be killed.
WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import numpy as np
    from photoindex.indexer.store import EdgeStore, PhotoPayload, PhotoPoint, point_id

    store = EdgeStore.open(Path(sys.argv[1]), sys.argv[2], 8)
    rng = np.random.default_rng(0)
    def batch(start, n):
        return [
            PhotoPoint(id=point_id("h", f"/lib/{i}.jpg"), payload=PhotoPayload(path=f"/lib/{i}.jpg"),
                       vector=rng.standard_normal(8).astype(np.float32) if i % 2 else None)
            for i in range(start, start + n)
        ]
    store.upsert(batch(0, 200))
    store.set_meta({"model_id": "m"})
    store.flush()
    store.upsert(batch(200, 100))
    print("ok", flush=True)
    time.sleep(120)
    """
)


def test_a_second_opener_is_told_the_store_is_in_use(tmp_path: Path) -> None:
    first = EdgeStore.open(tmp_path, COLLECTION, 8)
    try:
        with pytest.raises(StoreError, match="another photoindex process is using") as err:
            EdgeStore.open(tmp_path, COLLECTION, 8)
        assert err.value.code == ErrorCode.STORE_IN_USE
        assert str(tmp_path / COLLECTION) in err.value.message
    finally:
        first.close()
    EdgeStore.open(tmp_path, COLLECTION, 8).close()  # free again once closed


def test_acknowledged_writes_survive_kill_9_of_the_writer(tmp_path: Path) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path), COLLECTION], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None
        lines = iter(writer.stdout.readline, "")
        assert "ok" in (line.strip() for line in lines)  # log lines may come first
        with pytest.raises(StoreError) as err:  # held by another process, not just another handle
            EdgeStore.open(tmp_path, COLLECTION, 8)
        assert err.value.code == ErrorCode.STORE_IN_USE
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(timeout=10) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        if writer.stdout is not None:
            writer.stdout.close()

    store = EdgeStore.open(tmp_path, COLLECTION, 8)
    try:
        assert store.count() == 300  # flushed and merely acknowledged alike
        assert store.get_meta() == {"model_id": "m"}
        assert store.count(PhotoFilter(path_prefix="/lib")) == 300
        assert len(store.search(np.ones(8, dtype=np.float32), limit=500)) == 150
    finally:
        store.close()


def test_a_collection_name_must_be_a_plain_file_name(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="plain file name"):
        EdgeStore.open(tmp_path, "../escape", 8)


def test_the_shard_lives_in_one_directory_per_collection(tmp_path: Path) -> None:
    a = EdgeStore.open(tmp_path, "model-a", 8)
    b = EdgeStore.open(tmp_path, "model-b", 16)  # two models side by side, never compared
    try:
        assert a.path == tmp_path / "model-a" and b.path == tmp_path / "model-b"
        assert (a.collection, a.dim, b.dim) == ("model-a", 8, 16)
    finally:
        a.close()
        b.close()


def test_optimize_keeps_every_point_searchable(tmp_path: Path) -> None:
    store = EdgeStore.open(tmp_path, COLLECTION, 8)
    try:
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((50, 8)).astype(np.float32)
        store.upsert(
            [
                PhotoPoint(id=point_id("h", f"/p{i}"), payload=PhotoPayload(path=f"/p{i}"), vector=vectors[i])
                for i in range(50)
            ]
        )
        store.optimize()
        assert store.count() == 50
        assert store.search(vectors[7], limit=1)[0].id == point_id("h", "/p7")
    finally:
        store.close()


def test_threads_may_search_while_another_thread_writes(tmp_path: Path) -> None:
    store = EdgeStore.open(tmp_path, COLLECTION, 8)
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((400, 8)).astype(np.float32)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for start in range(0, 400, 40):
                store.upsert(
                    [
                        PhotoPoint(
                            id=point_id("h", f"/w/{i}.jpg"), payload=PhotoPayload(path=f"/w/{i}.jpg"), vector=vectors[i]
                        )
                        for i in range(start, start + 40)
                    ]
                )
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            for i in range(100):
                store.search(vectors[i], limit=5, flt=PhotoFilter(path_prefix="/w"))
                store.count()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write), threading.Thread(target=read), threading.Thread(target=read)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == []
        assert store.count() == 400
    finally:
        store.close()
