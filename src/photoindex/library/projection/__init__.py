"""The library as a 2-D map: UMAP on a sample, the rest placed, fitted in the background, cached per version."""

from photoindex.library.projection.fitting import MIN_UMAP_POINTS, FitOutput, fit
from photoindex.library.projection.map_file import ProjectionMap
from photoindex.library.projection.service import ProjectionService, map_key

__all__ = ["MIN_UMAP_POINTS", "FitOutput", "ProjectionMap", "ProjectionService", "fit", "map_key"]
