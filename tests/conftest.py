"""Shared pytest fixtures: the session's trash, the corpus, the tiny random-weight models, an offline hub."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # torch loads only when a test asks for a model
    from photoindex.indexer.models.captioner import BlipCaptioner
    from photoindex.indexer.models.embedder import ClipEmbedder

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


@pytest.fixture(scope="module")
def embedder() -> ClipEmbedder:
    """The tiny CLIP with random weights on the CPU (dim 32, 32 px input); one per test module."""
    from tests.fixtures.models import tiny_clip_embedder

    return tiny_clip_embedder()


@pytest.fixture(scope="module")
def captioner() -> BlipCaptioner:
    """The tiny BLIP captioner with random weights on the CPU (32 px input); one per test module."""
    from tests.fixtures.models import tiny_blip_captioner

    return tiny_blip_captioner()


@pytest.fixture
def offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network and an empty hub cache, whatever the environment says."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))


@pytest.fixture(autouse=True)
def _fresh_structlog() -> object:
    """A command run in-process configures structlog globally (level, renderer); undo it per test."""
    import structlog

    yield
    structlog.reset_defaults()
