"""Turn EXIF (as Pillow parses it) into a ``PhotoMetadata``, tolerating any garbage.

Camera EXIF is routinely malformed: zero dates, NUL-padded strings, rationals
with a zero denominator, GPS IFDs without coordinates, values of the wrong
type. None of that raises here; a field that cannot be read is left missing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import IO, Any, SupportsFloat, SupportsIndex

from PIL import Image

from photoindex.indexer.records import PhotoMetadata

__all__ = ["exif_from_tiff", "orientation_of", "photo_metadata", "read_exif"]

EXIF_IFD = 0x8769
GPS_IFD = 0x8825

# IFD0
_MAKE, _MODEL, _ORIENTATION, _DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
# Exif IFD
_EXPOSURE_TIME, _F_NUMBER, _ISO = 0x829A, 0x829D, 0x8827
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_OFFSET_TIME, _OFFSET_TIME_ORIGINAL, _OFFSET_TIME_DIGITIZED = 0x9010, 0x9011, 0x9012
_SHUTTER_SPEED_VALUE, _APERTURE_VALUE, _FOCAL_LENGTH = 0x9201, 0x9202, 0x920A
_LENS_SPECIFICATION, _LENS_MAKE, _LENS_MODEL = 0xA432, 0xA433, 0xA434
# GPS IFD
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_ALT_REF, _GPS_ALT = 1, 2, 3, 4, 5, 6

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DATE = re.compile(r"(\d{4})[:\-/.](\d{2})[:\-/.](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")
_MAX_TEXT = 128  # a make, model or lens name longer than this is garbage

_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_TIFF_LIKE_MAGICS = {b"IIRO": b"II*\x00", b"IIRS": b"II*\x00", b"IIU\x00": b"II*\x00", b"MMOR": b"MM\x00*"}
_TIFF_LIKE_READ = 4 << 20  # their IFD0 and Exif IFD sit in the first few hundred KB

# Orientations 5–8 turn the stored image by 90°, so the displayed width is the stored height.
_SWAPS_AXES = frozenset({5, 6, 7, 8})

# Keyword arguments for PhotoMetadata: each value has its own field's type, which no dict type can say.
Fields = dict[str, Any]


def read_exif(image: Image.Image) -> Image.Exif | None:
    """The image's EXIF (with the Exif and GPS IFDs reachable), or None when it cannot be parsed."""
    try:
        return image.getexif()
    except Exception:  # any parser failure just means "no EXIF"
        return None


def orientation_of(exif: Image.Exif | None) -> int | None:
    """The EXIF orientation (1–8) of ``exif``; None when absent or invalid."""
    if exif is None:
        return None
    try:
        return _orientation(exif.get(_ORIENTATION))
    except Exception:  # an unreadable tag is an absent one
        return None


def exif_from_tiff(handle: IO[bytes]) -> Image.Exif | None:
    """EXIF of a TIFF-structured file (a TIFF-container raw) read in place; None when it is not one.

    Tags are read lazily through ``handle``, which must stay open while the
    result is used. Olympus and Panasonic raws are TIFFs under another magic
    number: their first megabytes are read and the magic replaced so Pillow's
    TIFF reader accepts them.
    """
    exif = Image.Exif()
    try:
        handle.seek(0)
        magic = handle.read(4)
        handle.seek(0)
        if magic in _TIFF_MAGICS:
            exif.load_from_fp(handle)
        elif magic in _TIFF_LIKE_MAGICS:
            head = handle.read(_TIFF_LIKE_READ)
            exif.load(_TIFF_LIKE_MAGICS[magic] + head[4:])
        else:
            return None
    except Exception:  # a malformed header means "no EXIF"
        return None
    return exif


