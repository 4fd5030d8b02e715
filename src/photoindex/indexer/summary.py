"""Counters and stage timings of one indexing run, for the CLI summary and benchmarks."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class IndexSummary:
    """What happened to every file a run looked at."""

    seen: int = 0
    indexed: int = 0  # decoded and embedded
    unchanged: int = 0  # size and mtime_ns as recorded: only a stat
    reused: int = 0  # a copy of indexed content: vector reused
    moved: int = 0  # indexed content found at a new path, old path gone: re-pointed
    touched: int = 0  # same path, same content, new mtime: facts refreshed
    pending: int = 0  # stored without a vector (models unavailable)
    deleted: int = 0  # gone from disk, removed from the index
    captioned: int = 0
    embedded_images: int = 0  # images that went through the model
    decoded_images: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # new failures, by code
    failed_unchanged: Counter[str] = field(default_factory=Counter)  # known failures, file unchanged
    stage_s: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # busy seconds per stage
    wall_s: float = 0.0

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values()) + sum(self.failed_unchanged.values())

    def failures_by_code(self) -> dict[str, int]:
        return dict(sorted((self.failed + self.failed_unchanged).items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "reused": self.reused,
            "moved": self.moved,
            "touched": self.touched,
            "pending": self.pending,
            "deleted": self.deleted,
            "captioned": self.captioned,
            "failed": self.failed_total,
            "failed_by_code": self.failures_by_code(),
            "new_failures": dict(sorted(self.failed.items())),
            "embedded_images": self.embedded_images,
            "decoded_images": self.decoded_images,
            "stage_seconds": {k: round(v, 3) for k, v in sorted(self.stage_s.items())},
            "wall_seconds": round(self.wall_s, 3),
        }
