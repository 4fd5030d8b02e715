"""Shared pytest fixtures."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The shared corpus of real-world (and deliberately broken) files sits beside the repository.
CORPUS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

# send2trash reads XDG_DATA_HOME once, when it is first imported, and keeps the trash it names for the
# whole process. So the session has one trash of its own, set before any test can import send2trash:
# no test sends files to the user's trash, and every test finds what it trashed in the same place.
_DATA_HOME = Path(tempfile.mkdtemp(prefix="photoindex-tests-data-"))
os.environ["XDG_DATA_HOME"] = str(_DATA_HOME)
atexit.register(shutil.rmtree, _DATA_HOME, ignore_errors=True)


@pytest.fixture
def trash_files() -> Path:
    """Where this session's trash keeps the files sent to it (``$XDG_DATA_HOME/Trash/files``)."""
    return Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"


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
