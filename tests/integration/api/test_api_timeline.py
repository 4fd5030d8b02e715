"""``GET /photos``: the library by taken date, from the snapshot's columns, paged by cursor in a total order."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.integration.api.conftest import Library


def listing(client: TestClient[Any], **params: Any) -> list[dict[str, Any]]:
    """Every page of one listing, following ``next_cursor``."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = client.get("/api/v1/photos", params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        assert not page["computing"]
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_photos_come_newest_first_then_by_id_over_pages(client: TestClient[Any], library: Library) -> None:
    items = listing(client, limit=2)
    names = [i["name"] for i in items]
    # The truncated file failed: it is not a photo to show. Two copies of paris share a date: id decides.
    assert "broken.jpg" not in names
    assert len(items) == len({i["id"] for i in items}) == len(library.ids) - 1
    dated = [i for i in items if i["taken_at"]]
    keys = [(i["taken_at"], i["id"]) for i in dated]
    # Newest first, equal dates by id (a stable sort keeps the id order among ties).
    assert keys == sorted(sorted(keys, key=lambda k: k[1]), key=lambda k: k[0], reverse=True)
    paris = [i["id"] for i in items if i["name"] in ("paris.jpg", "paris_copy.jpg")]
    assert len(paris) == 2 and paris == sorted(paris)
    exif_dated = [n for n in names if n in ("london.jpg", "newyork.jpg", "winter.jpg", "tokyo.jpg")]
    assert exif_dated == ["london.jpg", "newyork.jpg", "winter.jpg", "tokyo.jpg"]  # 2023-07, 2023-03, 2022, 2020
    oldest = listing(client, order="asc", limit=3)
    ascending = [(i["taken_at"], i["id"]) for i in oldest if i["taken_at"]]
    assert ascending == sorted(keys)


def test_folder_and_dates_restrict_and_total_counts(client: TestClient[Any], library: Library) -> None:
    below_b = listing(client, folder=str(library.root / "b"))
    assert {i["name"] for i in below_b} == {"newyork.jpg", "london.jpg", "plain.png"}
    page = client.get("/api/v1/photos", params={"taken_from": "2023-01-01", "taken_to": "2023-12-31"}).json()
    # The re-encoded copy of newyork kept its EXIF date.
    assert {i["name"] for i in page["items"]} == {"newyork.jpg", "newyork_small.jpg", "london.jpg"}
    assert page["total"] == 3 and page["next_cursor"] is None


def test_a_cursor_continues_only_its_own_listing(client: TestClient[Any]) -> None:
    first = client.get("/api/v1/photos", params={"limit": 1}).json()
    other = client.get("/api/v1/photos", params={"limit": 1, "order": "asc", "cursor": first["next_cursor"]})
    assert other.status_code == 400
    assert client.get("/api/v1/photos", params={"sort": "name"}).status_code == 400
