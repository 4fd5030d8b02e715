"""Tell an image's format from its bytes (magic numbers, TIFF IFD0), never from its name.

The extension is only consulted to name a TIFF-container raw (NEF, ARW, PEF,
...): those files are valid TIFFs whose IFD0 says nothing but the camera's
make, so "a camera wrote it and calls it .nef" is the best evidence there is.
DNG carries its own marker (the DNGVersion tag) and needs no extension.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

__all__ = [
    "IMAGE_EXTENSIONS",
    "RAW_FORMATS",
    "detect_format",
    "detect_format_bytes",
    "detect_format_stream",
    "is_raw",
    "sniff_is_image",
]

# fmt: off
RAW_FORMATS = frozenset({
    "DNG", "CR2", "CR3", "CRW", "NEF", "ARW", "RAF", "ORF", "RW2", "PEF", "SRW", "KDC", "X3F", "IIQ", "GPR", "MRW",
    "RAW",  # a raw we cannot name more precisely
})
# fmt: on

# Raw extensions whose files are plain TIFF containers, and the format each names.
_TIFF_RAW_EXTENSIONS = {
    ext: fmt
    for fmt, exts in {
        "NEF": ".nef .nrw",
        "ARW": ".arw .srf .sr2",
        "PEF": ".pef",
        "SRW": ".srw",
        "KDC": ".kdc .dcr .dcs",
        "IIQ": ".iiq",
        "GPR": ".gpr",
        "DNG": ".dng",
        "CR2": ".cr2",
        "ORF": ".orf",
        "RW2": ".rw2 .rwl",
        "RAW": ".3fr .fff .erf .mef .mos .raw .rwz .bay .cap .eip",
    }.items()
    for ext in exts.split()
}

# Lower-case substrings of the Make tag of cameras that write TIFF-container raws.
# fmt: off
_CAMERA_MAKERS = (
    "nikon", "sony", "pentax", "asahi", "ricoh", "samsung", "kodak", "phase one", "leaf", "mamiya", "hasselblad",
    "gopro", "canon", "olympus", "om digital", "panasonic", "leica", "fujifilm", "minolta", "konica", "sigma",
    "epson", "dji", "apple", "google", "nokia", "xiaomi", "huawei", "oneplus", "motorola", "parrot", "yuneec",
    "blackmagic", "zeiss", "casio", "seiko", "agfa", "imacon", "sinar",
)
# fmt: on

# ISO-BMFF brands → format. The generic image brands (mif1...) say only "HEIF
# container"; a compatible avif brand beside them makes the file AVIF.
_GENERIC_BRANDS = frozenset({b"mif1", b"msf1", b"mif2"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset([b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"]) | _GENERIC_BRANDS

_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_MAX_IFD_ENTRIES = 1024  # a real IFD0 has a few dozen; more is a fuzzed file

# fmt: off
IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".mpo", ".png", ".apng", ".gif", ".bmp", ".dib", ".webp",
    ".tif", ".tiff", ".heic", ".heif", ".heics", ".heifs", ".hif", ".avif", ".avifs", ".jxl", ".qoi",
    ".jp2", ".j2k", ".jpx", ".ico", ".tga", ".psd", ".ppm", ".pgm", ".pbm", ".pnm", ".pcx", ".dds",
    ".cr3", ".crw", ".raf", ".x3f", ".mrw", ".kdc", ".k25", *_TIFF_RAW_EXTENSIONS,
})
# fmt: on


def is_raw(fmt: str | None) -> bool:
    """True for camera raw formats (decoded with LibRaw, not Pillow)."""
    return fmt in RAW_FORMATS


def sniff_is_image(head: bytes) -> bool:
    """Whether the first bytes of a file (64 are enough) look like any image we know."""
    return _from_head(head) is not None


def detect_format(path: str | os.PathLike[str]) -> str | None:
    """The format of the file at ``path`` by its content, or None when it is no image we know.

    Raises OSError when the file cannot be read.
    """
    with open(path, "rb") as handle:
        return detect_format_stream(handle, os.fspath(path))


def detect_format_bytes(data: bytes, name: str = "") -> str | None:
    """``detect_format`` for bytes in memory; ``name`` (optional) only names TIFF-container raws."""
    import io

    return detect_format_stream(io.BytesIO(data), name)


def detect_format_stream(handle: BinaryIO, name: str = "") -> str | None:
    """``detect_format`` for an open binary file positioned anywhere; restores nothing."""
    handle.seek(0)
    head = handle.read(64)
    fmt = _from_head(head)
    if fmt != "TIFF":
        return fmt
    if head[8:10] == b"CR" and head[:4] == b"II*\x00":
        return "CR2"
    has_dng_version, make = _peek_ifd0(handle, head)
    ext = os.path.splitext(name)[1].lower()
    ext_format = _TIFF_RAW_EXTENSIONS.get(ext)
    if has_dng_version:
        return "GPR" if ext_format == "GPR" else "DNG"
    if ext_format is not None and make is not None and any(m in make for m in _CAMERA_MAKERS):
        return ext_format
    return "TIFF"


def _from_head(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        return _from_ftyp(head)
    if head.startswith(_TIFF_MAGICS):
        return "TIFF"
    if head.startswith((b"IIRO", b"IIRS", b"MMOR")):
        return "ORF"
    if head.startswith(b"IIU\x00"):
        return "RW2"
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAF"
    if head[6:14] == b"HEAPCCDR":
        return "CRW"
    if head.startswith(b"FOVb"):
        return "X3F"
    if head.startswith(b"\x00MRM"):
        return "MRW"
    if head.startswith(b"BM") and len(head) >= 18:
        (dib_size,) = struct.unpack_from("<I", head, 14)
        return "BMP" if dib_size in _BMP_HEADER_SIZES else None
    return None


def _from_ftyp(head: bytes) -> str | None:
    (box_size,) = struct.unpack_from(">I", head, 0)
    major = head[8:12]
    if major == b"crx ":
        return "CR3"
    if major in _AVIF_BRANDS:
        return "AVIF"
    if major in _HEIF_BRANDS - _GENERIC_BRANDS:
        return "HEIF"
    end = min(max(box_size, 16), len(head))
    brands = {major, *(head[i : i + 4] for i in range(16, end - 3, 4))}
    if brands & _AVIF_BRANDS:
        return "AVIF"
    if brands & _HEIF_BRANDS:
        return "HEIF"
    return None


def _peek_ifd0(handle: BinaryIO, head: bytes) -> tuple[bool, str | None]:
    """(has a DNGVersion tag, lower-cased Make) from IFD0; (False, None) when unreadable."""
    order = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    try:
        if big:
            (ifd_offset,) = struct.unpack_from(order + "Q", head, 8)
            count_fmt, entry_size, count_size = "Q", 20, 8
        else:
            (ifd_offset,) = struct.unpack_from(order + "I", head, 4)
            count_fmt, entry_size, count_size = "H", 12, 2
        handle.seek(ifd_offset)
        (count,) = struct.unpack(order + count_fmt, handle.read(count_size))
        count = min(count, _MAX_IFD_ENTRIES)
        table = handle.read(count * entry_size)
    except (struct.error, OSError, ValueError, OverflowError):
        return False, None
    has_dng_version = False
    make: str | None = None
    for i in range(len(table) // entry_size):
        entry = table[i * entry_size : (i + 1) * entry_size]
        (tag,) = struct.unpack_from(order + "H", entry, 0)
        if tag == 0xC612:
            has_dng_version = True
        elif tag == 0x010F:
            make = _read_ascii(handle, order, entry, big)
    return has_dng_version, make


def _read_ascii(handle: BinaryIO, order: str, entry: bytes, big: bool) -> str | None:
    try:
        if big:
            (n,) = struct.unpack_from(order + "Q", entry, 4)
            inline, value_at = 8, 12
        else:
            (n,) = struct.unpack_from(order + "I", entry, 4)
            inline, value_at = 4, 8
        n = min(n, 64)
        if n <= inline:
            raw = entry[value_at : value_at + n]
        else:
            (offset,) = struct.unpack_from(order + ("Q" if big else "I"), entry, value_at)
            handle.seek(offset)
            raw = handle.read(n)
    except (struct.error, OSError, ValueError, OverflowError):
        return None
    return raw.split(b"\x00", 1)[0].decode("latin-1").strip().lower()
