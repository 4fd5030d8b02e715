"""Duplicate groups a person marked "not duplicates", kept in a small file in the state dir.

A group is named by its members (``members_key``): a digest of its sorted point
ids, so the mark survives restarts and recomputations, and a group that gains
or loses a member gets a new name and is shown again. 16 bytes (32 hex
characters) per group; the file is replaced atomically on every change, so a
crash leaves the old marks or the new ones, never half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import structlog

from photoindex.library.duplicates.grouping import DuplicateGroup
from photoindex.library.snapshot import Snapshot

log = structlog.get_logger(__name__)

DISMISSED_FILE = "dismissed-duplicates.json"
KEY_PATTERN = r"^[0-9a-f]{32}$"
_FORMAT = 1


def members_key(point_ids: Iterable[str]) -> str:
    """The name of a group: the same members give the same key, whatever their order."""
    digest = hashlib.sha256("\n".join(sorted(point_ids)).encode("utf-8"))
    return digest.hexdigest()[:32]


def group_members_key(snapshot: Snapshot, group: DuplicateGroup) -> str:
    return members_key(snapshot.point_ids(list(group.rows)))


class DismissedGroups:
    """Dismissed group keys per kind of duplicate ("exact", "near", "similar"), read once, saved on change."""

    def __init__(self, file: Path) -> None:
        self._file = file
        self._keys: dict[str, set[str]] = _load(file)
        self._lock = threading.Lock()  # changes come from worker threads; one writes the file at a time

    @property
    def file(self) -> Path:
        return self._file

    def of(self, kind: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._keys.get(kind, ()))

    def dismiss(self, kind: str, key: str) -> None:
        with self._lock:
            keys = self._keys.setdefault(kind, set())
            if key not in keys:
                keys.add(key)
                try:
                    self._save()
                except BaseException:
                    keys.discard(key)  # what is on disk is what counts
                    raise

    def restore(self, kind: str, key: str) -> bool:
        """Show the group again; False when it was not dismissed."""
        with self._lock:
            keys = self._keys.get(kind)
            if not keys or key not in keys:
                return False
            keys.discard(key)
            try:
                self._save()
            except BaseException:
                keys.add(key)
                raise
            return True

    def _save(self) -> None:
        data = {"format": _FORMAT, "dismissed": {kind: sorted(keys) for kind, keys in sorted(self._keys.items())}}
        self._file.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self._file.parent, prefix=".dismissed.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self._file)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def _load(file: Path) -> dict[str, set[str]]:
    """The marks in ``file``; none when it is missing, and none (with a warning) when it is unreadable."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        dismissed = data["dismissed"]
        return {str(kind): {str(k) for k in keys} for kind, keys in dismissed.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("duplicates.dismissed_unreadable", file=str(file), error=str(exc))
        return {}


__all__ = ["DISMISSED_FILE", "KEY_PATTERN", "DismissedGroups", "group_members_key", "members_key"]
