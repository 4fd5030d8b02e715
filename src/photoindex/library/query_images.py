"""Decode an image sent to search by, as indexing decodes files (so an indexed photo finds itself).

The bytes are untrusted. With the indexer's decode pool at hand they are
decoded there, under its time and memory limits, from a private temporary
file; otherwise in a worker thread, still bounded by the pixel limit.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import anyio
import numpy as np

from photoindex.indexer.decoding.decode import decode_image_bytes
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.records import DecodeRequest


async def decode_query_image(
    data: bytes,
    *,
    name: str,
    model_size: int,
    max_pixels: int,
    decoder: DecodePool | None = None,
    temp_dir: Path | None = None,
    limiter: anyio.CapacityLimiter | None = None,
) -> np.ndarray:
    """uint8 (S, S, 3) model pixels; raises ``FileError`` for anything that is not a readable image."""
    request = DecodeRequest(model_size=model_size, max_pixels=max_pixels)
    if decoder is None:
        decoded = await anyio.to_thread.run_sync(lambda: decode_image_bytes(data, request, name=name), limiter=limiter)
        return np.asarray(decoded.pixels)
    suffix = os.path.splitext(name)[1][:16]
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, path = tempfile.mkstemp(prefix=".query-", suffix=suffix, dir=temp_dir)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        decoded = await decoder.decode(path, request)
    finally:
        os.unlink(path)
    return np.asarray(decoded.pixels)


__all__ = ["decode_query_image"]
