"""One fitted map as compact columns (about 46 bytes a photo), and its file on disk (an uncompressed ``.npz``)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from photoindex.library.projection.placement import Placement, Placer

_FORMAT = 1
_PLACER_FIELDS = ("mean", "components", "anchors", "anchor_coords", "anchor_labels")


@dataclass(frozen=True)
class ProjectionMap:
    """Parallel columns over the photos the map covers, in photo-id order (a cursor holds across refits).

    ``fitted`` photos were fitted by UMAP or PCA (a sample of a large library); the
    others were placed from their nearest anchors. ``placed`` and ``removed`` count
    the photos added and gone since the fit: the drift that calls for a refit.
    """

    ids: np.ndarray  # bytes (n,), ascending: photo ids are ASCII
    x: np.ndarray  # float32 (n,)
    y: np.ndarray  # float32 (n,)
    clusters: np.ndarray  # int32 (n,)
    method: str  # "umap" | "pca"
    version_key: str
    computed_at: str
    seconds: float
    fitted: int  # photos in the fitted sample
    fit_photos: int  # photos in the library when it was fitted
    placed: int = 0
    removed: int = 0
    placer: Placer | None = None

    @property
    def photos(self) -> int:
        return int(self.ids.shape[0])

    def index_after(self, photo_id: str) -> int:
        """The position just past ``photo_id`` (where a cursor continues), whether or not it is still here."""
        return int(np.searchsorted(self.ids, photo_id.encode("ascii"), side="right"))

    def page(self, start: int, end: int) -> tuple[list[str], list[float], list[float], list[int]]:
        """Rows ``start:end`` as JSON-ready lists (coordinates to 5 decimals: a 100k-pixel canvas needs no more)."""
        ids = [i.decode("ascii") for i in self.ids[start:end].tolist()]
        x = np.round(self.x[start:end].astype(np.float64), 5).tolist()
        y = np.round(self.y[start:end].astype(np.float64), 5).tolist()
        return ids, x, y, self.clusters[start:end].tolist()

    def with_changes(
        self, kept: np.ndarray, added_ids: np.ndarray, added: Placement, version_key: str
    ) -> ProjectionMap:
        """This map less the rows not ``kept`` (a bool mask), plus photos ``added_ids`` placed at ``added``."""
        ids = np.concatenate([self.ids[kept], added_ids])
        order = np.argsort(ids, kind="stable")
        return replace(
            self,
            ids=ids[order],
            x=np.concatenate([self.x[kept], added.coords[:, 0]])[order],
            y=np.concatenate([self.y[kept], added.coords[:, 1]])[order],
            clusters=np.concatenate([self.clusters[kept], added.labels])[order],
            version_key=version_key,
            placed=self.placed + int(added_ids.size),
            removed=self.removed + int(kept.size - np.count_nonzero(kept)),
        )


def save(projection: ProjectionMap, path: Path) -> None:
    """Write the map atomically (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": _FORMAT,
        "method": projection.method,
        "version_key": projection.version_key,
        "computed_at": projection.computed_at,
        "seconds": projection.seconds,
        "fitted": projection.fitted,
        "fit_photos": projection.fit_photos,
        "placed": projection.placed,
        "removed": projection.removed,
    }
    arrays: dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        "ids": projection.ids,
        "x": projection.x,
        "y": projection.y,
        "clusters": projection.clusters,
    }
    if projection.placer is not None:
        arrays |= {f"placer_{name}": getattr(projection.placer, name) for name in _PLACER_FIELDS}
    temp = path.with_suffix(".tmp")
    with temp.open("wb") as out:
        np.savez(out, allow_pickle=False, **arrays)
    temp.replace(path)


def load(path: Path) -> ProjectionMap:
    """Read a map written by ``save``; ``ValueError`` when it is not one."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes())
            if meta.get("format") != _FORMAT:
                raise ValueError(f"unknown map format {meta.get('format')!r}")
            placer = None
            if "placer_mean" in data.files:
                placer = Placer(**{name: data[f"placer_{name}"] for name in _PLACER_FIELDS})
            return ProjectionMap(
                ids=data["ids"],
                x=data["x"].astype(np.float32),
                y=data["y"].astype(np.float32),
                clusters=data["clusters"].astype(np.int32),
                method=str(meta["method"]),
                version_key=str(meta["version_key"]),
                computed_at=str(meta["computed_at"]),
                seconds=float(meta["seconds"]),
                fitted=int(meta["fitted"]),
                fit_photos=int(meta["fit_photos"]),
                placed=int(meta["placed"]),
                removed=int(meta["removed"]),
                placer=placer,
            )
    except (KeyError, TypeError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from exc


__all__ = ["ProjectionMap", "load", "save"]
