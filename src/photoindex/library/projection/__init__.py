"""The library as a 2-D map (UMAP), fitted in the background and cached per library version."""

from photoindex.library.projection.fitting import MIN_UMAP_POINTS, FitOutput, fit
from photoindex.library.projection.service import ProjectionMap, ProjectionService, map_key

__all__ = ["MIN_UMAP_POINTS", "FitOutput", "ProjectionMap", "ProjectionService", "fit", "map_key"]
