"""Small pieces the pipeline's stages share: gathering a batch from a stream, and a file's ``KnownFile``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
from anyio.abc import ObjectReceiveStream

from photoindex.indexer.records import HashedFile
from photoindex.indexer.state import KnownFile

T = TypeVar("T")


async def next_batch(
    receive: ObjectReceiveStream[T], limit: int, max_wait_s: float, size: Callable[[T], int] | None = None
) -> list[T]:
    """Up to ``limit`` items: wait for the first, then at most ``max_wait_s`` for the rest."""
    measure = size or (lambda _item: 1)
    try:
        first = await receive.receive()
    except anyio.EndOfStream:
        return []
    batch, filled = [first], measure(first)
    with anyio.move_on_after(max_wait_s):
        while filled < limit:
            try:
                item = await receive.receive()
            except anyio.EndOfStream:
                break
            batch.append(item)
            filled += measure(item)
    return batch


def known_file(
    pid: str, hashed: HashedFile, status: str, caption_status: str | None, *, error_code: str | None = None
) -> KnownFile:
    """What the state will record for ``hashed`` once its point is written."""
    facts = hashed.facts
    return KnownFile(
        point_id=pid,
        path=facts.path,
        root=facts.root,
        size=facts.size,
        mtime_ns=facts.mtime_ns,
        inode=facts.inode,
        status=status,
        sha256=hashed.sha256 or None,
        caption_status=caption_status,
        error_code=error_code,
    )


__all__ = ["known_file", "next_batch"]
