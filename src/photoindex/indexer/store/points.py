"""Point ids and the payload fields every adapter derives the same way.

A photo's id is a UUID5 of (host id, the path where the photo was first
seen): several hosts can share one server collection without colliding, and
a crash between choosing an id and storing it can never yield a second point,
since the re-run derives the same id. The id then stays with the photo when
it is renamed or moved (the indexer finds a file seen again by its path, not
by recomputing its id), so a new file at a path some moved photo came from
takes the next ``attempt`` instead.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Mapping

from photoindex.indexer.store.payload import PhotoPayload, payload_to_dict

# Fixed forever: changing it would give every stored photo a new id.
_NAMESPACE = uuid.UUID("0024c36b-57d7-4bf6-8ba9-76402dda1f7c")

# Version nibble 0: no UUID5 from point_id() can ever equal it.
META_POINT_ID = "00000000-0000-0000-0000-000000000001"

PHOTO_KIND = "photo"
META_KIND = "meta"


def point_id(host_id: str, canonical_path: str, attempt: int = 0) -> str:
    """The deterministic id of a photo first seen at ``canonical_path`` on one host.

    ``attempt`` 0 is the id every earlier version gave (so existing stores keep
    their ids); 1, 2, ... are the next candidates when that one is taken.
    """
    if not host_id:
        raise ValueError("host_id must not be empty")
    # NUL cannot occur in a path or a host id, so the parts map to one name.
    name = f"{host_id}\0{canonical_path}" if attempt == 0 else f"{host_id}\0{canonical_path}\0{attempt}"
    return str(uuid.uuid5(_NAMESPACE, name))


def ancestor_dirs(path: str) -> list[str]:
    """Every folder above ``path``, outermost first, without the root itself.

    ``ancestor_dirs("/a/b/c.jpg") == ["/a", "/a/b"]``. Stored as the ``dirs``
    payload field, it turns "photos below a folder" into an exact keyword
    match, which every Qdrant version and mode indexes and filters alike
    (keyword prefix matching is recent, needs its own index option, and
    would let "/a/b" match "/a/bc").
    """
    # String operations, not pathlib: this runs for every point written (pathlib cost 40% of an upsert).
    parts = posixpath.normpath(path).split("/")[:-1]
    dirs: list[str] = []
    current = ""
    for i, part in enumerate(parts):
        if not part:
            continue
        current = f"{current}/{part}" if current or (i > 0) else part
        dirs.append(current)
    return dirs


def normalize_dir(folder: str) -> str | None:
    """``folder`` as ``ancestor_dirs`` spells it; ``None`` for the root (every path is below it)."""
    dirs = ancestor_dirs(posixpath.join(folder, "_"))  # the folders holding a file inside it
    return dirs[-1] if dirs else None


def with_derived_fields(payload: PhotoPayload | Mapping[str, object]) -> dict[str, object]:
    """``payload`` as the dict the store keeps, with ``kind`` and ``dirs`` filled in when missing."""
    out = payload_to_dict(payload) if isinstance(payload, PhotoPayload) else dict(payload)
    out.setdefault("kind", PHOTO_KIND)
    path = out.get("path")
    if isinstance(path, str) and "dirs" not in out:
        out["dirs"] = ancestor_dirs(path)
    return out


def merged_payload(payload: Mapping[str, object]) -> dict[str, object]:
    """A copy of a partial payload; a new ``path`` brings its new ``dirs``."""
    out = dict(payload)
    path = out.get("path")
    if isinstance(path, str) and "dirs" not in out:
        out["dirs"] = ancestor_dirs(path)
    return out
