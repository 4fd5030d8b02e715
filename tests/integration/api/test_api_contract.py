"""Schema and server agree on the cases schemathesis found: each accepted or refused as the schema says."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from photoindex.query_api import limits
from tests.integration.api.conftest import Library

Client = TestClient[Any]


def schema(client: Client) -> dict[str, Any]:
    return client.get("/api/v1/schema/openapi.json").json()


def test_empty_filter_values_are_no_condition(client: Client) -> None:
    plain = client.get("/api/v1/search/text", params={"q": "a photo"})
    blank = client.get("/api/v1/search/text", params={"q": "a photo", "make": "", "format": ""})
    assert blank.status_code == 200, blank.text
    assert [h["id"] for h in blank.json()["hits"]] == [h["id"] for h in plain.json()["hits"]]


def test_a_box_and_a_circle_together_mean_both(client: Client, library: Library) -> None:
    params = {"q": "a photo", "bbox": "40,-80,50,10", "near": "48.85,2.35,50"}  # the box holds Paris and New York
    response = client.get("/api/v1/search/text", params=params)
    assert response.status_code == 200, response.text
    stems = {h["photo"]["path"].rsplit("/", 1)[-1] for h in response.json()["hits"]}
    assert stems and stems <= {"paris.jpg", "paris_copy.jpg"}  # New York is in the box, not in the circle


def test_a_day_past_the_month_end_rolls_over(client: Client) -> None:
    rolled = client.get("/api/v1/search/text", params={"q": "x", "taken_from": "2021-02-30"})
    same = client.get("/api/v1/search/text", params={"q": "x", "taken_from": "2021-03-02"})
    assert rolled.status_code == same.status_code == 200
    assert [h["id"] for h in rolled.json()["hits"]] == [h["id"] for h in same.json()["hits"]]
    assert client.get("/api/v1/search/text", params={"q": "x", "taken_from": "June 2021"}).status_code == 400


def test_booleans_are_booleans_and_unknown_fields_are_refused(client: Client) -> None:
    for body in ({"ids": ["0" * 32], "trash": 0}, {"ids": ["0" * 32], "trash": "true"}, {"ids": ["0" * 32], "x": 1}):
        response = client.post("/api/v1/photos/remove", json=body)
        assert response.status_code == 400 and response.json()["code"] == "ERR_BAD_REQUEST", body
    assert client.post("/api/v1/photos/remove", json={"ids": ["0" * 32], "trash": False}).status_code == 200
    # JSON Schema counts 10.0 as an integer, so the server does too.
    body = {"positive": [{"text": "a photo"}], "offset": 10.0}
    assert client.post("/api/v1/search", json=body).status_code == 200
    terms = schema(client)["components"]["schemas"]
    assert terms["RemoveRequest"]["additionalProperties"] is False
    one_of = [{"required": [name]} for name in ("text", "photo_id", "upload_id")]
    assert terms["QueryTerm"]["oneOf"] == one_of


def test_an_upload_files_part_must_be_a_file(client: Client) -> None:
    boundary = "b0undary"
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="files"\r\n\r\n{{}}\r\n--{boundary}--\r\n'
    response = client.post(
        "/api/v1/ingest/upload",
        content=body.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 400 and "must be a file" in response.json()["detail"]


def test_request_paths_follow_the_documented_pattern(client: Client, library: Library) -> None:
    pattern = re.compile(limits.REQUEST_PATH_PATTERN)
    documented = schema(client)["paths"]["/api/v1/folders"]["delete"]["parameters"]
    assert any(p.get("schema", {}).get("pattern") == limits.REQUEST_PATH_PATTERN for p in documented)
    for path in ("0", "relative/folder", f"{library.root}\x01"):
        assert not pattern.match(path)
        assert client.delete("/api/v1/folders", params={"path": path}).status_code == 400, path
        assert client.post("/api/v1/folders", json={"path": path}).status_code == 400, path


def test_options_names_every_method_of_the_path(client: Client) -> None:
    response = client.options("/api/v1/folders")
    assert response.status_code == 204 and response.headers["allow"] == "DELETE, GET, OPTIONS, POST"
