"""Uploads stream into the inbox under safe names; non-images are refused; nothing is overwritten."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from photoindex.library.errors import Rejected
from photoindex.library.ingest import Inbox, safe_name

pytestmark = pytest.mark.anyio
BOUNDARY = "xYzBoundary"


def jpeg_bytes(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return out.getvalue()


def body(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    chunks = []
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        chunks.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n")
    chunks.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(chunks)


async def stream(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize(
    ("sent", "fmt", "expected"),
    [
        ("holiday.jpg", "JPEG", "holiday.jpg"),
        ("../../etc/passwd.jpg", "JPEG", "passwd.jpg"),
        ("C:\\Users\\me\\IMG_1.JPG", "JPEG", "IMG_1.JPG"),
        (".hidden.png", "PNG", "hidden.png"),
        ("a\x00b<c>.jpg", "JPEG", "a_b_c_.jpg"),
        ("", "JPEG", "upload.jpg"),
        ("notes.txt", "PNG", "notes.txt.png"),
        ("x" * 300 + ".jpg", "JPEG", "x" * 116 + ".jpg"),
    ],
)
def test_safe_name(sent: str, fmt: str, expected: str) -> None:
    assert safe_name(sent, fmt) == expected


async def test_receive_saves_images_and_refuses_the_rest(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox")
    photo = jpeg_bytes()
    data = body(
        [
            ("files", "../a.jpg", photo),
            ("note", None, b"just a form field"),
            ("files", "a.jpg", jpeg_bytes((0, 0, 255))),  # same name: gets its own
            ("files", "evil.jpg", b"#!/bin/sh\nrm -rf ~\n" * 10),
            ("files", "empty.jpg", b""),
        ]
    )
    outcome = await inbox.receive(stream(data), BOUNDARY)
    assert [Path(s.path).name for s in outcome.saved] == ["a.jpg", "a (1).jpg"]
    assert (tmp_path / "inbox" / "a.jpg").read_bytes() == photo
    assert [r.name for r in outcome.refused] == ["evil.jpg", "empty.jpg"]
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == ["a (1).jpg", "a.jpg"]  # no temp files left


async def test_truncated_body_is_invalid_and_leaves_nothing(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox")
    data = body([("files", "a.jpg", jpeg_bytes())])
    with pytest.raises(Rejected):
        await inbox.receive(stream(data[: len(data) // 2]), BOUNDARY)
    assert list((tmp_path / "inbox").iterdir()) == []


async def test_too_many_files(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox", max_files=2)
    data = body([("f", f"{i}.jpg", jpeg_bytes()) for i in range(3)])
    with pytest.raises(Rejected) as caught:
        await inbox.receive(stream(data, 4096), BOUNDARY)
    assert caught.value.reason == "too_large"
