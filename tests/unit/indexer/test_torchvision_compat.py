"""ensure_torchvision_importable: a real fix where the wheel is broken, a no-op elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from photoindex.indexer.models.torchvision_compat import ensure_torchvision_importable


def run_python(code: str, *, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=120
    )


def test_open_clip_imports_after_the_fix() -> None:
    done = run_python(
        """
        from photoindex.indexer.models.torchvision_compat import ensure_torchvision_importable
        ensure_torchvision_importable()
        import open_clip, torchvision
        import transformers.models.blip.modeling_blip
        print("ok", len(open_clip.list_models()) > 0)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "ok True"


def test_a_second_call_changes_nothing() -> None:
    ensure_torchvision_importable()
    first = sys.modules["torchvision"]
    ensure_torchvision_importable()
    assert sys.modules["torchvision"] is first


def fake_torchvision(root: Path, init: str, meta: str) -> Path:
    package = root / "torchvision"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(init))
    (package / "_meta_registrations.py").write_text(textwrap.dedent(meta))
    return root


def test_stands_in_for_meta_registrations_when_ops_are_missing(tmp_path: Path) -> None:
    root = fake_torchvision(
        tmp_path,
        init="from torchvision import _meta_registrations\n__version__ = 'fake'\n",
        meta="raise RuntimeError('operator torchvision::nms does not exist')\n",
    )
    done = run_python(
        """
        import structlog
        from structlog.testing import capture_logs
        from photoindex.indexer.models.torchvision_compat import ensure_torchvision_importable
        with capture_logs() as logs:
            ensure_torchvision_importable()
            ensure_torchvision_importable()
        import torchvision
        print(torchvision.__version__, [(e["event"], e["log_level"]) for e in logs])
        """,
        extra_path=root,
    )
    assert done.returncode == 0, done.stderr
    # Expected on a CPU-only torch and harmless: a debug line, never a warning.
    assert done.stdout.strip().splitlines()[-1] == "fake [('torchvision.ops_unavailable', 'debug')]"


@pytest.mark.parametrize("error", ["RuntimeError('something else')", "ImportError('no')"])
def test_other_import_errors_are_not_hidden(tmp_path: Path, error: str) -> None:
    root = fake_torchvision(tmp_path, init=f"raise {error}\n", meta="")
    done = run_python(
        """
        from photoindex.indexer.models.torchvision_compat import ensure_torchvision_importable
        ensure_torchvision_importable()
        """,
        extra_path=root,
    )
    assert done.returncode != 0
    assert error.split("(")[0] in done.stderr
