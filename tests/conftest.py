"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

# The shared corpus of real-world (and deliberately broken) files sits beside the repository.
CORPUS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real-file corpus (``shared/corpus`` beside the repo root); skips the test when absent."""
    if not (CORPUS_DIR / "MANIFEST.tsv").is_file():
        pytest.skip(f"no corpus at {CORPUS_DIR}")
    return CORPUS_DIR


@pytest.fixture(autouse=True)
def _fresh_structlog() -> object:
    """A command run in-process configures structlog globally (level, renderer); undo it per test."""
    import structlog

    yield
    structlog.reset_defaults()
