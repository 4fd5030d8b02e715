"""Bounds on what a request may ask for: every list, string and number from outside is capped."""

from __future__ import annotations

from photoindex.library.paging import MAX_CURSOR_CHARS as MAX_CURSOR_CHARS
from photoindex.library.paging import MAX_LIMIT as MAX_LIMIT
from photoindex.library.paging import MAX_OFFSET as MAX_OFFSET

# MAX_LIMIT (results per page) and MAX_OFFSET are the library's, which `photoindex search` checks too.
DEFAULT_LIMIT = 20
MAX_QUERY_CHARS = 500
MAX_PATH_CHARS = 4096
MAX_FILTER_VALUES = 50  # items in one filter list (makes, formats, ...)
MAX_FILTER_CHARS = 200  # one filter value
MAX_TERMS = 16  # positive or negative terms in a combined search
MAX_WEIGHT = 10.0
MAX_DIMENSION = 1_000_000  # min_width / min_height
MAX_PROJECTION_LIMIT = 50_000  # map points per page
MAX_DUPLICATE_LIMIT = 100  # groups per page
MAX_MEMBERS_SHOWN = 100  # members listed per duplicate group
MAX_DUPLICATE_WAIT_S = 10.0
ID_PATTERN = r"^[0-9a-fA-F-]{32,36}$"
# Patterns the OpenAPI schema states and the server enforces alike (ECMA-262 compatible: no named groups).
ABSOLUTE_PATH_PATTERN = r"^/"  # a filter path: compared with the index, never opened
# A path the server opens: absolute or under ~, without control characters (no name on disk needs them).
REQUEST_PATH_PATTERN = r"^(/|~/|~$)[^\x00-\x1f\x7f]*$"
# An ISO 8601 date, or date-time (T or space) with optional seconds, fraction and offset; naive times are UTC.
DATE_PATTERN = (
    r"^([1-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"(?:[T ]([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9])(\.[0-9]{1,6})?)?"
    r"(Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?)?$"
)
_LAT = r"-?(?:90(?:\.0{1,12})?|[1-8]?[0-9](?:\.[0-9]{1,12})?)"
_LON = r"-?(?:180(?:\.0{1,12})?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]{1,12})?)"
_RADIUS = r"[0-9]{1,5}(?:\.[0-9]{1,6})?"  # km; 0 is the point itself, beyond MAX_RADIUS_KM the whole Earth
BBOX_PATTERN = rf"^{_LAT},{_LON},{_LAT},{_LON}$"
NEAR_PATTERN = rf"^{_LAT},{_LON},{_RADIUS}$"
MAX_RADIUS_KM = 20_040.0  # half the Earth's circumference: every point is nearer
