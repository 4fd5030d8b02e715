"""``photoindex search``: embed a text or an image in-process and rank the index by similarity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from photoindex.config import AppPaths, Settings
from photoindex.daemon.supervisor import open_index_store
from photoindex.errors import ErrorCode, FileError, ModelError
from photoindex.indexer.decode import decode_photo
from photoindex.indexer.model_ids import clip_spec
from photoindex.indexer.records import DecodeRequest


def search(
    settings: Settings, *, text: str | None, image: str | None, limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    """Ranked hits (score, path, id and a few facts); text and image together average their vectors."""
    spec = clip_spec(settings.model)
    pixels = None
    if image is not None:
        if not Path(image).is_file():
            raise FileError(f"{image} is not a file", code=ErrorCode.NOT_FOUND)
        # Same decode as indexing, so an indexed image finds itself first.
        pixels = decode_photo(image, DecodeRequest(model_size=spec.image_size)).pixels
    from photoindex.indexer.embedder import load_clip

    model = settings.model
    embedder = load_clip(model.clip, model.pretrained, model.weights, model.device)
    vectors = []
    if text:
        vectors.append(embedder.embed_texts([text])[0])
    if pixels is not None:
        vectors.append(embedder.embed_images(pixels[None])[0])
    query = np.mean(vectors, axis=0)
    norm = float(np.linalg.norm(query))
    if norm == 0.0:
        raise ModelError("the query embedding is empty", code=ErrorCode.EMBED)
    paths = AppPaths.from_settings(settings)
    store = open_index_store(settings, paths, spec)
    try:
        hits = store.search(query / norm, limit=limit, offset=offset)
    finally:
        store.close()
    return [
        {
            "id": hit.id,
            "score": round(float(hit.score), 6),
            "path": hit.payload.get("path"),
            "caption": hit.payload.get("caption"),
            "taken_at": hit.payload.get("taken_at"),
            "width": hit.payload.get("width"),
            "height": hit.payload.get("height"),
        }
        for hit in hits
    ]
