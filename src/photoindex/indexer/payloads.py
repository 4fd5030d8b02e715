"""Turn pipeline records into store payloads (and back into what the index knows)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from photoindex.indexer.records import FileFacts, FileFailure, HashedFile, PhotoMetadata
from photoindex.indexer.store import ancestor_dirs

# Fields the indexer reads back at start-up to decide what is unchanged.
STATE_FIELDS = ("path", "root", "size", "mtime_ns", "inode", "sha256", "status", "caption_status", "error_code")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def file_payload(facts: FileFacts, *, host_id: str) -> dict[str, Any]:
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


def photo_payload(
    file: HashedFile,
    metadata: PhotoMetadata,
    phash: str,
    *,
    host_id: str,
    model_id: str,
    status: str,
    caption: str | None,
    caption_status: str,
) -> dict[str, Any]:
    """Everything stored for a photo: file facts, metadata, hashes, caption state."""
    payload = file_payload(file.facts, host_id=host_id)
    payload.update(
        sha256=file.sha256,
        phash=phash,
        status=status,
        model_id=model_id,
        indexed_at=now_iso(),
        caption_status=caption_status,
    )
    if caption is not None:
        payload["caption"] = caption
    for key, value in metadata_fields(metadata).items():
        payload[key] = value
    return payload


def metadata_fields(metadata: PhotoMetadata) -> dict[str, Any]:
    """Metadata as payload fields, plus the derived ones filters use (timestamp, location)."""
    fields = {
        name: getattr(metadata, name) for name in metadata.__struct_fields__ if getattr(metadata, name) is not None
    }
    if metadata.taken_at:
        ts = taken_at_timestamp(metadata.taken_at)
        if ts is not None:
            fields["taken_at_ts"] = ts
    if metadata.gps_lat is not None and metadata.gps_lon is not None:
        fields["location"] = {"lat": metadata.gps_lat, "lon": metadata.gps_lon}
    return fields


def failure_payload(failure: FileFailure, *, host_id: str, model_id: str) -> dict[str, Any]:
    """A failed file: durable, shown in summaries, retried when its size or mtime changes."""
    payload = file_payload(failure.facts, host_id=host_id)
    payload.update(
        status="failed",
        error_code=str(failure.code),
        error_message=failure.message,
        model_id=model_id,
        indexed_at=now_iso(),
    )
    if failure.sha256 is not None:
        payload["sha256"] = failure.sha256
    return payload


def taken_at_timestamp(taken_at: str) -> float | None:
    """Seconds since the epoch; a time without an offset is read as UTC (cameras rarely record one)."""
    try:
        moment = datetime.fromisoformat(taken_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
