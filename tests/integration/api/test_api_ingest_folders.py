"""Uploads into the inbox, rescans through the daemon's hook, watched folders in the config file, browsing."""

from __future__ import annotations

import io
import os
import tomllib
from pathlib import Path
from typing import Any

from PIL import Image

from photoindex.indexer.models.worker import ModelWorker
from tests.integration.api.conftest import Library, client_for, settings_for


def jpeg(color: tuple[int, int, int] = (10, 200, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), color).save(out, "JPEG")
    return out.getvalue()


def test_upload_lands_in_the_inbox_under_safe_names(own_library: Library, api_models: ModelWorker) -> None:
    with client_for(own_library, api_models) as client:
        files = [
            ("files", ("../../escape.jpg", jpeg(), "image/jpeg")),
            ("files", ("escape.jpg", jpeg((1, 2, 3)), "image/jpeg")),
            ("files", ("script.sh", b"#!/bin/sh\necho pwned\n" * 8, "text/plain")),
        ]
        response = client.post("/api/v1/ingest/upload", files=files)
    assert response.status_code == 201, response.text
    result = response.json()
    inbox = Path(result["inbox"])
    assert inbox == own_library.data_dir / "inbox"
    assert sorted(Path(s["path"]).name for s in result["saved"]) == ["escape (1).jpg", "escape.jpg"]
    assert all(Path(s["path"]).parent == inbox for s in result["saved"])
    assert [r["name"] for r in result["refused"]] == ["script.sh"]
    assert sorted(os.listdir(inbox)) == ["escape (1).jpg", "escape.jpg"]
    assert not (own_library.root.parent / "escape.jpg").exists()


def test_upload_size_and_type_limits(own_library: Library, api_models: ModelWorker) -> None:
    settings = settings_for(own_library, max_upload_mb=1)
    with client_for(own_library, api_models, settings=settings) as client:
        big = client.post(
            "/api/v1/ingest/upload", files=[("f", ("big.jpg", b"\xff\xd8" + os.urandom(1_200_000), "image/jpeg"))]
        )
        assert big.status_code == 413 and big.json()["code"] == "ERR_PAYLOAD_TOO_LARGE"
        wrong = client.post("/api/v1/ingest/upload", content=b"{}", headers={"content-type": "application/json"})
        assert wrong.status_code == 415 and wrong.json()["code"] == "ERR_UNSUPPORTED_MEDIA_TYPE"
        image = client.post(
            "/api/v1/search/image", files={"image": ("q.jpg", b"\xff\xd8" + os.urandom(52 << 20), "image/jpeg")}
        )
        assert image.status_code == 413
    assert not any((own_library.data_dir / "inbox").glob("*"))


def test_scan_calls_the_daemon_hook_only_for_watched_folders(
    own_library: Library, api_models: ModelWorker, tmp_path: Path
) -> None:
    asked: list[str] = []

    async def rescan(folder: str) -> None:
        asked.append(folder)

    with client_for(own_library, api_models, rescan=rescan) as client:
        ok = client.post("/api/v1/ingest/scan", json={"folder": str(own_library.root / "b")})
        assert ok.status_code == 202 and ok.json() == {"folder": str(own_library.root / "b"), "queued": True}
        outside = client.post("/api/v1/ingest/scan", json={"folder": str(tmp_path)})
        assert outside.status_code == 403
        traversal = client.post("/api/v1/ingest/scan", json={"folder": f"{own_library.root}/../../"})
        assert traversal.status_code == 403
        missing = client.post("/api/v1/ingest/scan", json={"folder": str(own_library.root / "nope")})
        assert missing.status_code == 404
    assert asked == [str(own_library.root / "b")]
    with client_for(own_library, api_models) as client:  # no daemon: nothing can scan
        none = client.post("/api/v1/ingest/scan", json={"folder": str(own_library.root)})
        assert none.status_code == 503 and none.json()["code"] == "ERR_UNAVAILABLE"


def test_folders_add_and_remove_persist_to_the_config_file(
    own_library: Library, api_models: ModelWorker, tmp_path: Path
) -> None:
    config = own_library.data_dir / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("# mine\n[watch]\nfolders = []  # set by the API\n\n[api]\nport = 8765\n")
    extra = own_library.root.parent / "more"
    extra.mkdir()
    told: list[tuple[str, ...]] = []
    with client_for(own_library, api_models, config_file=config, on_folders_changed=told.append) as client:
        listed = client.get("/api/v1/folders").json()
        assert [f["path"] for f in listed["folders"]] == [str(own_library.root)]
        assert listed["folders"][0]["photos"] == 9
        added = client.post("/api/v1/folders", json={"path": str(extra)})
        assert added.status_code == 201 and added.json()["applied_now"] is True
        assert tomllib.loads(config.read_text())["watch"]["folders"] == [str(own_library.root), str(extra)]
        assert config.read_text().startswith("# mine\n")
        for bad, status in [
            (str(extra), 409),
            (str(own_library.root / "a"), 409),
            ("/etc", 403),
            (f"{extra}/../../../etc", 403),
            ("relative", 400),
            (str(extra / "missing"), 404),
        ]:
            response = client.post("/api/v1/folders", json={"path": bad})
            assert response.status_code == status, (bad, response.text)
        removed = client.delete("/api/v1/folders", params={"path": str(own_library.root)})
        assert removed.status_code == 200
        assert [f["path"] for f in removed.json()["folders"]] == [str(extra)]
        # By default the photos stay in the index (still searchable), outside any watched folder.
        assert {p.payload.root for p in own_library.store.scroll()} == {""}
        assert own_library.store.count() == 9
        assert Path(own_library.paths["paris"]).exists()
        assert client.delete("/api/v1/folders", params={"path": "/not/watched"}).status_code == 404
    assert told == [(str(own_library.root), str(extra)), (str(extra),)]


def test_a_folder_removed_with_purge_leaves_the_index(own_library: Library, api_models: ModelWorker) -> None:
    config = own_library.data_dir / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[watch]\nfolders = ["{own_library.root}"]\n')
    with client_for(own_library, api_models, config_file=config) as client:
        purged = client.delete("/api/v1/folders", params={"path": str(own_library.root), "purge": "true"})
        assert purged.status_code == 200 and purged.json()["folders"] == []
    assert own_library.store.count() == 0  # purged from the index; the files stay
    assert Path(own_library.paths["paris"]).exists()


def test_browse(client: Any, library: Library) -> None:
    top = client.get("/api/v1/fs/browse").json()
    assert [e["path"] for e in top["entries"]] == [str(library.root.parent)]
    listing = client.get("/api/v1/fs/browse", params={"path": str(library.root)}).json()
    assert [e["name"] for e in listing["entries"]] == ["a", "b", "c"]
    assert listing["parent"] == str(library.root.parent)
    for attempt in ("/etc", f"{library.root}/../../..", "/proc/self/root"):
        denied = client.get("/api/v1/fs/browse", params={"path": attempt})
        assert denied.status_code == 403 and denied.json()["code"] == "ERR_PERMISSION"
    assert client.get("/api/v1/fs/browse", params={"path": "x"}).status_code == 400
