"""'Not duplicates' over HTTP: a dismissed group leaves the listing of its kind, stays dismissed across a
restart (a new app over the same state dir), comes back on undo, and unknown groups are refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.models.worker import ModelWorker
from photoindex.library.duplicates.dismissed import DISMISSED_FILE, members_key
from tests.integration.api.conftest import BASE_URL, Library, build_library, client_for, open_store
from tests.integration.api.test_api_duplicates import duplicates, stems

Client = TestClient[Any]


@pytest.fixture(scope="module")
def own_library(
    tmp_path_factory: pytest.TempPathFactory, decoder: DecodePool, api_models: ModelWorker
) -> Iterator[Library]:
    """A library of its own: dismissals are written to its state dir."""
    base = tmp_path_factory.mktemp("dismiss")
    store = open_store("edge", base)
    yield build_library(store, decoder, api_models, base)
    store.close()


def test_a_dismissed_group_stays_hidden_across_a_restart_until_undone(
    own_library: Library, api_models: ModelWorker
) -> None:
    lib = own_library
    with client_for(lib, api_models) as client:
        (group,) = duplicates(client, kind="exact")["groups"]
        assert group["group_id"] == members_key([lib.ids["paris"], lib.ids["paris_copy"]])
        near = duplicates(client, kind="near", max_distance=6)["groups"]
        assert [stems(g) for g in near] == [["newyork", "newyork_small"]]

        response = client.post("/api/v1/duplicates/dismissed", json={"kind": "exact", "group_id": group["group_id"]})
        assert response.status_code == 201, response.text
        assert response.json() == {"kind": "exact", "group_id": group["group_id"], "dismissed": True}
        page = duplicates(client, kind="exact")
        assert page["groups"] == [] and page["total_groups"] == 0 and page["dismissed_groups"] == 1
        assert page["reclaimable_bytes"] == 0
        # Other kinds are untouched: the mark is for the kind it was given with.
        assert [stems(g) for g in duplicates(client, kind="near", max_distance=6)["groups"]] == [
            ["newyork", "newyork_small"]
        ]
        with_exact = duplicates(client, kind="near", max_distance=6, include_exact=True)
        assert ["paris", "paris_copy"] in [sorted(stems(g)) for g in with_exact["groups"]]

    stored = json.loads((lib.data_dir / DISMISSED_FILE).read_text(encoding="utf-8"))
    assert stored["dismissed"] == {"exact": [group["group_id"]]}
    assert not [p for p in lib.data_dir.iterdir() if p.name.startswith(".dismissed.")]  # no temp file left

    with client_for(lib, api_models) as restarted:
        page = duplicates(restarted, kind="exact")
        assert page["groups"] == [] and page["dismissed_groups"] == 1
        key = {"group_id": group["group_id"]}
        undo = restarted.delete("/api/v1/duplicates/dismissed", params={"kind": "exact", **key})
        assert undo.status_code == 200, undo.text
        assert undo.json()["dismissed"] is False
        (back,) = duplicates(restarted, kind="exact")["groups"]
        assert back["group_id"] == group["group_id"]
        again = restarted.delete("/api/v1/duplicates/dismissed", params={"kind": "exact", **key})
        assert again.status_code == 404 and again.json()["code"] == "ERR_NOT_FOUND"


def test_a_group_that_gains_a_member_shows_again(own_library: Library, api_models: ModelWorker) -> None:
    lib = own_library
    old = members_key([lib.ids["paris"], lib.ids["paris_copy"]])
    new = members_key([lib.ids["paris"], lib.ids["paris_copy"], "another-copy"])
    assert new != old and members_key(reversed([lib.ids["paris"], lib.ids["paris_copy"]])) == old
    with client_for(lib, api_models) as client:
        (group,) = duplicates(client, kind="exact")["groups"]
        client.post("/api/v1/duplicates/dismissed", json={"kind": "exact", "group_id": group["group_id"]})
        assert duplicates(client, kind="exact")["groups"] == []
        client.delete("/api/v1/duplicates/dismissed", params={"kind": "exact", "group_id": group["group_id"]})


def test_unknown_or_malformed_groups_are_refused(own_library: Library, api_models: ModelWorker) -> None:
    with client_for(own_library, api_models) as client:
        unknown = client.post("/api/v1/duplicates/dismissed", json={"kind": "similar", "group_id": "0" * 32})
        assert unknown.status_code == 404 and unknown.json()["code"] == "ERR_NOT_FOUND"
        for body in (
            {"kind": "exact", "group_id": "not-a-key"},
            {"kind": "nearby", "group_id": "0" * 32},
            {"kind": "exact"},
            {"kind": "exact", "group_id": "0" * 32, "extra": 1},
        ):
            response = client.post("/api/v1/duplicates/dismissed", json=body)
            assert response.status_code == 400 and response.json()["code"] == "ERR_BAD_REQUEST", body
        bad = client.delete("/api/v1/duplicates/dismissed", params={"kind": "exact", "group_id": "xyz"})
        assert bad.status_code == 400
        assert not (own_library.data_dir / DISMISSED_FILE).exists() or json.loads(
            (own_library.data_dir / DISMISSED_FILE).read_text(encoding="utf-8")
        )["dismissed"] == {"exact": []}


def test_a_dismissal_from_another_origin_is_refused(own_library: Library, api_models: ModelWorker) -> None:
    with client_for(own_library, api_models) as client:
        (group,) = duplicates(client, kind="exact")["groups"]
        response = client.post(
            "/api/v1/duplicates/dismissed",
            json={"kind": "exact", "group_id": group["group_id"]},
            headers={"Origin": "http://127.0.0.1:9999"},
        )
        assert response.status_code == 403 and response.json()["code"] == "ERR_ORIGIN_NOT_ALLOWED"
        same = client.post(
            "/api/v1/duplicates/dismissed",
            json={"kind": "exact", "group_id": group["group_id"]},
            headers={"Origin": BASE_URL},
        )
        assert same.status_code == 201
        assert duplicates(client, kind="exact")["groups"] == []
        client.delete("/api/v1/duplicates/dismissed", params={"kind": "exact", "group_id": group["group_id"]})
