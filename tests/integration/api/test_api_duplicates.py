"""Duplicate groups over HTTP: exact, near, similar; keepers, thresholds echoed, paging, bad parameters."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

Client = TestClient[Any]


def duplicates(client: Client, **params: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        response = client.get("/api/v1/duplicates", params={"wait_s": 5, **params})
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["computing"] or time.monotonic() > deadline:
            return page
        time.sleep(0.2)


def stems(group: dict[str, Any]) -> list[str]:
    return [Path(m["path"]).stem for m in group["members"]]


def test_exact(client: Client) -> None:
    page = duplicates(client, kind="exact")
    assert page["thresholds"] == {"kind": "exact", "max_distance": None, "min_score": None, "include_exact": False}
    (group,) = page["groups"]
    assert sorted(stems(group)) == ["paris", "paris_copy"]
    assert group["members"][0]["keeper"] and group["keeper_id"] == group["members"][0]["id"]
    assert group["reclaimable_bytes"] == group["members"][1]["size"]
    assert page["total_groups"] == 1 and page["stale"] is False and page["version"]["photos"] == 9


def test_near_groups_the_resized_copy_with_a_keeper(client: Client) -> None:
    page = duplicates(client, kind="near", max_distance=6)
    assert page["thresholds"]["max_distance"] == 6
    (group,) = page["groups"]  # paris/paris_copy are exact only: left out by default
    assert stems(group) == ["newyork", "newyork_small"]
    assert group["keeper_reason"] == "largest resolution" and group["members"][1]["distance"] <= 6
    with_exact = duplicates(client, kind="near", max_distance=6, include_exact=True)
    assert sorted(sorted(stems(g)) for g in with_exact["groups"]) == [
        ["newyork", "newyork_small"],
        ["paris", "paris_copy"],
    ]


def test_similar_by_vector(client: Client) -> None:
    page = duplicates(client, kind="similar", min_score=0.99)
    assert page["thresholds"]["min_score"] == 0.99
    groups = [sorted(stems(g)) for g in page["groups"]]
    assert ["newyork", "newyork_small"] in groups
    for group in page["groups"]:
        assert all(m["similarity"] >= 0.99 for m in group["members"])


def test_paging(client: Client) -> None:
    everything = duplicates(client, kind="near", max_distance=6, include_exact=True)
    first = duplicates(client, kind="near", max_distance=6, include_exact=True, limit=1)
    second = duplicates(client, kind="near", max_distance=6, include_exact=True, limit=1, offset=1)
    assert first["next_offset"] == 1 and second["next_offset"] is None
    assert [first["groups"][0], second["groups"][0]] == everything["groups"]


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "fuzzy"},
        {"kind": "near", "max_distance": 16},
        {"kind": "similar", "min_score": 0.2},
        {"limit": 101},
        {"wait_s": 60},
    ],
)
def test_bad_parameters(client: Client, params: dict[str, Any]) -> None:
    response = client.get("/api/v1/duplicates", params=params)
    assert response.status_code == 400 and response.json()["code"] == "ERR_BAD_REQUEST"
