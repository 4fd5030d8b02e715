"""``photoindex index``: discover, index and (deferred) caption folders, then summarise."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

import anyio
import structlog

from photoindex.components import Components, discovery_rules, open_components
from photoindex.config import Settings
from photoindex.indexer.captions import caption_pending, pending_caption_count
from photoindex.indexer.discovery import iter_files
from photoindex.indexer.summary import IndexSummary
from photoindex.json_types import JsonValue

log = structlog.get_logger(__name__)


def index_folders(
    settings: Settings, roots: list[str], *, progress: bool = False, captions: bool = True
) -> dict[str, JsonValue]:
    """Index ``roots`` (canonical folders) completely; returns the summary as a dict."""
    with open_components(settings) as parts:
        return anyio.run(index_with_components, parts, roots, progress, captions)


async def index_with_components(
    parts: Components, roots: list[str], progress: bool, captions: bool
) -> dict[str, JsonValue]:
    """Index ``roots`` with components already open (models loaded, as in a running daemon); the summary."""
    started = time.perf_counter()
    summary = IndexSummary()
    rules = discovery_rules(parts.settings)
    await parts.pipeline.writer.load_state()
    unreadable: list[tuple[str, str]] = []
    files = await anyio.to_thread.run_sync(lambda: list(iter_files(roots, rules, unreadable)))
    for folder, reason in unreadable:
        log.warning("discovery.unreadable_folder", folder=folder, reason=reason)
    with _bar(progress, len(files), "indexing") as bar:
        parts.pipeline.on_settled = bar.update if bar is not None else None
        await parts.pipeline.run(files, summary)
    seen = {f.path for f in files}
    for root in roots:
        await parts.pipeline.remove_missing(root, seen, summary)
    captions_mode = parts.settings.model.captions
    if captions and captions_mode != "off" and parts.models.embedder_error is None:
        pending = await anyio.to_thread.run_sync(pending_caption_count, parts.store)
        with _bar(progress, pending, "captioning") as bar:
            summary.captioned += await caption_pending(
                parts.pipeline.writer,
                parts.decoder,
                parts.models,
                model_size=parts.spec.image_size,
                batch_size=parts.models.batch_size,
                on_progress=bar.update if bar is not None else None,
            )
    await anyio.to_thread.run_sync(parts.store.flush)
    summary.wall_s = time.perf_counter() - started
    result = summary.as_dict()
    result["collection"] = parts.spec.collection
    result["model_id"] = parts.spec.model_id
    if captions_mode != "off":
        result["captions_pending"] = await anyio.to_thread.run_sync(pending_caption_count, parts.store)
    if parts.models.embedder_error is not None:
        result["models_unavailable"] = parts.models.embedder_error.message
    return result


class ProgressBar(Protocol):
    """What is used of a ``tqdm`` bar: counting files done."""

    def update(self, n: int) -> None: ...


def _bar(enabled: bool, total: int, label: str) -> AbstractContextManager[ProgressBar | None]:
    if not enabled:
        return nullcontext(None)
    from tqdm import tqdm

    bar: AbstractContextManager[ProgressBar] = tqdm(
        total=total, desc=label, unit="file", dynamic_ncols=True, leave=True
    )
    return bar


__all__: list[str] = ["index_folders", "index_with_components"]
