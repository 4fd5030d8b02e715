"""Configure structlog once: JSON lines off a TTY, readable lines on one."""

from __future__ import annotations

import logging
import sys

import structlog


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    # Looked up per logger, not once: whoever replaced sys.stderr since (a test harness, a
    # daemoniser) gets the output, and a closed stream from before is never written to.
    return structlog.PrintLogger(file=sys.stderr)


def configure_logging(*, json: bool | None = None, level: str = "info") -> None:
    """Route structlog and stdlib logging to stderr; ``json=None`` decides by TTY."""
    use_json = (not sys.stderr.isatty()) if json is None else json
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    # Libraries (transformers, open_clip, httpx) log through the stdlib; keep them quiet.
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr, format="%(name)s: %(message)s")
