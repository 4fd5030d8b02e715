"""Configure logging once: every line, ours and the libraries', in one format on stderr.

structlog events and the stdlib records of the libraries (open_clip,
transformers, huggingface_hub, urllib3, PIL, Python warnings) go through one
handler and one structlog renderer (``ProcessorFormatter``): JSON lines off a
TTY, readable lines on one, each naming its logger.

Levels: photoindex's own events at the chosen level; the libraries' at
WARNING and above (INFO and above when photoindex logs at DEBUG: their debug
output is per-byte tracing, PIL's PNG chunks, urllib3's every request).

A progress bar (tqdm) may be drawn on the same terminal: each line is written
in tqdm's external-write mode, which clears the bar, writes the line above it
and redraws the bar, so the bar always stays whole on its own line.

Spawned worker processes (the decoders) render their lines with the same
renderer and hand them to the parent through a queue, so they too pass above
the bar, and never reach stdout (where ``--json`` output goes).
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import multiprocessing
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path
from typing import TypeAlias

import structlog

# The records spawned workers send their parent, each holding one rendered line.
LineQueue: TypeAlias = "Queue[logging.LogRecord]"  # a string: Queue takes no subscript at run time

# Libraries whose loggers install a handler of their own (and transformers' stops propagating):
# both would print each line a second time, in another format. See ``adopt_library_loggers``.
OWN_HANDLER_LIBRARIES = ("huggingface_hub", "transformers")
LIBRARY_LEVEL = logging.WARNING


@dataclass(frozen=True)
class ChildLogging:
    """What a spawned worker needs to log like its parent (picklable: passed as an initializer argument)."""

    level: int
    library_level: int
    json: bool
    queue: LineQueue  # rendered lines, read by the parent's listener


def level_number(level: str) -> int:
    """``"debug"`` → ``logging.DEBUG``; an unknown name is INFO."""
    return logging.getLevelNamesMapping().get(level.upper(), logging.INFO)


def library_level_for(level: int) -> int:
    """The libraries' level when photoindex logs at ``level``."""
    return logging.INFO if level <= logging.DEBUG else max(level, LIBRARY_LEVEL)


def configure_logging(*, json: bool | None = None, level: str = "info") -> None:
    """Route structlog and stdlib logging to stderr through one renderer; ``json=None`` decides by TTY."""
    use_json = (not sys.stderr.isatty()) if json is None else json
    numeric = level_number(level)
    handler = _TerminalHandler()
    handler.setFormatter(_formatter(use_json))
    _install(handler, numeric, library_level_for(numeric), use_json)


def child_logging() -> ChildLogging | None:
    """For the parent: how spawned workers should log (None when logging was never configured here)."""
    handler = _our_handler()
    if handler is None:
        return None
    if handler.child_queue is None:
        # spawn: the workers are spawned, and a queue from another context cannot be handed to them.
        handler.child_queue = multiprocessing.get_context("spawn").Queue()
        listener = logging.handlers.QueueListener(handler.child_queue, _RenderedLineHandler())
        listener.start()  # a daemon thread, for the life of the process
        atexit.register(listener.stop)  # writes what the workers sent before the process ends
    return ChildLogging(handler.level_number, handler.library_level, handler.use_json, handler.child_queue)


def configure_child_logging(config: ChildLogging | None) -> None:
    """For a spawned worker: render like the parent and send the lines to it."""
    if config is None:
        return
    handler = _QueueLineHandler(config.queue)
    handler.setFormatter(_formatter(config.json))
    _install(handler, config.level, config.library_level, config.json)


def adopt_library_loggers() -> None:
    """Make the hub libraries' loggers use our handler instead of their own.

    huggingface_hub adds a stderr handler to its logger when imported, and
    transformers does too and stops propagation, so their lines came out twice
    or in their own format. Call this after importing them (it is cheap and
    idempotent); loggers of libraries not imported yet are left alone.
    """
    ours = _our_handler()
    if ours is None:
        return
    for name in OWN_HANDLER_LIBRARIES:
        if name not in sys.modules:
            continue
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(ours.library_level)


