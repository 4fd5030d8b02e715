"""``PhotoPayload``: the fields a photo point's payload holds, as one typed record.

The store keeps payloads as plain dicts (Qdrant's JSON); the adapters turn
them into ``PhotoPayload`` on the way out (``payload_from_dict``) and back on
the way in (``payload_to_dict``). Every field defaults to ``None`` and
``omit_defaults`` leaves it out of the dict, so a field a photo does not have
is absent in the store exactly as before, and a payload written by an earlier
version (fewer fields, or keys no longer used) still decodes: unknown keys are
ignored (no reader needs them; a photo moved or copied is written without them).

Partial updates (``VectorStore.set_payload``) stay a mapping of field names to
values: the store merges them, so the fields they do not name are kept.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec


class GeoPoint(msgspec.Struct, frozen=True):
    """The ``location`` field: what the store's geo index and the radius filter read."""

    lat: float | int
    lon: float | int


class PhotoPayload(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """A stored photo's payload (``None``: absent from the store).

    Numbers typed ``float | int`` keep the JSON number type they were stored
    with, so a payload read and written back (a move) is stored unchanged.
    """

    # Where the file is: what changes on a rename or a move.
    kind: str | None = None  # "photo"; the adapters fill it in when missing
    host_id: str | None = None
    path: str | None = None
    root: str | None = None
    dirs: list[str] | None = None  # every folder above ``path``; the adapters derive it when missing
    name: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    inode: int | None = None
    available: bool | None = None  # False while the volume holding ``root`` is away
    # The content and the indexing of it.
    sha256: str | None = None
    phash: str | None = None
    fingerprint: str | None = None
    status: str | None = None  # PhotoStatus; absent on the oldest points, read as "indexed"
    model_id: str | None = None
    indexed_at: str | None = None
    caption: str | None = None
    caption_status: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    # Decoded metadata (PhotoMetadata, less ``taken_at`` which is the date fields' below).
    format: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    focal_length: float | int | None = None
    f_number: float | int | None = None
    exposure_time: float | int | None = None
    iso: int | None = None
    gps_lat: float | int | None = None
    gps_lon: float | int | None = None
    gps_alt: float | int | None = None
    location: GeoPoint | None = None
    # When it was taken (indexer/decoding/taken_date.py) and where (indexer/decoding/places.py).
    taken_at: str | None = None
    taken_at_source: str | None = None
    taken_at_ts: float | int | None = None
    taken_at_zone: str | None = None
    taken_at_utc_ts: float | int | None = None
    place_city: str | None = None
    place_region: str | None = None
    place_country: str | None = None
    place_country_code: str | None = None


def payload_from_dict(raw: Mapping[str, object] | None) -> PhotoPayload:
    """The payload a store holds, typed; keys it does not know are dropped."""
    # strict=False: numbers stored as another JSON number type (an int ``taken_at_ts``) still fit.
    return msgspec.convert(raw or {}, PhotoPayload, strict=False)


def payload_to_dict(payload: PhotoPayload) -> dict[str, object]:
    """The dict the store keeps: only the fields that are set."""
    out: dict[str, object] = msgspec.to_builtins(payload)
    return out
