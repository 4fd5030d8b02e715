"""Watched folders (kept in the config file) and folder browsing to choose them."""

from __future__ import annotations

import os
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from photoindex.library import FolderChange
from photoindex.query_api import limits
from photoindex.query_api.problems import problem_docs
from photoindex.query_api.schemas.ingest import (
    BrowseEntry,
    BrowseListing,
    FolderList,
    FolderRequest,
    WatchedFolder,
)
from photoindex.query_api.services import ApiServices

PathParam = Annotated[
    str, QueryParameter(min_length=1, max_length=limits.MAX_PATH_CHARS, pattern=limits.REQUEST_PATH_PATTERN)
]


class FoldersController(Controller):
    path = "/folders"
    tags = ("folders",)

    @get("/", responses=problem_docs(401), summary="The watched folders")
    async def list_folders(self, services: NamedDependency[ApiServices]) -> FolderList:
        return await _listing(services)

    @post("/", status_code=201, responses=problem_docs(400, 401, 403, 404, 409, 503), summary="Watch a folder")
    async def add(self, services: NamedDependency[ApiServices], data: JSONBody[FolderRequest]) -> FolderList:
        """Must be a folder inside the browse allow-list, not overlapping a watched one; saved to the config file."""
        change = await services.folders.add(data.path)
        return await _listing(services, change)

    @delete("/", status_code=200, responses=problem_docs(400, 401, 404, 409, 503), summary="Stop watching a folder")
    async def remove(
        self, services: NamedDependency[ApiServices], path: PathParam, purge: Annotated[bool, QueryParameter()] = False
    ) -> FolderList:
        """Its photos stay in the index, outside any watched folder, unless ``purge``; the files are never touched."""
        change = await services.folders.remove(path, purge=purge)
        services.catalog.invalidate()
        return await _listing(services, change)


class BrowseController(Controller):
    path = "/fs"
    tags = ("folders",)

    @get("/browse", responses=problem_docs(400, 401, 403, 404), summary="Sub-folders, to choose a folder")
    async def browse(
        self,
        services: NamedDependency[ApiServices],
        path: Annotated[
            str | None, QueryParameter(max_length=limits.MAX_PATH_CHARS, pattern=limits.REQUEST_PATH_PATTERN)
        ] = None,
        hidden: Annotated[bool, QueryParameter()] = False,
    ) -> BrowseListing:
        """Only below the user's home (or ``api.browse_roots``), judged after resolving symlinks."""
        listing = await services.in_store(lambda: services.browser.list(path, hidden=hidden))
        return BrowseListing(
            path=listing.path,
            parent=listing.parent,
            entries=[BrowseEntry(e.name, e.path) for e in listing.entries],
            truncated=listing.truncated,
        )


async def _listing(services: ApiServices, change: FolderChange | None = None) -> FolderList:
    counts = await services.in_store(lambda: services.folders.counts(services.store))
    return FolderList(
        folders=[
            WatchedFolder(path=f, exists=os.path.isdir(f), photos=counts.get(f, 0)) for f in services.folders.folders
        ],
        inbox=str(services.inbox.folder),
        applied_now=change.applied_now if change else None,
        comments_kept=change.comments_kept if change else None,
        note=change.note if change else None,
    )


__all__ = ["BrowseController", "FoldersController"]
