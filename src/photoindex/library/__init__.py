"""Whole-library features without HTTP: search ranking, duplicates, the 2-D map, folders, uploads.

The query API composes these; each takes the store (and the model worker)
it is given and knows nothing of requests or status codes.
"""

from photoindex.library.browse import Browser, FolderEntry, Listing, check_request_path
from photoindex.library.catalog import Catalog
from photoindex.library.duplicates import (
    DEFAULT_DISTANCE,
    DEFAULT_MIN_SCORE,
    MAX_DISTANCE,
    DuplicateAnswer,
    DuplicateFinder,
    DuplicateGroup,
    DuplicateKind,
    DuplicateParams,
)
from photoindex.library.errors import Reason, Rejected
from photoindex.library.failures import FailurePage, failure_page, failures_by_code
from photoindex.library.filters import GeoCircle, SearchFilters
from photoindex.library.folders import FolderChange, FolderRemoved, FoldersChanged, WatchedFolders
from photoindex.library.inbox_path import resolve_inbox
from photoindex.library.ingest import Inbox, IngestOutcome
from photoindex.library.jobs import Jobs
from photoindex.library.photos import MEDIA_TYPES, PhotoFiles, media_type, parse_id
from photoindex.library.projection import ProjectionMap, ProjectionService
from photoindex.library.query_vectors import ModelsLoading, ModelState, QueryEncoder, UploadedQueries
from photoindex.library.removal import Removal, remove_photos, remove_root, unwatch_root
from photoindex.library.search import CAPTION_WEIGHT, Hit, HitPage, Searcher, combine, unit
from photoindex.library.snapshot import Snapshot, take_snapshot
from photoindex.library.version import LibraryVersion

__all__ = [
    "CAPTION_WEIGHT",
    "DEFAULT_DISTANCE",
    "DEFAULT_MIN_SCORE",
    "MAX_DISTANCE",
    "MEDIA_TYPES",
    "Browser",
    "Catalog",
    "DuplicateAnswer",
    "DuplicateFinder",
    "DuplicateGroup",
    "DuplicateKind",
    "DuplicateParams",
    "FailurePage",
    "FolderChange",
    "FolderEntry",
    "FolderRemoved",
    "FoldersChanged",
    "GeoCircle",
    "Hit",
    "HitPage",
    "Inbox",
    "IngestOutcome",
    "Jobs",
    "LibraryVersion",
    "Listing",
    "ModelState",
    "ModelsLoading",
    "PhotoFiles",
    "ProjectionMap",
    "ProjectionService",
    "QueryEncoder",
    "Reason",
    "Rejected",
    "Removal",
    "SearchFilters",
    "Searcher",
    "Snapshot",
    "UploadedQueries",
    "WatchedFolders",
    "check_request_path",
    "combine",
    "failure_page",
    "failures_by_code",
    "media_type",
    "parse_id",
    "remove_photos",
    "remove_root",
    "resolve_inbox",
    "take_snapshot",
    "unit",
    "unwatch_root",
]
