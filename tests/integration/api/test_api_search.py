"""Search over real HTTP: text (hybrid captions), image upload, combined, similar, paging, every filter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.integration.api.conftest import Library

Client = TestClient[Any]
INDEXED = {"paris", "paris_copy", "winter", "newyork", "newyork_small", "london", "tokyo", "plain"}


def names(page: dict[str, Any]) -> list[str]:
    return [Path(h["photo"]["path"]).stem for h in page["hits"]]


def search(client: Client, q: str = "anything", **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/search/text", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_text_search_ranks_every_indexed_photo_with_total(client: Client) -> None:
    page = search(client, "a photo", limit=50)
    assert set(names(page)) == INDEXED  # never the failed file
    assert page["total"] == len(INDEXED) and page["next_offset"] is None
    scores = [h["score"] for h in page["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_caption_words_count_and_are_reported(client: Client) -> None:
    page = search(client, "red kite above a beach", limit=3)
    assert page["hybrid"] is True
    top = page["hits"][0]
    assert Path(top["photo"]["path"]).stem == "paris"
    assert top["matched"] == ["embedding", "caption"]
    assert set(top["caption_words"]) == {"red", "kite", "beach"}
    assert top["score"] == pytest.approx(top["vector_score"] + 0.1 * top["caption_score"], abs=1e-5)
    others = [h for h in page["hits"][1:] if not h["caption_words"]]
    assert all(h["matched"] == ["embedding"] for h in others)


def test_paging_is_consistent(client: Client) -> None:
    everything = names(search(client, "street", limit=50))
    first, second = search(client, "street", limit=3), search(client, "street", limit=3, offset=3)
    assert first["next_offset"] == 3 and second["next_offset"] == 6
    assert names(first) + names(second) == everything[:6]
    assert search(client, "street", limit=3, offset=6)["next_offset"] is None
    assert search(client, "street", offset=100)["hits"] == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"folder": "{root}/b"}, {"newyork", "london", "plain"}),
        ({"folder": "{root}/b/sub"}, {"plain"}),
        ({"root": "{root}"}, INDEXED),
        # "plain" has no EXIF date and a name without one: its date is its mtime, written by the test run.
        ({"taken_from": "2023-01-01"}, {"newyork", "newyork_small", "london", "plain"}),
        ({"taken_from": "2021-06-01", "taken_to": "2022-01-15"}, {"paris", "paris_copy", "winter"}),
        ({"taken_to": "2020-12-31T23:59:59Z"}, {"tokyo"}),
        ({"make": ["Canon"]}, {"paris", "paris_copy", "winter"}),
        ({"make": ["SONY", "NIKON"]}, {"tokyo", "newyork", "newyork_small", "london"}),
        ({"model": "D850"}, {"newyork", "newyork_small", "london"}),
        ({"lens": "AF-S 50mm"}, {"newyork", "newyork_small"}),
        ({"format": "png"}, {"plain"}),
        ({"has_gps": "true"}, {"paris", "paris_copy", "newyork", "newyork_small", "london", "tokyo"}),
        ({"has_gps": "false"}, {"winter", "plain"}),
        ({"bbox": "45,-5,55,5"}, {"paris", "paris_copy", "london"}),
        ({"bbox": "30,130,45,-60"}, {"tokyo", "newyork", "newyork_small"}),  # across the antimeridian
        ({"near": "48.85,2.35,500"}, {"paris", "paris_copy", "london"}),
        ({"near": "48.85,2.35,100"}, {"paris", "paris_copy"}),
        ({"min_width": 700}, {"winter"}),
        ({"min_height": 450, "make": "Canon"}, {"paris", "paris_copy", "winter"}),
        ({"min_width": 5000}, set()),
    ],
)
def test_filters(client: Client, library: Library, params: dict[str, Any], expected: set[str]) -> None:
    filled = {k: v.format(root=library.root) if isinstance(v, str) else v for k, v in params.items()}
    page = search(client, "photo", limit=50, **filled)
    assert set(names(page)) == expected
    if "near" not in params:
        assert page["total"] == len(expected)


def test_image_search_finds_the_photo_and_offers_an_upload_id(client: Client, library: Library) -> None:
    data = (library.root / "b" / "newyork.jpg").read_bytes()
    response = client.post("/api/v1/search/image", files={"image": ("q.jpg", data, "image/jpeg")}, params={"limit": 3})
    assert response.status_code == 200, response.text
    page = response.json()
    assert names(page)[0] in {"newyork", "newyork_small"} and page["hits"][0]["score"] > 0.99
    assert len(page["upload_id"]) == 32
    combined = client.post("/api/v1/search", json={"positive": [{"upload_id": page["upload_id"]}], "limit": 2})
    assert combined.status_code == 200 and names(combined.json())[0] in {"newyork", "newyork_small"}
    with_text = client.post(
        "/api/v1/search/image",
        files={"image": ("q.jpg", data, "image/jpeg")},
        data={"text": "yellow taxi", "text_weight": "0.5"},
    )
    assert with_text.status_code == 200 and with_text.json()["hybrid"] is True


def test_image_search_rejects_what_is_not_an_image(client: Client) -> None:
    response = client.post("/api/v1/search/image", files={"image": ("x.jpg", b"not an image at all", "image/jpeg")})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"].startswith("ERR_")


def test_combined_search_with_weights_and_negatives(client: Client, library: Library) -> None:
    paris = library.ids["paris"]
    like_paris = client.post("/api/v1/search", json={"positive": [{"photo_id": paris}], "limit": 3}).json()
    assert paris not in [h["id"] for h in like_paris["hits"]]  # the example itself is not a result
    assert names(like_paris)[0] == "paris_copy"  # same pixels
    body = {
        "positive": [{"text": "kite", "weight": 2.0}, {"photo_id": library.ids["tokyo"], "weight": 0.5}],
        "negative": [{"photo_id": library.ids["newyork"], "weight": 1.0}],
        "filters": {"has_gps": True},
        "limit": 50,
    }
    response = client.post("/api/v1/search", json=body)
    assert response.status_code == 200, response.text
    got = names(response.json())
    assert set(got) <= {"paris", "paris_copy", "newyork", "newyork_small", "london"}  # tokyo excluded, GPS only
    assert got.index("newyork") > got.index("paris")  # pushed away by the negative


@pytest.mark.parametrize(
    "body",
    [
        {"positive": []},
        {"positive": [{"text": "a", "photo_id": "x"}]},
        {"positive": [{"text": "x" * 501}]},
        {"positive": [{"text": "a", "weight": 0}]},
        {"positive": [{"text": "a"}], "limit": 201},
        {"positive": [{"text": "a"}], "offset": -1},
        {"positive": [{"text": "a"}], "surprise": 1},
        {"positive": [{"text": "a"}], "negative": [{"text": "a"}]},  # cancels out
    ],
)
def test_combined_search_bad_bodies(client: Client, body: dict[str, Any]) -> None:
    response = client.post("/api/v1/search", json=body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "ERR_BAD_REQUEST" and problem["status"] == 400 and problem["title"] and problem["detail"]


def test_combined_search_unknown_refs(client: Client) -> None:
    missing = client.post("/api/v1/search", json={"positive": [{"photo_id": "00000000-0000-5000-8000-000000000000"}]})
    assert missing.status_code == 404 and missing.json()["code"] == "ERR_NOT_FOUND"
    expired = client.post("/api/v1/search", json={"positive": [{"upload_id": "0" * 32}]})
    assert expired.status_code == 404


def test_similar_excludes_the_photo_itself(client: Client, library: Library) -> None:
    response = client.get(f"/api/v1/photos/{library.ids['newyork']}/similar", params={"limit": 2})
    assert response.status_code == 200
    page = response.json()
    assert library.ids["newyork"] not in [h["id"] for h in page["hits"]]
    assert names(page)[0] == "newyork_small"
    assert page["total"] == len(INDEXED) - 1
    filtered = client.get(f"/api/v1/photos/{library.ids['newyork']}/similar", params={"make": "Canon"}).json()
    assert set(names(filtered)) == {"paris", "paris_copy", "winter"}


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "x" * 501},
        {"q": "a", "limit": 0},
        {"q": "a", "limit": 201},
        {"q": "a", "offset": 10001},
        {"q": "a", "bbox": "1,2,3"},
        {"q": "a", "bbox": "91,0,92,1"},
        {"q": "a", "near": "0,0,-5"},
        {"q": "a", "taken_from": "last week"},
        {"q": "a", "folder": "relative"},
        {"q": "a", "min_width": "wide"},
        {"q": "a", "make": ["m"] * 51},
        {},
    ],
)
def test_bad_search_parameters_are_problems(client: Client, params: dict[str, Any]) -> None:
    response = client.get("/api/v1/search/text", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "ERR_BAD_REQUEST"


def test_repeated_text_queries_hit_the_cache(client: Client) -> None:
    before = client.get("/api/v1/status").json()["models"]["text_cache_hits"]
    for _ in range(3):
        search(client, "a cached query")
    assert client.get("/api/v1/status").json()["models"]["text_cache_hits"] >= before + 2


def test_pages_of_look_alikes_do_not_overlap(client: Client, library: Library) -> None:
    url = f"/api/v1/photos/{library.ids['paris']}/similar"
    everything = [h["id"] for h in client.get(url, params={"limit": 50}).json()["hits"]]
    paged = [
        h["id"] for offset in (0, 3, 6) for h in client.get(url, params={"limit": 3, "offset": offset}).json()["hits"]
    ]
    assert paged == everything and len(set(paged)) == len(INDEXED) - 1