def _install(handler: _LineHandler, level: int, library_level: int, use_json: bool) -> None:
    handler.level_number, handler.library_level, handler.use_json = level, library_level, use_json
    handler.addFilter(_LevelFilter(library_level))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _timestamper(use_json),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _LineHandler):  # ours from an earlier call; others' (pytest's) stay
            root.removeHandler(old)
    root.addHandler(handler)
    # The root passes everything the handler's filter may want; the filter decides by logger name.
    root.setLevel(min(level, library_level))
    logging.getLogger("photoindex").setLevel(level)
    logging.captureWarnings(True)  # warnings.warn from libraries: one line, our format
    adopt_library_loggers()


def _formatter(use_json: bool) -> logging.Formatter:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            _library_name,
            _one_line,
            _timestamper(use_json),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


def _library_name(_logger: object, _method: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    """The record's logger name; for the root logger, the package that logged (open_clip logs through it)."""
    record: logging.LogRecord | None = event.get("_record")
    name = record.name if record is not None else "root"
    if name == "root" and record is not None:
        parts = Path(record.pathname).parts
        for marker in ("site-packages", "dist-packages"):
            if marker in parts and parts.index(marker) + 1 < len(parts):
                name = parts[parts.index(marker) + 1].removesuffix(".py")
                break
    event["logger"] = name
    return event


def _one_line(_logger: object, _method: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    """A library's message on one line (transformers logs whole JSON configs): one record, one line."""
    message = event.get("event")
    if isinstance(message, str) and "\n" in message:
        event["event"] = " ".join(message.split())
    return event


@contextmanager
def expected_library_message(*prefixes: str) -> Iterator[None]:
    """Inside: a library's record starting with one of ``prefixes`` is a debug line.

    For lines that say what photoindex meant to happen, or what its own error
    says next: open_clip warns "No pretrained weights loaded" when the
    architecture is built without them on purpose (random weights, or a
    checkpoint loaded right after), and logs "Failed to download weights"
    just before raising the error that photoindex reports in its own line.
    """
    handler = _our_handler()
    if handler is None:
        yield
        return
    before = handler.demoted
    handler.demoted = (*before, *prefixes)
    try:
        yield
    finally:
        handler.demoted = before


def _timestamper(use_json: bool) -> structlog.types.Processor:
    # JSON lines are for machines and journals: UTC, full precision. A person at a
    # terminal reads the local time of day.
    if use_json:
        return structlog.processors.TimeStamper(fmt="iso", utc=True)
    return structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False)


def _our_handler() -> _LineHandler | None:
    return next((h for h in logging.getLogger().handlers if isinstance(h, _LineHandler)), None)


class _LevelFilter(logging.Filter):
    """photoindex's records pass by their logger's level; the libraries' need ``library_level``."""

    def __init__(self, library_level: int) -> None:
        super().__init__()
        self.library_level = library_level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "photoindex" or record.name.startswith("photoindex."):
            return True
        return record.levelno >= self.library_level


class _LineHandler(logging.Handler):
    level_number: int = logging.INFO
    library_level: int = LIBRARY_LEVEL
    use_json: bool = False
    child_queue: LineQueue | None = None
    demoted: tuple[str, ...] = ()  # message prefixes that are debug lines for now

    def filter(self, record: logging.LogRecord) -> bool:
        if self.demoted and record.levelno > logging.DEBUG and str(record.msg).startswith(self.demoted):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return bool(super().filter(record))


class _TerminalHandler(_LineHandler):
    """Writes each line to stderr (looked up per line: a harness or daemoniser may replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_line(self.format(record))
        except Exception:
            self.handleError(record)


class _RenderedLineHandler(logging.Handler):
    """The parent's end of the workers' queue: their lines are already rendered, written as they are."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_line(record.getMessage())
        except Exception:
            self.handleError(record)


class _QueueLineHandler(logging.handlers.QueueHandler, _LineHandler):
    """A worker's handler: renders the line here (the event dict need not pickle) and queues the text."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return logging.makeLogRecord({"msg": self.format(record), "levelno": record.levelno, "name": record.name})


def write_line(line: str) -> None:
    """Write one line to stderr, above any progress bar drawn there."""
    stream = sys.stderr
    tqdm_module = sys.modules.get("tqdm")
    if tqdm_module is None:  # no bar can be on screen
        stream.write(line + "\n")
        stream.flush()
        return
    with tqdm_module.tqdm.external_write_mode(file=stream):
        stream.write(line + "\n")
        stream.flush()


__all__ = [
    "ChildLogging",
    "adopt_library_loggers",
    "child_logging",
    "configure_child_logging",
    "configure_logging",
    "expected_library_message",
    "level_number",
    "library_level_for",
    "write_line",
]
