"""The OpenAPI pages (Swagger UI, Redoc), with their scripts, styles and icon served by the daemon itself.

Litestar's render plugins load their assets from public CDNs by default; a
browser showing ``/api/v1/schema/swagger`` would then fetch from the internet,
and show a blank page offline. Here every asset comes from the package
(``openapi_assets/``: pinned versions with their licences, see its
``SOURCES.md``) under ``/api/v1/schema/assets/``. Folder names carry the
versions, so the files can be cached for long.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from photoindex.query_api.schemas.common import API_PREFIX

SWAGGER_UI_VERSION = "5.35.0"
REDOC_VERSION = "2.5.4"
SCHEMA_PATH = f"{API_PREFIX}/schema"
ASSETS_PATH = f"{SCHEMA_PATH}/assets"
_SWAGGER = f"{ASSETS_PATH}/swagger-ui-{SWAGGER_UI_VERSION}"
_REDOC = f"{ASSETS_PATH}/redoc-{REDOC_VERSION}"
_FAVICON = f"<link rel='icon' type='image/svg+xml' href='{ASSETS_PATH}/favicon.svg'>"
# Versioned paths: a file under one never changes. A day keeps the icon's refresh cheap.
_CACHE = CacheControlHeader(max_age=86_400, public=True)


def openapi_config(*, title: str, version: str, description: str) -> OpenAPIConfig:
    """The schema at ``/api/v1/schema/openapi.json`` and its two pages, all assets local."""
    return OpenAPIConfig(
        title=title,
        version=version,
        description=description,
        path=SCHEMA_PATH,
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{_SWAGGER}/swagger-ui-bundle.js",
                css_url=f"{_SWAGGER}/swagger-ui.css",
                standalone_preset_js_url=f"{_SWAGGER}/swagger-ui-standalone-preset.js",
                favicon=_FAVICON,
            ),
            # google_fonts off: the page uses the browser's fonts instead of fetching Montserrat and Roboto.
            RedocRenderPlugin(
                path="/redoc", js_url=f"{_REDOC}/redoc.standalone.js", google_fonts=False, favicon=_FAVICON
            ),
        ],
    )


def assets_router() -> Router:
    """Serves the vendored files under ``/api/v1/schema/assets/``."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[_assets_dir()],
        name="openapi-assets",
        cache_control=_CACHE,
        include_in_schema=False,
    )


def _assets_dir() -> Path:
    return Path(str(files("photoindex.query_api").joinpath("openapi_assets")))


__all__ = ["ASSETS_PATH", "REDOC_VERSION", "SWAGGER_UI_VERSION", "assets_router", "openapi_config"]
