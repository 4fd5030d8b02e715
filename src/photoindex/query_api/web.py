"""The web page at ``/``: one HTML document and its static ES modules, served from package data.

No build step and nothing fetched from elsewhere: the files under ``webpage/``
are hand-written and shipped in the wheel. The document carries a strict
Content-Security-Policy (scripts and styles only from this origin, no inline
script, every request to this origin), so a page that tried to load anything
from the internet would be refused by the browser itself. Static files live
under a path named by a digest of their content: they can be cached for a
year, and a new version of the package is a new path.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files
from pathlib import Path

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from photoindex.query_api.docs import ASSETS_PATH

# blob: for the preview of an image dropped to search by (an object URL of the file the user chose).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
# Paths named by content never change: a year, and "immutable" so a reload does not revalidate them.
_STATIC_CACHE = CacheControlHeader(max_age=31_536_000, public=True, immutable=True)


def web_router() -> Router:
    """``GET /`` (the page) and ``/static/<digest>/`` (its modules, styles and icon); not in the API schema."""
    directory = _static_dir()
    static_path = f"/static/{static_digest(directory)}"
    page = (_page_dir() / "index.html").read_text(encoding="utf-8")
    html = page.replace("{{static}}", static_path).replace("{{favicon}}", f"{ASSETS_PATH}/favicon.svg")

    @get("/", include_in_schema=False, media_type="text/html; charset=utf-8")
    async def index() -> Response[str]:
        return Response(html, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    static = create_static_files_router(
        path=static_path,
        directories=[directory],
        name="web-static",
        cache_control=_STATIC_CACHE,
        include_in_schema=False,
    )
    return Router(path="/", route_handlers=[index, static], include_in_schema=False)


def static_digest(directory: Path) -> str:
    """A short digest of every static file's name and bytes: the path segment that versions them."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _page_dir() -> Path:
    return Path(str(files("photoindex.query_api").joinpath("webpage")))


def _static_dir() -> Path:
    return _page_dir() / "static"


__all__ = ["CONTENT_SECURITY_POLICY", "static_digest", "web_router"]
