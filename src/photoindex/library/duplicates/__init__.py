"""Duplicate photos: exact (same bytes), near (perceptual hash), similar (embedding), grouped without N×N."""

from photoindex.library.duplicates.exact import exact_groups
from photoindex.library.duplicates.grouping import DuplicateGroup, UnionFind
from photoindex.library.duplicates.near import DEFAULT_DISTANCE, MAX_DISTANCE, near_groups, near_pairs
from photoindex.library.duplicates.service import (
    DuplicateAnswer,
    DuplicateFinder,
    DuplicateKind,
    DuplicateParams,
    DuplicateResult,
    stored_fingerprints,
)
from photoindex.library.duplicates.similar import DEFAULT_MIN_SCORE, similar_groups

__all__ = [
    "DEFAULT_DISTANCE",
    "DEFAULT_MIN_SCORE",
    "MAX_DISTANCE",
    "DuplicateAnswer",
    "DuplicateFinder",
    "DuplicateGroup",
    "DuplicateKind",
    "DuplicateParams",
    "DuplicateResult",
    "UnionFind",
    "exact_groups",
    "near_groups",
    "near_pairs",
    "similar_groups",
    "stored_fingerprints",
]
