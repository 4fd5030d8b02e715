"""Display renditions and 2x thumbnails on real corpus files: HEIC, DNG, EXIF-rotated JPEGs.

The corpus files are copied into a library, indexed by the real pipeline and
served by the real app; what comes back is decoded and measured. Whether a
rendition was served from the cache is told by its cache file, never by timing.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from litestar.testing import TestClient
from PIL import Image

from photoindex.indexer.decoding.pool import DecodePool
from photoindex.indexer.decoding.thumbnail_cache import LOW_WATER, ThumbnailCache
from photoindex.indexer.decoding.thumbnails import rendition_path, thumbnail_path
from photoindex.indexer.discovery import DiscoveryRules, canonical_root, iter_files
from photoindex.indexer.models.worker import ModelWorker
from tests.integration.api.conftest import Library, client_for, open_store
from tests.integration.conftest import HOST, make_pipeline

Client = TestClient[Any]

# Library name → file in the corpus.
CORPUS_FILES = {
    "iphone.heic": "photos/photoprism/examples/iphone_7.heic",  # 4032 x 3024
    "canon.dng": "raw/photoprism/examples/canon_eos_6d.dng",  # 1224 x 816, its embedded preview only 1024 x 683
    "upright.jpg": "photos/exif-samples/orientation/landscape_1.jpg",  # 600 x 450, orientation 1
    "rotated.jpg": "photos/exif-samples/orientation/landscape_6.jpg",  # stored 450 x 600, orientation 6
    "gone.jpg": "photos/exif-samples/orientation/landscape_3.jpg",
    "spoiled.jpg": "photos/exif-samples/orientation/landscape_4.jpg",
}


async def _index(lib: Library, decoder: DecodePool, models: ModelWorker) -> None:
    pipeline = make_pipeline(lib.store, decoder, models, lib.cache_dir.parent)
    await pipeline.run(list(iter_files([str(lib.root)], DiscoveryRules())))


def build_corpus_library(
    base: Path, corpus_dir: Path, files: dict[str, str], decoder: DecodePool, models: ModelWorker
) -> Library:
    """``files`` (library name → corpus path) copied into ``base/lib`` and indexed; the caller closes the store."""
    root = base / "lib"
    root.mkdir()
    for name, source in files.items():
        shutil.copyfile(corpus_dir / source, root / name)
    (base / "data").mkdir()
    (base / "data" / "host-id").write_text(HOST + "\n", encoding="ascii")
    store = open_store("edge", base)
    lib = Library(Path(canonical_root(str(root))), store, {}, {}, base / "cache", base / "data")
    anyio.run(_index, lib, decoder, models)
    for point in store.scroll():
        assert point.payload.status == "indexed", point.payload
        lib.ids[Path(point.payload.path).name] = point.id
        lib.paths[Path(point.payload.path).name] = point.payload.path
    return lib


@pytest.fixture(scope="module")
def corpus_library(
    tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, decoder: DecodePool, api_models: ModelWorker
) -> Iterator[Library]:
    lib = build_corpus_library(tmp_path_factory.mktemp("display"), corpus_dir, CORPUS_FILES, decoder, api_models)
    yield lib
    lib.store.close()


@pytest.fixture
def client(corpus_library: Library, api_models: ModelWorker) -> Iterator[Client]:
    with client_for(corpus_library, api_models) as test_client:
        yield test_client


def jpeg(response: Any) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG"
    return image


def sha_of(lib: Library, name: str) -> str:
    return str(lib.store.retrieve([lib.ids[name]])[0].payload.sha256)


@pytest.mark.parametrize(("name", "size"), [("iphone.heic", (1600, 1200)), ("canon.dng", (1224, 816))])
def test_heic_and_dng_get_a_jpeg_display_rendition(
    client: Client, corpus_library: Library, name: str, size: tuple[int, int]
) -> None:
    info = client.get(f"/api/v1/photos/{corpus_library.ids[name]}").json()
    assert info["display_url"] == f"/api/v1/photos/{corpus_library.ids[name]}/display"
    response = client.get(info["display_url"])
    image = jpeg(response)
    # At most 1600 px; the DNG at its sensor's size, not blown up from its smaller embedded preview.
    assert image.size == size and max(image.size) <= 1600
    assert float(np.asarray(image.convert("L")).std()) > 10  # a picture, not a blank
    assert "max-age" in response.headers["cache-control"]
    again = client.get(info["display_url"], headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_an_exif_rotated_jpeg_is_shown_upright(client: Client, corpus_library: Library) -> None:
    ids = corpus_library.ids
    upright = small(jpeg(client.get(f"/api/v1/photos/{ids['upright.jpg']}/display")))
    rotated = jpeg(client.get(f"/api/v1/photos/{ids['rotated.jpg']}/display"))
    assert rotated.size == (600, 450)  # stored 450 x 600: turned by its EXIF orientation
    # Both files are the same scene (encoded apart: ~14 apart); a mirror is ~42 off, a half turn ~60.
    turned = small(rotated)
    assert float(np.abs(turned - upright).mean()) < 25
    assert float(np.abs(turned[:, ::-1] - upright).mean()) > 35
    assert float(np.abs(turned[::-1, ::-1] - upright).mean()) > 35


def small(image: Image.Image) -> np.ndarray:
    """Coarse pixels (60 x 45 boxes): what the scene is, not how each encoder rounded it."""
    return np.asarray(image.convert("RGB").resize((60, 45), Image.Resampling.BOX), dtype=np.float32)


def test_the_second_request_is_served_from_the_cache(client: Client, corpus_library: Library) -> None:
    sha = sha_of(corpus_library, "iphone.heic")
    cached = rendition_path(corpus_library.cache_dir, sha, "d1600")
    cached.unlink(missing_ok=True)
    url = f"/api/v1/photos/{corpus_library.ids['iphone.heic']}/display"
    first = client.get(url)
    assert first.status_code == 200 and cached.read_bytes() == first.content
    # A different picture in the cache file: the next answer is that file, not a new decode.
    marker = io.BytesIO()
    Image.new("RGB", (16, 12), (0, 200, 0)).save(marker, "JPEG")
    cached.write_bytes(marker.getvalue())
    try:
        assert client.get(url).content == marker.getvalue()
    finally:
        cached.unlink()


def test_thumbnails_come_in_200_and_400_px(client: Client, corpus_library: Library) -> None:
    lib = corpus_library
    url = f"/api/v1/photos/{lib.ids['iphone.heic']}/thumbnail"
    small = client.get(url)
    assert jpeg(small).size == (200, 150)
    large = client.get(url, params={"size": 400})
    assert jpeg(large).size == (400, 300)
    assert large.headers["etag"] != small.headers["etag"]
    cached = rendition_path(lib.cache_dir, sha_of(lib, "iphone.heic"), "t400")
    assert cached.read_bytes() == large.content  # made from the original, kept beside the 200 px one
    assert client.get(url, params={"size": 400}, headers={"If-None-Match": large.headers["etag"]}).status_code == 304
    for bad in ("300", "0", "big"):
        refused = client.get(url, params={"size": bad})
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["code"] == "ERR_BAD_REQUEST"
        assert "size" in refused.text


def test_a_missing_or_undecodable_file_is_a_stable_problem(client: Client, corpus_library: Library) -> None:
    lib = corpus_library
    unknown = client.get("/api/v1/photos/00000000-0000-5000-8000-000000000000/display")
    assert unknown.status_code == 404 and unknown.json()["code"] == "ERR_NOT_FOUND"
    Path(lib.paths["gone.jpg"]).unlink()
    gone = client.get(f"/api/v1/photos/{lib.ids['gone.jpg']}/display")
    assert gone.status_code == 404 and gone.json()["code"] == "ERR_VANISHED"
    Path(lib.paths["spoiled.jpg"]).write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(4000))  # still a "JPEG", now junk
    spoiled = client.get(f"/api/v1/photos/{lib.ids['spoiled.jpg']}/display")
    assert spoiled.status_code == 422 and spoiled.json()["code"] in {"ERR_DECODE", "ERR_TRUNCATED"}
    assert spoiled.headers["content-type"] == "application/problem+json"


def test_renditions_and_thumbnails_share_one_limit(corpus_library: Library, api_models: ModelWorker) -> None:
    lib = corpus_library
    cache = ThumbnailCache(lib.cache_dir, max_bytes=1 << 40)
    cache.sweep()  # counts what indexing wrote
    cache.max_bytes = cache.total_bytes + 1
    full: list[bool] = []
    cache.on_full = lambda: full.append(True)
    display = rendition_path(lib.cache_dir, sha_of(lib, "canon.dng"), "d1600")
    display.unlink(missing_ok=True)
    with client_for(lib, api_models, thumbnails=cache) as client:
        assert client.get(f"/api/v1/photos/{lib.ids['canon.dng']}/display").status_code == 200
        assert client.get(f"/api/v1/photos/{lib.ids['rotated.jpg']}/thumbnail", params={"size": 400}).status_code == 200
    assert full, "writing a rendition past the limit asks for a sweep"

    files = [p for p in (lib.cache_dir / "thumbs").rglob("*.jpg")]
    thumb = thumbnail_path(lib.cache_dir, sha_of(lib, "upright.jpg"))
    assert display in files and thumb in files
    # The display rendition and a 200 px thumbnail were served longest ago; everything else just now.
    now = time.time()
    for path in files:
        os.utime(path, (now, now))
    os.utime(display, (now - 3000, now - 3000))
    os.utime(thumb, (now - 2000, now - 2000))
    total = sum(p.stat().st_size for p in files)
    rest = total - display.stat().st_size - thumb.stat().st_size
    cache.max_bytes = math.ceil(rest / LOW_WATER)  # room for all but those two
    assert total > cache.max_bytes

    result = cache.sweep()
    assert result.evicted == 2 and not display.exists() and not thumb.exists()
    assert result.bytes == rest and all(p.exists() for p in files if p not in (display, thumb))
    with client_for(lib, api_models, thumbnails=cache) as client:  # both made again when asked
        assert client.get(f"/api/v1/photos/{lib.ids['canon.dng']}/display").status_code == 200
        assert client.get(f"/api/v1/photos/{lib.ids['upright.jpg']}/thumbnail").status_code == 200
    assert display.is_file() and thumb.is_file()
