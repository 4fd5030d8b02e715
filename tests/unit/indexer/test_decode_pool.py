"""The decode pool bounds every decode in time and memory and survives its workers dying."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import anyio
import numpy as np
import pytest
from PIL import Image

from photoindex.errors import ErrorCode, FileError
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.records import DecodeRequest

REQUEST = DecodeRequest(model_size=32)
# A hang is given up after this long. Workers run at nice 10, and the time counts from the
# submission, a fresh worker's start-up included: on a busy machine that alone takes seconds.
HANG_TIMEOUT_S = 8.0


def photo(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    Image.fromarray(np.full((size[1], size[0], 3), 120, dtype=np.uint8)).save(path, "JPEG")
    return path


@pytest.mark.timeout(120)
def test_a_hanging_decode_times_out_and_the_pool_recovers(tmp_path: Path) -> None:
    # Opening a FIFO blocks until a writer appears: a real hang, like a stalled network mount.
    fifo = tmp_path / "stuck.jpg"
    os.mkfifo(fifo)
    good = photo(tmp_path / "good.jpg")
    pool = DecodePool(1, timeout_s=HANG_TIMEOUT_S)

    async def main() -> tuple[FileError, object]:
        with pytest.raises(FileError) as hung:
            await pool.decode(str(fifo), REQUEST)
        return hung.value, await pool.decode(str(good), REQUEST)

    try:
        started = time.monotonic()
        error, decoded = anyio.run(main)
        assert error.code == ErrorCode.DECODE_TIMEOUT
        assert time.monotonic() - started < 30
        assert pool.recycled == 1
        assert decoded.pixels.shape == (32, 32, 3)  # type: ignore[attr-defined]
    finally:
        pool.close()


@pytest.mark.timeout(120)
def test_other_decodes_in_flight_survive_a_recycle(tmp_path: Path) -> None:
    fifo = tmp_path / "stuck.jpg"
    os.mkfifo(fifo)
    goods = [photo(tmp_path / f"g{i}.jpg") for i in range(6)]
    # Workers started before the clock runs, and a limit a tiny JPEG meets on a busy machine (2 s
    # was missed there); only the FIFO, which never yields a byte, can reach it.
    pool = DecodePool(2, timeout_s=HANG_TIMEOUT_S)
    pool.warm_up()
    results: dict[str, object] = {}

    async def one(path: Path) -> None:
        try:
            results[path.name] = await pool.decode(str(path), REQUEST)
        except FileError as exc:
            results[path.name] = exc.code

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(one, fifo)
            for good in goods:
                tg.start_soon(one, good)

    try:
        anyio.run(main)
    finally:
        pool.close()
    assert results.pop("stuck.jpg") == ErrorCode.DECODE_TIMEOUT
    assert all(not isinstance(r, ErrorCode) for r in results.values()), results


@pytest.mark.timeout(120)
def test_a_decode_that_needs_too_much_memory_fails_alone(tmp_path: Path) -> None:
    # 6000x6000 RGB needs ~108 MB per copy; the worker may map far less than Pillow wants here.
    big = tmp_path / "big.png"
    Image.new("RGB", (6000, 6000), (10, 200, 30)).save(big, compress_level=1)
    pool = DecodePool(1, timeout_s=60, memory_limit=300 << 20)
    good = photo(tmp_path / "good.jpg")

    async def main() -> tuple[ErrorCode, object]:
        with pytest.raises(FileError) as caught:
            await pool.decode(str(big), DecodeRequest(model_size=32, max_pixels=10**9))
        return caught.value.code, await pool.decode(str(good), REQUEST)

    try:
        code, decoded = anyio.run(main)
    finally:
        pool.close()
    assert code == ErrorCode.TOO_LARGE
    assert decoded.pixels.shape == (32, 32, 3)  # type: ignore[attr-defined]


def test_close_is_idempotent_and_unblocks(tmp_path: Path) -> None:
    pool = DecodePool(1)
    pool.warm_up()
    closer = threading.Thread(target=pool.close)
    closer.start()
    closer.join(30)
    assert not closer.is_alive()
    pool.close()


@pytest.mark.timeout(60)
@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="reads the worker's wait channel from /proc")
def test_close_does_not_wait_for_a_hung_decode(tmp_path: Path) -> None:
    fifo = tmp_path / "stuck.jpg"
    os.mkfifo(fifo)
    pool = DecodePool(1, timeout_s=300)
    outcome: list[BaseException] = []

    def decode_forever() -> None:
        try:
            anyio.run(pool.decode, str(fifo), REQUEST)
        except BaseException as exc:  # what the caller sees once the pool is gone
            outcome.append(exc)

    caller = threading.Thread(target=decode_forever)
    caller.start()
    wait_for_worker_in_fifo_open(pool, timeout_s=30)
    started = time.monotonic()
    pool.close(grace_s=1.0)
    assert time.monotonic() - started < 10
    caller.join(30)
    assert not caller.is_alive()
    assert outcome and not isinstance(outcome[0], FileError)  # nothing recorded against the file


def wait_for_worker_in_fifo_open(pool: DecodePool, timeout_s: float) -> None:
    """Return once a worker is blocked opening the FIFO (the kernel's wait channel says so).
    Opening the write end to find out would unblock it, so the test only looks."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        executor = pool._executor
        for pid in list(getattr(executor, "_processes", {}) or {}):
            try:
                if Path(f"/proc/{pid}/wchan").read_text() == "wait_for_partner":
                    return
            except OSError:
                continue
        time.sleep(0.01)
    raise AssertionError("no decode worker blocked opening the FIFO")
