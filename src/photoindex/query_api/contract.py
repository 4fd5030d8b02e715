"""The API's contract kept exact: JSON bodies decoded strictly, and the OpenAPI document saying what is enforced.

Litestar converts request data leniently (``0`` passes as ``false``, ``"20"`` as
``20``) and leaves out of its generated schema what msgspec enforces inside a
request struct (unknown fields refused, item lengths). So:

- ``strict_json_body`` (a ``before_request`` hook) decodes a JSON body again,
  strictly, into the route's struct: what the schema calls a boolean must be one.
- ``fix_allow_headers`` makes Litestar's automatic ``OPTIONS`` answer name every
  method of its path: when one path's handlers are registered in two groups
  (``/folders``: GET, POST, DELETE), the answer kept the first group's route.
- ``correct_openapi`` replaces the request structs' schemas with msgspec's own
  (``additionalProperties: false``, every nested bound), and adds the two rules
  no struct can express: a query term has exactly one ingredient; the upload's
  ``files`` part holds files.

A schemathesis run in the test suite (``--checks all``) keeps the two in step.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.routes import HTTPRoute

from photoindex.json_types import JsonValue
from photoindex.library import Rejected
from photoindex.library.photos import MEDIA_TYPES
from photoindex.query_api import limits
from photoindex.query_api.schemas.duplicates import DismissRequest
from photoindex.query_api.schemas.ingest import FolderRequest, ScanRequest
from photoindex.query_api.schemas.photos import RemoveRequest
from photoindex.query_api.schemas.search import CombinedSearch
from photoindex.query_api.schemas.session import SessionRequest

REQUEST_STRUCTS = (CombinedSearch, RemoveRequest, ScanRequest, FolderRequest, SessionRequest, DismissRequest)
_REF = "#/components/schemas/{name}"


async def strict_json_body(request: Request[object, object, State]) -> None:
    """Refuse a JSON body that only a lenient conversion would fit to the route's struct."""
    field = request.route_handler.parsed_data_field
    target = getattr(field, "annotation", None)
    if target not in REQUEST_STRUCTS or request.content_type[0] != "application/json":
        return
    try:
        raw = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        return  # not JSON at all: Litestar's own parsing answers that
    try:
        msgspec.convert(_integral(raw), type=target, strict=True)
    except msgspec.ValidationError as exc:
        raise Rejected(f"invalid body: {exc}", reason="invalid") from None


def _integral(value: JsonValue) -> JsonValue:
    """JSON Schema counts ``10.0`` as an integer; msgspec's strict mode does not. Integral floats
    become ints (a float field takes an int as well), nothing else changes."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value


def fix_allow_headers(app: Litestar) -> None:
    """Point each generated OPTIONS handler at the final route of its path, whose methods are all there."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        handler = route.route_handler_map["OPTIONS"][0].fn
        if getattr(handler, "__name__", "") != "options_handler":
            continue  # not Litestar's generated one
        for cell in getattr(handler, "__closure__", None) or ():
            if isinstance(cell.cell_contents, HTTPRoute):
                cell.cell_contents = route  # its Allow header reads this route's methods


def correct_openapi(app: Litestar) -> None:
    """Make the served OpenAPI document state what the server enforces (called once at startup)."""
    from litestar._openapi.plugin import OpenAPIPlugin

    document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()  # the cached dict that is served
    _, components = msgspec.json.schema_components(REQUEST_STRUCTS, ref_template=_REF)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(components)
    schemas["QueryTerm"]["oneOf"] = [{"required": [name]} for name in ("text", "photo_id", "upload_id")]
    image_form = schemas["ImageQuery"]["properties"]  # a dataclass: Litestar renders no bounds for it
    # An image, not any bytes: what does not decode as one is refused (422), as the responses say.
    image_form["image"] = {"type": "string", "format": "binary", "contentMediaType": "image/*"}
    image_path = document["paths"]["/api/v1/search/image"]["post"]["requestBody"]["content"]["multipart/form-data"]
    image_path["encoding"] = {"image": {"contentType": "image/png, image/jpeg, image/webp, image/heic, image/tiff"}}
    image_form["text"] = {"type": "string", "minLength": 1, "maxLength": limits.MAX_QUERY_CHARS}
    image_form["text_weight"] = {
        "type": "number",
        "exclusiveMinimum": 0.0,
        "maximum": limits.MAX_WEIGHT,
        "default": 1.0,
    }
    _file_responses(document)
    _no_content_responses(document)
    upload = document["paths"]["/api/v1/ingest/upload"]["post"]["requestBody"]
    form = upload["content"]["multipart/form-data"]
    form["encoding"] = {"files": {"contentType": "application/octet-stream"}}
    upload["description"] = (
        "any number of file parts; a part named 'files' must be a file, other non-file fields are ignored"
    )


def _no_content_responses(document: dict[str, Any]) -> None:
    """A 204 has no body (Litestar documents one for ``Response[None]``); the sign-in's sets the cookie."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            response = operation.get("responses", {}).get("204") if isinstance(operation, dict) else None
            if response is not None:
                response.pop("content", None)
    signed_in = document["paths"]["/api/v1/session"]["post"]["responses"]["204"]
    signed_in["headers"] = {
        "Set-Cookie": {
            "description": "photoindex_session_<port>: HttpOnly; SameSite=Strict; Path=/ (no Max-Age: until the "
            "browser closes). Accepted by every route that needs the key, as the key in a header is.",
            "schema": {"type": "string"},
        }
    }


def _file_responses(document: dict[str, Any]) -> None:
    """Files as they are sent: an original in its own type; ``Last-Modified`` an HTTP date, not ISO 8601.

    Litestar documents a file download as ``application/octet-stream`` with an ISO ``date-time``
    ``Last-Modified``; a client reading real photo ids (the listing gives them) meets the truth.
    """
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for response in operation.get("responses", {}).values() if isinstance(operation, dict) else ():
                header = response.get("headers", {}).get("last-modified")
                if header is not None:
                    header["schema"] = {"type": "string"}
                    header["description"] = "when the file last changed, an HTTP date (RFC 9110)"
    original = document["paths"]["/api/v1/photos/{photo_id}/original"]["get"]["responses"]["200"]
    binary = {"type": "string", "contentMediaType": "application/octet-stream"}
    types = sorted({*MEDIA_TYPES.values(), "application/octet-stream"})
    original["content"] = {media: {"schema": {**binary, "contentMediaType": media}} for media in types}


__all__ = ["REQUEST_STRUCTS", "correct_openapi", "fix_allow_headers", "strict_json_body"]