def photo_metadata(
    fmt: str,
    size: tuple[int, int],
    sources: Iterable[Image.Exif | None],
    *,
    orientation: int | None = None,
) -> PhotoMetadata:
    """Metadata for a photo stored at ``size`` (width, height), from EXIF ``sources`` in priority order.

    A field comes from the first source that has a usable value. ``orientation``
    is the fallback when no source records one (a raw's LibRaw flip); width and
    height are reported as displayed, i.e. swapped for orientations 5–8.
    """
    fields: Fields = {}
    for exif in sources:
        if exif is None:
            continue
        for key, value in _fields(exif).items():
            fields.setdefault(key, value)
    if "orientation" not in fields and orientation in range(1, 9):
        fields["orientation"] = orientation
    width, height = size
    if fields.get("orientation") in _SWAPS_AXES:
        width, height = height, width
    return PhotoMetadata(format=fmt, width=width, height=height, **fields)


def _fields(exif: Image.Exif) -> Fields:
    ifd0: Mapping[int, object] = exif
    exif_ifd = _sub_ifd(exif, EXIF_IFD)
    gps = _sub_ifd(exif, GPS_IFD)
    readers: dict[str, Callable[[], str | int | float | None]] = {
        "orientation": lambda: _orientation(ifd0.get(_ORIENTATION)),
        "taken_at": lambda: _taken_at(ifd0, exif_ifd),
        "camera_make": lambda: _text(ifd0.get(_MAKE)),
        "camera_model": lambda: _text(ifd0.get(_MODEL)),
        "lens": lambda: _lens(exif_ifd),
        "focal_length": lambda: _positive(exif_ifd.get(_FOCAL_LENGTH), limit=100_000),
        "f_number": lambda: _f_number(exif_ifd),
        "exposure_time": lambda: _exposure_time(exif_ifd),
        "iso": lambda: _iso(exif_ifd.get(_ISO)),
        "gps_lat": lambda: _coordinate(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "S", 90.0),
        "gps_lon": lambda: _coordinate(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "W", 180.0),
        "gps_alt": lambda: _altitude(gps),
    }
    fields: Fields = {}
    for name, read in readers.items():
        try:
            value = read()
        except Exception:  # one unreadable tag must not cost the others
            continue
        if value is not None:
            fields[name] = value
    lat, lon = fields.get("gps_lat"), fields.get("gps_lon")
    if lat is None or lon is None or (lat == 0 and lon == 0):
        # A GPS IFD with one coordinate (or none) places the photo nowhere; 0°,0° is
        # what receivers without a fix write.
        for key in ("gps_lat", "gps_lon", "gps_alt"):
            fields.pop(key, None)
    return fields


def _sub_ifd(exif: Image.Exif, tag: int) -> Mapping[int, object]:
    try:
        return exif.get_ifd(tag)
    except Exception:  # a broken sub-IFD pointer means the IFD is missing
        return {}


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    text = _CONTROL_CHARS.sub("", value.split("\x00", 1)[0]).replace("\ufffd", "").strip()
    if not text or len(text) > _MAX_TEXT:
        return None
    return text


def _number(value: object) -> float | None:
    if isinstance(value, tuple | list):
        if not value:
            return None
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, SupportsFloat | SupportsIndex | str | bytes):
        return None  # what float() would reject (an IFDRational is a SupportsFloat)
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _positive(value: object, *, limit: float) -> float | None:
    number = _number(value)
    if number is None or not 0 < number <= limit:
        return None
    return round(number, 6)


def _orientation(value: object) -> int | None:
    number = _number(value)
    if number is None or number != int(number) or not 1 <= number <= 8:
        return None
    return int(number)


def _f_number(exif_ifd: Mapping[int, object]) -> float | None:
    direct = _positive(exif_ifd.get(_F_NUMBER), limit=1024)
    if direct is not None:
        return direct
    apex = _number(exif_ifd.get(_APERTURE_VALUE))
    if apex is None or not -2 <= apex <= 32:
        return None
    return round(2 ** (apex / 2), 2)


