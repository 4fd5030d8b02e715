"""Cross-origin writes over real HTTP: every write route refuses a page from another origin (scheme, host, port).

A real uvicorn server on a loopback port serves the app; requests carry the
Origin header a browser would send. A page on another local port
(``http://localhost:3000``, any dev server) is another site: refused. The API's
own origin (at its own port, by any loopback name) and ``api.allowed_origins``
are accepted.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from photoindex.errors import ConfigError
from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.models.worker import ModelWorker
from photoindex.library.duplicates.dismissed import members_key
from tests.fixtures.images import photo_image
from tests.integration.api.conftest import SPEC, Library, api_app, build_library, open_store, settings_for
from tests.integration.api.live import loopback_socket, serving

ALLOWED = "http://photos.example:8080"  # listed in api.allowed_origins


@dataclass
class Live:
    url: str
    port: int
    library: Library
    scans: list[str]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, decoder: DecodePool, api_models: ModelWorker) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("origins")
    store = open_store("edge", base)
    library = build_library(store, decoder, api_models, base)
    scans: list[str] = []

    async def rescan(folder: str) -> None:
        scans.append(folder)

    sock = loopback_socket()
    port = sock.getsockname()[1]
    settings = settings_for(library, port=port, allowed_origins=(ALLOWED,))
    app = api_app(
        settings,
        store=store,
        models=api_models,
        spec=SPEC,
        rescan=rescan,
        config_file=base / "config.toml",
        projection_warm_up=False,
    )
    with serving(app, sock) as url:
        yield Live(url, port, library, scans)
    store.close()


def jpeg_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    photo_image((64, 48), seed=seed).save(buffer, "JPEG")
    return buffer.getvalue()


Request = Callable[[httpx.Client, Live, int, dict[str, str]], httpx.Response]


def combined_search(client: httpx.Client, live: Live, _n: int, headers: dict[str, str]) -> httpx.Response:
    return client.post("/api/v1/search", json={"positive": [{"text": "a kite"}]}, headers=headers)


def image_search(client: httpx.Client, live: Live, n: int, headers: dict[str, str]) -> httpx.Response:
    files = {"image": ("query.jpg", jpeg_bytes(n), "image/jpeg")}
    return client.post("/api/v1/search/image", files=files, headers=headers)


def upload(client: httpx.Client, live: Live, n: int, headers: dict[str, str]) -> httpx.Response:
    files = {"files": (f"upload-{n}.jpg", jpeg_bytes(n), "image/jpeg")}
    return client.post("/api/v1/ingest/upload", files=files, headers=headers)


def scan(client: httpx.Client, live: Live, _n: int, headers: dict[str, str]) -> httpx.Response:
    return client.post("/api/v1/ingest/scan", json={"folder": str(live.library.root)}, headers=headers)


def remove(client: httpx.Client, live: Live, _n: int, headers: dict[str, str]) -> httpx.Response:
    # A well-formed id that is not in the index: the route answers 200 without touching the library.
    return client.post("/api/v1/photos/remove", json={"ids": ["0" * 32], "trash": True}, headers=headers)


def folder(live: Live, n: int) -> Path:
    path = live.library.root.parent / f"extra-{n}"
    path.mkdir(exist_ok=True)
    return path


def add_folder(client: httpx.Client, live: Live, n: int, headers: dict[str, str]) -> httpx.Response:
    return client.post("/api/v1/folders", json={"path": str(folder(live, n))}, headers=headers)


def remove_folder(client: httpx.Client, live: Live, n: int, headers: dict[str, str]) -> httpx.Response:
    params = {"path": str(folder(live, n)), "purge": "false"}
    return client.delete("/api/v1/folders", params=params, headers=headers)


def sign_in(client: httpx.Client, live: Live, _n: int, headers: dict[str, str]) -> httpx.Response:
    # This server has no key: accepted past the Origin check, the route says there is nothing to sign in to.
    return client.post("/api/v1/session", json={"key": "k" * 43}, headers=headers)


def sign_out(client: httpx.Client, live: Live, _n: int, headers: dict[str, str]) -> httpx.Response:
    return client.delete("/api/v1/session", headers=headers)


def exact_group(live: Live) -> dict[str, str]:
    return {"kind": "exact", "group_id": members_key([live.library.ids["paris"], live.library.ids["paris_copy"]])}


def dismiss(client: httpx.Client, live: Live, _n: int, headers: dict[str, str]) -> httpx.Response:
    return client.post("/api/v1/duplicates/dismissed", json=exact_group(live), headers=headers)


def undismiss(client: httpx.Client, live: Live, n: int, headers: dict[str, str]) -> httpx.Response:
    assert dismiss(client, live, n, {}).status_code == 201  # something to undo, whether or not this is refused
    return client.delete("/api/v1/duplicates/dismissed", params=exact_group(live), headers=headers)


# (method, path) → (the request, the status it gets when accepted)
WRITES: dict[tuple[str, str], tuple[Request, int]] = {
    ("POST", "/api/v1/search"): (combined_search, 200),
    ("POST", "/api/v1/search/image"): (image_search, 200),
    ("POST", "/api/v1/ingest/upload"): (upload, 201),
    ("POST", "/api/v1/ingest/scan"): (scan, 202),
    ("POST", "/api/v1/photos/remove"): (remove, 200),
    ("POST", "/api/v1/folders"): (add_folder, 201),
    ("DELETE", "/api/v1/folders"): (remove_folder, 200),
    ("POST", "/api/v1/session"): (sign_in, 409),
    ("DELETE", "/api/v1/session"): (sign_out, 204),
    ("POST", "/api/v1/duplicates/dismissed"): (dismiss, 201),
    ("DELETE", "/api/v1/duplicates/dismissed"): (undismiss, 200),
}
FOREIGN = [
    "http://localhost:3000",  # a dev server on another local port
    "http://127.0.0.1:{other}",
    "https://127.0.0.1:{port}",  # another scheme
    "http://evil.example:{port}",
    "http://127.0.0.1.nip.io:{port}",
    "null",  # a sandboxed frame or a file:// page
    "http://127.0.0.1:{port}/path",
]
OWN = ["http://127.0.0.1:{port}", "http://localhost:{port}", "http://[::1]:{port}", "HTTP://LocalHost:{port}", ALLOWED]


def test_the_schema_lists_no_write_route_this_file_misses(live: Live) -> None:
    schema = httpx.get(f"{live.url}/api/v1/schema/openapi.json", timeout=30).json()
    writes = {
        (method.upper(), path.rstrip("/"))
        for path, item in schema["paths"].items()
        for method in item
        if method in ("post", "put", "patch", "delete")
    }
    assert writes == set(WRITES)


@pytest.mark.parametrize("route", list(WRITES), ids=[f"{m} {p}" for m, p in WRITES])
def test_a_write_from_another_origin_is_refused_and_the_own_origin_accepted(live: Live, route: tuple[str, str]) -> None:
    send, accepted = WRITES[route]
    folders_before = httpx.get(f"{live.url}/api/v1/folders", timeout=30).json()["folders"]
    scans_before = len(live.scans)
    with httpx.Client(base_url=live.url, timeout=60) as client:
        for n, template in enumerate(FOREIGN):
            origin = template.format(port=live.port, other=live.port + 1)
            response = send(client, live, n, {"Origin": origin})
            assert response.status_code == 403, (origin, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "ERR_ORIGIN_NOT_ALLOWED", origin
        assert httpx.get(f"{live.url}/api/v1/folders", timeout=30).json()["folders"] == folders_before
        assert len(live.scans) == scans_before  # nothing refused reached the route
        first = 300 if route == ("DELETE", "/api/v1/folders") else 100  # folders of their own to stop watching
        for n, template in enumerate([*OWN, None], start=first):
            headers = {} if template is None else {"Origin": template.format(port=live.port)}  # none: not a browser
            if first == 300:
                assert add_folder(client, live, n, {}).status_code == 201
            response = send(client, live, n, headers)
            assert response.status_code == accepted, (headers, response.text)


def test_reads_from_another_origin_are_answered(live: Live) -> None:
    # Reads change nothing; a foreign page cannot read the answer anyway (no CORS headers are sent).
    response = httpx.get(
        f"{live.url}/api/v1/search/text", params={"q": "x"}, headers={"Origin": "http://localhost:3000"}, timeout=60
    )
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers


def test_a_library_photo_survives_a_refused_trash_request(live: Live) -> None:
    photo = live.library.ids["paris"]
    response = httpx.post(
        f"{live.url}/api/v1/photos/remove",
        json={"ids": [photo], "trash": True},
        headers={"Origin": "http://localhost:3000"},
        timeout=30,
    )
    assert response.status_code == 403 and response.json()["code"] == "ERR_ORIGIN_NOT_ALLOWED"
    assert live.library.store.retrieve([photo]) and Path(live.library.paths["paris"]).is_file()


def test_an_allowed_origin_that_is_not_an_origin_is_a_config_error(live: Live, api_models: ModelWorker) -> None:
    settings = settings_for(live.library, allowed_origins=("localhost:3000/app",))
    with pytest.raises(ConfigError, match="allowed_origins"):
        api_app(settings, store=live.library.store, models=api_models, spec=SPEC)
