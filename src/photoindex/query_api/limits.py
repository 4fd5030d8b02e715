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