def _exposure_time(exif_ifd: Mapping[int, object]) -> float | None:
    direct = _positive(exif_ifd.get(_EXPOSURE_TIME), limit=100_000)
    if direct is not None:
        return direct
    apex = _number(exif_ifd.get(_SHUTTER_SPEED_VALUE))
    if apex is None or not -20 <= apex <= 30:
        return None
    return round(float(2.0**-apex), 8)


def _iso(value: object) -> int | None:
    number = _number(value)
    if number is None or not 0 < number <= 10_000_000:
        return None
    return int(number)


def _lens(exif_ifd: Mapping[int, object]) -> str | None:
    model = _text(exif_ifd.get(_LENS_MODEL))
    if model is not None:
        return model
    make = _text(exif_ifd.get(_LENS_MAKE))
    spec = _lens_specification(exif_ifd.get(_LENS_SPECIFICATION))
    parts = [p for p in (make, spec) if p]
    return " ".join(parts) or None


def _lens_specification(value: object) -> str | None:
    if not isinstance(value, tuple | list) or len(value) != 4:
        return None
    numbers = [_number(v) for v in value]
    short, long, f_short, f_long = numbers
    if short is None or short <= 0:
        return None

    def fmt(x: float) -> str:
        return f"{x:g}"

    text = fmt(short) + (f"-{fmt(long)}" if long and long != short else "") + "mm"
    if f_short and f_short > 0:
        text += f" f/{fmt(f_short)}" + (f"-{fmt(f_long)}" if f_long and f_long != f_short else "")
    return text


def _taken_at(ifd0: Mapping[int, object], exif_ifd: Mapping[int, object]) -> str | None:
    for date_tag, offset_tags in (
        (_DATETIME_ORIGINAL, (_OFFSET_TIME_ORIGINAL, _OFFSET_TIME)),
        (_DATETIME_DIGITIZED, (_OFFSET_TIME_DIGITIZED, _OFFSET_TIME)),
    ):
        when = _date(exif_ifd.get(date_tag))
        if when is not None:
            return when + _first_offset(exif_ifd, offset_tags)
    when = _date(ifd0.get(_DATETIME))
    if when is not None:
        return when + _first_offset(exif_ifd, (_OFFSET_TIME,))
    return None


def _date(value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    match = _DATE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        when = datetime(year, month, day, hour, minute, second)  # EXIF times are local, zone unknown
    except ValueError:  # month 0, day 0 (the "0000:00:00" placeholder), hour 25...
        return None
    if when.year < 1800:
        return None
    return when.isoformat()


def _first_offset(exif_ifd: Mapping[int, object], tags: Iterable[int]) -> str:
    for tag in tags:
        text = _text(exif_ifd.get(tag))
        match = _OFFSET.fullmatch(text) if text else None
        if match is None:
            continue
        sign, hours, minutes = match.groups()
        if int(hours) <= 14 and int(minutes) < 60:
            return f"{sign}{hours}:{minutes}"
    return ""


def _coordinate(value: object, ref: object, negative_ref: str, limit: float) -> float | None:
    if not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    parts = [_number(v) for v in value]
    if any(p is None or p < 0 for p in parts):
        return None
    degrees = float(sum(p / 60**i for i, p in enumerate(parts) if p is not None))
    ref_text = _text(ref)
    if ref_text is not None and ref_text.upper().startswith(negative_ref):
        degrees = -degrees
    if not -limit <= degrees <= limit:
        return None
    return round(degrees, 7)


def _altitude(gps: Mapping[int, object]) -> float | None:
    altitude = _number(gps.get(_GPS_ALT))
    if altitude is None or not -12_000 <= altitude <= 100_000:
        return None
    ref = gps.get(_GPS_ALT_REF)
    if isinstance(ref, bytes):
        ref = ref[:1] == b"\x01"
    elif isinstance(ref, tuple | list):
        ref = bool(ref) and ref[0] == 1
    if ref == 1 or ref is True:
        altitude = -altitude
    return round(altitude, 2)
