"""One controller per concern; each handler takes ``ApiServices`` and returns a msgspec Struct."""

from photoindex.query_api.controllers.duplicates import DuplicatesController
from photoindex.query_api.controllers.folders import BrowseController, FoldersController
from photoindex.query_api.controllers.health import HealthController
from photoindex.query_api.controllers.ingest import IngestController
from photoindex.query_api.controllers.library import LibraryController
from photoindex.query_api.controllers.listing import PhotoListController
from photoindex.query_api.controllers.photos import PhotosController
from photoindex.query_api.controllers.places import PlacesController
from photoindex.query_api.controllers.projection import ProjectionController
from photoindex.query_api.controllers.search import ImageSearchController, SearchController
from photoindex.query_api.controllers.session import SessionController

__all__ = [
    "BrowseController",
    "DuplicatesController",
    "FoldersController",
    "HealthController",
    "ImageSearchController",
    "IngestController",
    "LibraryController",
    "PhotoListController",
    "PhotosController",
    "PlacesController",
    "ProjectionController",
    "SearchController",
    "SessionController",
]
