"""Uploads into the inbox folder: multipart bodies streamed straight to disk, one file at a time.

Upload and drop follow one path: a file lands in the (watched) inbox under a
sanitised name and the watcher indexes it like any other new file. Each file
is written under a hidden temporary name (the watcher and scans skip hidden
names) and linked to its final name only when complete, so nothing half
written is ever seen; an existing file is never overwritten. A part whose
first bytes are no image we know is refused and nothing of it is kept.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser

from photoindex.errors import ErrorCode
from photoindex.indexer.decoding.formats import IMAGE_EXTENSIONS, detect_format_bytes
from photoindex.indexer.discovery import NOT_IMAGE_EXTENSIONS
from photoindex.library.errors import Rejected

MAX_FILES = 500
MAX_NAME_CHARS = 120
_SNIFF = 64
_FLUSH_BYTES = 1 << 20
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_EXTENSIONS = {
    "JPEG": ".jpg",
    "MPO": ".jpg",
    "PNG": ".png",
    "GIF": ".gif",
    "WEBP": ".webp",
    "TIFF": ".tif",
    "BMP": ".bmp",
    "HEIF": ".heic",
    "AVIF": ".avif",
    "DNG": ".dng",
    "CR2": ".cr2",
    "CR3": ".cr3",
    "NEF": ".nef",
    "ARW": ".arw",
    "RAF": ".raf",
    "ORF": ".orf",
    "RW2": ".rw2",
}


@dataclass(frozen=True)
class SavedUpload:
    name: str  # as sent
    path: str  # where it landed
    size: int
    format: str


@dataclass(frozen=True)
class RefusedUpload:
    name: str
    reason: str
    code: str


@dataclass
class IngestOutcome:
    saved: list[SavedUpload] = field(default_factory=list)
    refused: list[RefusedUpload] = field(default_factory=list)


def safe_name(sent: str, fmt: str | None) -> str:
    """A plain file name from whatever the client sent: no folders, no control characters, not hidden."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", sent or ""))[-1]
    base = _UNSAFE.sub("_", base).strip().lstrip(".").strip() or "upload"
    stem, ext = os.path.splitext(base)
    if fmt is not None and (not ext or ext.lower() not in IMAGE_EXTENSIONS or ext.lower() in NOT_IMAGE_EXTENSIONS):
        stem, ext = base, _EXTENSIONS.get(fmt, "")
    stem = stem[: MAX_NAME_CHARS - len(ext)] or "upload"
    return stem + ext


class _Part:
    """One file part being received into a hidden temporary file."""

    def __init__(self, folder: Path, sent: str) -> None:
        self.sent = sent
        self.temp = folder / f".upload-{secrets.token_hex(8)}.part"
        self.fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self.head = bytearray()
        self.buffer = bytearray()
        self.size = 0
        self.format: str | None = None
        self.refused: str | None = None

    async def feed(self, chunk: bytes) -> None:
        if self.refused:
            return
        self.size += len(chunk)
        if self.format is None and len(self.head) < _SNIFF:
            self.head.extend(chunk[: _SNIFF - len(self.head)])
            if len(self.head) >= _SNIFF:
                self.sniff()
        self.buffer.extend(chunk)
        if len(self.buffer) >= _FLUSH_BYTES:
            await self.flush()

    def sniff(self) -> None:
        self.format = detect_format_bytes(bytes(self.head), self.sent)
        if self.format is None:
            self.refused = "not an image this library can index"

    async def flush(self) -> None:
        data, self.buffer = bytes(self.buffer), bytearray()
        if data and not self.refused:
            await anyio.to_thread.run_sync(_write_all, self.fd, data)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.temp.unlink(missing_ok=True)


FILES_FIELD = "files"  # the form field the API documents for uploads


class Inbox:
    """Receives multipart uploads into ``folder``."""

    def __init__(self, folder: Path, *, max_files: int = MAX_FILES) -> None:
        self.folder = folder
        self.max_files = max_files

    async def receive(self, stream: AsyncIterator[bytes], boundary: str) -> IngestOutcome:
        """Save every file part of the body; non-file fields are ignored, except under ``files``."""
        await anyio.to_thread.run_sync(lambda: self.folder.mkdir(parents=True, exist_ok=True))
        outcome = IngestOutcome()
        part: _Part | None = None
        files = 0
        try:
            parser = PushMultipartParser(boundary, max_segment_count=self.max_files + 16, max_header_count=16)
            async for chunk in _with_end(stream):
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        if event.name == FILES_FIELD and event.filename is None:
                            # The documented field holds files only: a text value there is a client bug.
                            raise Rejected(
                                f"the {FILES_FIELD!r} part must be a file (with a filename)", reason="invalid"
                            )
                        files += event.filename is not None
                        if event.filename is not None and files > self.max_files:
                            raise Rejected(
                                f"at most {self.max_files} files per upload",
                                reason="too_large",
                                code=ErrorCode.TOO_LARGE,
                            )
                        part = _Part(self.folder, event.filename) if event.filename is not None else None
                    elif event is None:
                        if part is not None:
                            await self._finish(part, outcome)
                        part = None
                    elif part is not None:
                        await part.feed(event)
            if not parser.closed:
                raise Rejected("the multipart body ended early", reason="invalid")
        except ParserLimitReached:
            raise Rejected(
                "the multipart body has too many parts or headers", reason="too_large", code=ErrorCode.TOO_LARGE
            ) from None
        except ParserError as exc:
            raise Rejected(f"not a valid multipart body: {exc}", reason="invalid") from None
        finally:
            if part is not None:
                part.discard()
        return outcome

    async def _finish(self, part: _Part, outcome: IngestOutcome) -> None:
        if part.format is None and not part.refused:
            part.sniff()  # a file shorter than the sniff window
        await part.flush()
        if part.refused or part.size == 0:
            part.discard()
            code = ErrorCode.UNSUPPORTED_FORMAT if part.refused else ErrorCode.EMPTY_FILE
            outcome.refused.append(RefusedUpload(part.sent, part.refused or "empty file", str(code)))
            return
        assert part.format is not None
        await anyio.to_thread.run_sync(os.close, part.fd)
        name = safe_name(part.sent, part.format)
        final = await anyio.to_thread.run_sync(_publish, part.temp, self.folder, name)
        outcome.saved.append(SavedUpload(part.sent, str(final), part.size, part.format))


async def _with_end(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for chunk in stream:
        if chunk:
            yield chunk
    yield b""  # end of input for the parser


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _publish(temp: Path, folder: Path, name: str) -> Path:
    """Give ``temp`` its final name without ever replacing a file: ``name``, ``name (1)``, ..."""
    stem, ext = os.path.splitext(name)
    for attempt in range(10_000):
        final = folder / (name if attempt == 0 else f"{stem} ({attempt}){ext}")
        try:
            os.link(temp, final)
        except FileExistsError:
            continue
        except OSError:  # a filesystem without hard links: claim the name, then move onto it
            try:
                os.close(os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            except FileExistsError:
                continue
            os.replace(temp, final)
            return final
        temp.unlink(missing_ok=True)
        return final
    raise Rejected(f"no free name for {name} in the inbox", reason="conflict")


__all__ = ["Inbox", "IngestOutcome", "RefusedUpload", "SavedUpload", "safe_name"]
