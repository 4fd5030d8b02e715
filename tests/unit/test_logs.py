"""One handler, one renderer: photoindex's events and the libraries' records, each line once.

Each case runs in a fresh interpreter: logging is process-wide, and the
libraries install their handlers when first imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.integration.conftest import make_photo


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=120,
        check=False,
    )


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_library_records_pass_through_our_renderer_with_their_name_at_warning() -> None:
    done = run_python(
        """
        import logging, structlog
        from photoindex.logs import configure_logging
        configure_logging(json=True, level="info")
        logging.getLogger("urllib3.connectionpool").info("a request")
        logging.getLogger("urllib3.connectionpool").warning("pool is full")
        logging.warning("open_clip speaks through the root logger")
        structlog.get_logger("photoindex.x").info("ours.event", n=1)
        structlog.get_logger("photoindex.x").debug("ours.hidden")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = json_lines(done.stderr)
    assert [(e["logger"], e["level"], e["event"]) for e in lines] == [
        ("urllib3.connectionpool", "warning", "pool is full"),
        ("root", "warning", "open_clip speaks through the root logger"),
        ("photoindex.x", "info", "ours.event"),
    ]
    assert all("timestamp" in e for e in lines)


def test_debug_shows_our_debug_lines_and_the_libraries_info_lines() -> None:
    done = run_python(
        """
        import logging, structlog
        from photoindex.logs import configure_logging
        configure_logging(json=True, level="debug")
        logging.getLogger("PIL.PngImagePlugin").debug("STREAM b'IHDR' 16 13")
        logging.getLogger("urllib3.connectionpool").info("a request")
        structlog.get_logger("photoindex.x").debug("ours.debug")
        """
    )
    assert done.returncode == 0, done.stderr
    assert [(e["logger"], e["event"]) for e in json_lines(done.stderr)] == [
        ("urllib3.connectionpool", "a request"),
        ("photoindex.x", "ours.debug"),
    ]


def test_quiet_shows_only_errors() -> None:
    done = run_python(
        """
        import logging, structlog
        from photoindex.logs import configure_logging
        configure_logging(json=True, level="error")
        logging.getLogger("huggingface_hub").warning("retrying")
        structlog.get_logger("photoindex.x").warning("ours.warning")
        structlog.get_logger("photoindex.x").error("ours.error")
        """
    )
    assert [e["event"] for e in json_lines(done.stderr)] == ["ours.error"]


def test_the_hub_libraries_print_each_line_once_in_our_format() -> None:
    # huggingface_hub adds a stderr handler of its own when imported, transformers one that does not
    # propagate: each line came out twice, or in another format.
    done = run_python(
        """
        import logging
        import huggingface_hub, transformers
        from transformers.utils import logging as transformers_logging
        transformers_logging.get_logger("transformers.modeling_utils")
        from photoindex.logs import adopt_library_loggers, configure_logging
        configure_logging(json=False, level="warning")
        adopt_library_loggers()
        logging.getLogger("huggingface_hub.utils._http").warning("Retrying in 1s [Retry 1/5].")
        logging.getLogger("transformers.modeling_utils").warning("some weights were not used")
        """
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2, lines
    assert "Retrying in 1s" in lines[0] and lines[0].endswith("[huggingface_hub.utils._http]")
    assert "some weights were not used" in lines[1] and lines[1].endswith("[transformers.modeling_utils]")
    assert all(" [warning  ] " in line for line in lines)


def test_decode_workers_log_through_the_parent_never_on_stdout(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "a.jpg", seed=1)
    done = run_python(
        """
        import asyncio, sys
        from photoindex.indexer.decoding.pool import DecodePool
        from photoindex.indexer.records import DecodeRequest
        from photoindex.logs import configure_logging

        async def decode(pool):
            # A thumbnail that cannot be written: the worker logs decode.thumbnail_failed.
            request = DecodeRequest(model_size=32, thumbnail_path="/proc/no-such-dir/thumb.jpg")
            return await pool.decode(sys.argv[1], request)

        if __name__ == "__main__":
            configure_logging(json=True, level="warning")
            pool = DecodePool(1)
            try:
                print("decoded", asyncio.run(decode(pool)).phash)
            finally:
                pool.close()
        """,
        str(photo),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("decoded ") and len(done.stdout.splitlines()) == 1, done.stdout
    events = json_lines(done.stderr)
    assert [(e["event"], e["logger"], e["level"]) for e in events] == [
        ("decode.thumbnail_failed", "photoindex.indexer.decoding.decode", "warning")
    ]
