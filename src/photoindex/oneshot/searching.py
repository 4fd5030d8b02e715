"""``photoindex search``: ask the running daemon when there is one, else embed in-process and rank.

Through the daemon a query costs an HTTP round trip on loopback (the models
are already loaded, the text jumps the indexing queue); in-process it pays for
importing torch and loading the model, several seconds. The daemon is looked
for at ``api.host``/``api.port`` with a short connect timeout; set
``PHOTOINDEX_NO_DAEMON=1`` to always search in-process.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import time
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np

from photoindex.config import AppPaths, Settings
from photoindex.daemon.supervisor import open_index_store
from photoindex.errors import ErrorCode, FileError, ModelError, PhotoindexError
from photoindex.indexer.decoding.decode import decode_photo
from photoindex.indexer.models.ids import clip_spec
from photoindex.indexer.records import DecodeRequest
from photoindex.library.paging import MAX_LIMIT
from photoindex.library.ranked_window import vector_window

NO_DAEMON_ENV = "PHOTOINDEX_NO_DAEMON"
CONNECT_TIMEOUT_S = 0.3
READ_TIMEOUT_S = 60.0
# While the daemon loads its model it answers 503 with Retry-After; we wait this long in all.
MODEL_WAIT_S = 90.0
# `photoindex search --limit` goes this far; the API serves MAX_LIMIT a page, so the CLI pages with the
# cursor. `--offset` is bounded by the API's MAX_OFFSET, in-process too, so both paths accept the same.
MAX_RESULTS = 1000


def search(
    settings: Settings, *, text: str | None, image: str | None, limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    """Ranked hits (score, path, id and a few facts); text and image together average their vectors."""
    if image is not None and not Path(image).is_file():
        raise FileError(f"{image} is not a file", code=ErrorCode.NOT_FOUND)
    if os.environ.get(NO_DAEMON_ENV) != "1":
        hits = search_via_daemon(settings, text=text, image=image, limit=limit, offset=offset)
        if hits is not None:
            return hits
    return search_in_process(settings, text=text, image=image, limit=limit, offset=offset)


def search_via_daemon(
    settings: Settings, *, text: str | None, image: str | None, limit: int, offset: int
) -> list[dict[str, Any]] | None:
    """The daemon's answer, or None when no daemon listens at ``api.host:api.port``.

    Pages of at most the API's ``MAX_LIMIT``: the first at ``offset``, each next one by the
    cursor, so the photos come in one order without a repeat or a gap even while the daemon
    indexes.
    """
    hits: list[dict[str, Any]] = []
    cursor: str | None = None
    body, content_type = (None, None) if image is None else _multipart(Path(image), {"text": text} if text else {})
    while len(hits) < limit:
        paging: dict[str, Any] = {"limit": min(MAX_LIMIT, limit - len(hits))}
        paging.update({"cursor": cursor} if cursor else {"offset": offset})
        query = urllib.parse.urlencode(paging)
        if image is None:
            target = f"/api/v1/search/text?{urllib.parse.urlencode({'q': text or ''})}&{query}"
        else:
            target = f"/api/v1/search/image?{query}"
        page = _page(settings, target, body, content_type)
        if page is None:
            if hits:
                raise PhotoindexError("the daemon stopped answering between two pages", code=ErrorCode.IO)
            return None
        hits.extend(_hit(h) for h in page["hits"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return hits


def _page(settings: Settings, target: str, body: bytes | None, content_type: str | None) -> dict[str, Any] | None:
    """One page from the daemon (waiting out a model load), or None when no daemon answers."""
    deadline = time.monotonic() + MODEL_WAIT_S
    while True:
        try:
            status, headers, payload = _request(settings, "POST" if body else "GET", target, body, content_type)
        except (ConnectionRefusedError, TimeoutError, OSError):
            return None
        if status == 503 and "retry-after" in headers and time.monotonic() < deadline:
            time.sleep(min(float(headers["retry-after"]), max(0.0, deadline - time.monotonic())))
            continue
        break
    if status != 200:
        raise _problem(status, payload)
    page: dict[str, Any] = json.loads(payload)
    return page


def _request(
    settings: Settings, method: str, target: str, body: bytes | None, content_type: str | None
) -> tuple[int, dict[str, str], bytes]:
    host = settings.api.host
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    connection = http.client.HTTPConnection(connect_host, settings.api.port, timeout=CONNECT_TIMEOUT_S)
    try:
        connection.connect()
        assert connection.sock is not None
        connection.sock.settimeout(READ_TIMEOUT_S)
        headers = {"Accept": "application/json"}
        key = api_key_of(settings)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if content_type:
            headers["Content-Type"] = content_type
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def api_key_of(settings: Settings) -> str | None:
    """The configured API key (``api.api_key``, else the file ``api.api_key_file`` names), or None."""
    if settings.api.api_key:
        return settings.api.api_key
    if settings.api.api_key_file:
        try:
            return Path(settings.api.api_key_file).expanduser().read_text(encoding="utf-8").strip() or None
        except OSError:
            return None
    return None


def _multipart(image: Path, fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    filename = image.name.replace('"', "_")
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + image.read_bytes()
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _problem(status: int, payload: bytes) -> PhotoindexError:
    try:
        problem = json.loads(payload)
        code = ErrorCode(problem["code"]) if problem.get("code") in ErrorCode._value2member_map_ else None
        detail = f"the daemon answered {status}: {problem.get('detail', '')}".rstrip(": ")
    except (ValueError, KeyError, TypeError):
        code, detail = None, f"the daemon answered {status}"
    return PhotoindexError(detail, code=code or ErrorCode.IO)


def _hit(hit: dict[str, Any]) -> dict[str, Any]:
    photo = hit.get("photo", {})
    return {
        "id": hit["id"],
        "score": round(float(hit["score"]), 6),
        "path": photo.get("path"),
        "caption": photo.get("caption"),
        "taken_at": photo.get("taken_at"),
        "width": photo.get("width"),
        "height": photo.get("height"),
    }


def search_in_process(
    settings: Settings, *, text: str | None, image: str | None, limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    """Load the model here and rank the store directly (no daemon running)."""
    spec = clip_spec(settings.model)
    pixels = None
    if image is not None:
        # Same decode as indexing, so an indexed image finds itself first.
        pixels = decode_photo(image, DecodeRequest(model_size=spec.image_size)).pixels
    from photoindex.indexer.models.backends import load_embedder

    embedder = load_embedder(settings.model, AppPaths.from_settings(settings).cache_dir)
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
        # The daemon's order (score, then photo id), read exactly however many scores tie.
        hits = vector_window(store, query / norm, want=offset + limit).hits[offset:]
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
