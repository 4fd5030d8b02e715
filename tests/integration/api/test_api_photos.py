"""Photos by id: details, thumbnail (ETag, rebuilt when lost), original (type, bytes, never outside its root)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from photoindex.indexer.decoding.thumbnails import thumbnail_path
from photoindex.indexer.models.worker import ModelWorker
from tests.integration.api.conftest import Library, client_for

Client = TestClient[Any]


def test_info_has_all_metadata(client: Client, library: Library) -> None:
    info = client.get(f"/api/v1/photos/{library.ids['paris']}").json()
    assert info["status"] == "indexed" and info["format"] == "JPEG"
    assert (info["camera_make"], info["camera_model"], info["lens"]) == ("Canon", "EOS R5", "RF24-70mm")
    assert info["taken_at"].startswith("2021-06-01T10:00") and info["taken_at_source"] == "exif"
    assert info["gps"]["lat"] == pytest.approx(48.8566, abs=1e-3) and info["width"] == 640
    assert info["caption"] == "a red kite flying over a sandy beach" and info["error"] is None
    assert info["thumbnail_url"].endswith("/thumbnail")


def test_info_says_where_a_date_without_exif_came_from(client: Client, library: Library) -> None:
    info = client.get(f"/api/v1/photos/{library.ids['plain']}").json()  # a PNG without EXIF or a dated name
    assert info["taken_at_source"] == "mtime" and info["taken_at"] is not None


def test_info_of_a_failed_file_carries_its_error(client: Client, library: Library) -> None:
    info = client.get(f"/api/v1/photos/{library.ids['broken']}").json()
    assert info["status"] == "failed" and info["error"]["code"] == "ERR_TRUNCATED"
    thumb = client.get(f"/api/v1/photos/{library.ids['broken']}/thumbnail")
    assert thumb.status_code == 404 and thumb.json()["code"] == "ERR_NOT_FOUND"


@pytest.mark.parametrize("bad", ["nope", "00000000-0000-5000-8000-000000000000", "..%2F..%2Fetc%2Fpasswd", "1" * 64])
def test_unknown_ids_are_404_problems(client: Client, bad: str) -> None:
    for suffix in ("", "/thumbnail", "/original", "/similar"):
        response = client.get(f"/api/v1/photos/{bad}{suffix}")
        assert response.status_code == 404, (bad, suffix, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def test_thumbnail_etag_and_cache_headers(client: Client, library: Library) -> None:
    url = f"/api/v1/photos/{library.ids['tokyo']}/thumbnail"
    response = client.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content[:2] == b"\xff\xd8"
    etag = response.headers["etag"]
    assert "max-age" in response.headers["cache-control"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_original_streams_with_its_content_type(client: Client, library: Library) -> None:
    for name, media in (("paris", "image/jpeg"), ("plain", "image/png")):
        response = client.get(f"/api/v1/photos/{library.ids[name]}/original")
        assert response.status_code == 200
        assert response.headers["content-type"] == media
        assert response.content == Path(library.paths[name]).read_bytes()


def test_thumbnail_rebuilt_when_the_cache_lost_it(own_library: Library, api_models: ModelWorker) -> None:
    point = own_library.store.retrieve([own_library.ids["winter"]])[0]
    cached = thumbnail_path(own_library.cache_dir, point.payload.sha256)
    cached.unlink()
    with client_for(own_library, api_models) as client:
        response = client.get(f"/api/v1/photos/{point.id}/thumbnail")
    assert response.status_code == 200 and cached.is_file()


def test_original_that_now_leads_outside_its_root_is_refused(
    own_library: Library, api_models: ModelWorker, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    victim = Path(own_library.paths["london"])
    victim.unlink()
    os.symlink(secret, victim)  # the indexed path now points elsewhere
    gone = Path(own_library.paths["tokyo"])
    shutil.move(gone, tmp_path / "moved.jpg")
    with client_for(own_library, api_models) as client:
        refused = client.get(f"/api/v1/photos/{own_library.ids['london']}/original")
        missing = client.get(f"/api/v1/photos/{own_library.ids['tokyo']}/original")
    assert refused.status_code == 403 and b"private" not in refused.content
    assert missing.status_code == 404 and missing.json()["code"] == "ERR_VANISHED"
