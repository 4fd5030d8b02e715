"""Turn pipeline records into store payloads (and back into what the index knows)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from photoindex.indexer.decoding.places import GPS_ZONE_SUFFIX, ZONE_FIELDS, GeoLookup, coordinates
from photoindex.indexer.decoding.taken_date import taken_fields
from photoindex.indexer.records import FileFacts, FileFailure, HashedFile, PhotoMetadata
from photoindex.indexer.status import CaptionStatus, PhotoStatus
from photoindex.indexer.store import PhotoPayload, ancestor_dirs, payload_from_dict, payload_to_dict

# Fields the indexer reads back at start-up to decide what is unchanged.
STATE_FIELDS = ("path", "root", "size", "mtime_ns", "inode", "sha256", "status", "caption_status", "error_code")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def file_payload(facts: FileFacts, *, host_id: str) -> dict[str, object]:
    """Where the file is and what stat said; the part that changes on a rename."""
    return {
        "kind": "photo",
        "host_id": host_id,
        "path": facts.path,
        "root": facts.root,
        "dirs": ancestor_dirs(facts.path),
        "name": os.path.basename(facts.path),
        "size": facts.size,
        "mtime_ns": facts.mtime_ns,
        "inode": facts.inode,
    }


def decoded_photo_payload(
    file: HashedFile,
    metadata: PhotoMetadata,
    phash: str,
    *,
    host_id: str,
    model_id: str,
    status: PhotoStatus,
    caption: str | None,
    caption_status: CaptionStatus,
    fingerprint: str | None = None,
    geo: GeoLookup | None = None,
) -> PhotoPayload:
    """Everything stored for a photo: file facts, metadata, hashes, caption state; with ``geo``, its place
    and local time (``geo`` must be loaded, or the first photo with GPS loads it on this thread)."""
    payload = file_payload(file.facts, host_id=host_id)
    payload.update(
        sha256=file.sha256,
        phash=phash,
        status=status.value,
        model_id=model_id,
        indexed_at=now_iso(),
        caption_status=caption_status.value,
    )
    if caption is not None:
        payload["caption"] = caption
    if fingerprint is not None:
        payload["fingerprint"] = fingerprint
    for key, value in metadata_fields(metadata).items():
        payload[key] = value
    payload.update(taken_fields(metadata.taken_at, file.facts.path, file.facts.mtime_ns))
    _add_geo(payload, geo)
    return payload_from_dict(payload)


def _add_geo(payload: dict[str, object], geo: GeoLookup | None) -> None:
    position = coordinates(payload) if geo is not None else None
    if geo is not None and position is not None:
        payload.update(geo.fields(*position, payload))


def moved_payload(
    payload: PhotoPayload, facts: FileFacts, *, host_id: str, geo: GeoLookup | None = None
) -> PhotoPayload:
    """A stored photo's payload for a copy, a rename or a move to ``facts``: same content, another file.

    A date from the EXIF belongs to the content and stays; one read from the old
    file's name or mtime is read again from this file's, as a fresh index would.
    """
    moved = {**payload_to_dict(payload), **file_payload(facts, host_id=host_id)}
    if moved.get("taken_at_source") in ("filename", "mtime", f"filename{GPS_ZONE_SUFFIX}"):
        for key in ("taken_at", "taken_at_source", "taken_at_ts", *ZONE_FIELDS):
            moved.pop(key, None)
        moved.update(taken_fields(None, facts.path, facts.mtime_ns))
        position = coordinates(moved) if geo is not None else None
        if geo is not None and position is not None:
            moved.update(geo.zoned(*position, moved))
    return payload_from_dict(moved)


def metadata_fields(metadata: PhotoMetadata) -> dict[str, object]:
    """Metadata as payload fields, plus the location filters use (the date is ``taken_fields``')."""
    fields = {
        name: getattr(metadata, name)
        for name in metadata.__struct_fields__
        if getattr(metadata, name) is not None and name != "taken_at"
    }
    if metadata.gps_lat is not None and metadata.gps_lon is not None:
        fields["location"] = {"lat": metadata.gps_lat, "lon": metadata.gps_lon}
    return fields


def failure_payload(failure: FileFailure, *, host_id: str, model_id: str) -> PhotoPayload:
    """A failed file: durable, shown in summaries, retried when its size or mtime changes."""
    payload = file_payload(failure.facts, host_id=host_id)
    payload.update(
        status=PhotoStatus.FAILED.value,
        error_code=str(failure.code),
        error_message=failure.message,
        model_id=model_id,
        indexed_at=now_iso(),
    )
    if failure.sha256 is not None:
        payload["sha256"] = failure.sha256
    return payload_from_dict(payload)
