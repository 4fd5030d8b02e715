"""The thumbnail cache stays under its limit under churn, evicts the least recently served first, and
collects the thumbnails of content no longer indexed."""

from __future__ import annotations

import hashlib
import os
import random
import time
from pathlib import Path

from PIL import Image
from tests.fixtures.images import photo_image

from photoindex.indexer.decoding.thumbnail_cache import LOW_WATER, YOUNG_S, ThumbnailCache
from photoindex.indexer.decoding.thumbnails import rendition_path, write_thumbnail


def sha_of(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def on_disk(cache: ThumbnailCache) -> dict[str, int]:
    """sha → size of every thumbnail in the folder (what the limit is about)."""
    return {p.stem: p.stat().st_size for p in cache.root.rglob("*.jpg")}


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def noisy(seed: int) -> Image.Image:
    # Photo-like with grain, so each thumbnail is a realistic few KB and sizes differ.
    rng = random.Random(seed)
    image = photo_image((400, 300), seed=seed)
    for _ in range(400):
        image.putpixel((rng.randrange(400), rng.randrange(300)), tuple(rng.randrange(256) for _ in range(3)))
    return image


def test_the_limit_holds_under_churn_and_recently_served_thumbnails_stay(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path, max_bytes=60_000)
    cache.sweep()  # counted: an empty cache
    favourite = cache.path(sha_of(0))
    write_thumbnail(noisy(0), favourite)
    cache.added(favourite)
    sweeps = 0
    clock = 10_000.0  # seconds ago; each new thumbnail is a little younger than the last
    for n in range(1, 120):
        path = cache.path(sha_of(n))
        write_thumbnail(noisy(n), path)
        age(path, clock)
        clock -= 60
        age(favourite, clock - 30)  # served between every two writes: always the most recent
        if cache.added(path):
            result = cache.sweep()
            sweeps += 1
            assert result.bytes <= cache.max_bytes * LOW_WATER
            assert sum(on_disk(cache).values()) == result.bytes
        assert sum(on_disk(cache).values()) <= cache.max_bytes + path.stat().st_size  # at most one write over
    assert sweeps >= 5, "the churn never passed the limit: the test proves nothing"
    kept = on_disk(cache)
    assert sum(kept.values()) <= cache.max_bytes
    assert sha_of(0) in kept  # served all along: never evicted
    newest = [sha_of(n) for n in range(119, 100, -1)]
    assert newest[0] in kept and sha_of(1) not in kept  # least recently used went first


def test_serving_marks_a_thumbnail_used(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path, max_bytes=10**9)
    path = cache.path(sha_of(1))
    write_thumbnail(noisy(1), path)
    age(path, 3600)
    cache.served(path)
    assert time.time() - path.stat().st_mtime < 60


def test_thumbnails_of_content_no_longer_indexed_are_collected_but_young_ones_wait(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path, max_bytes=10**9)
    paths = {n: cache.path(sha_of(n)) for n in range(6)}
    for n, path in paths.items():
        write_thumbnail(noisy(n), path)
        if n != 5:
            age(path, YOUNG_S + 60)
    live = {sha_of(0), sha_of(1)}
    result = cache.sweep(live.__contains__)
    assert result.dead == 3 and result.evicted == 0
    assert set(on_disk(cache)) == {sha_of(0), sha_of(1), sha_of(5)}  # 5 may be on its way into the index


def test_eviction_for_space_takes_the_oldest_and_only_when_it_is_enough(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path, max_bytes=10**9)
    for n in range(10):
        path = cache.path(sha_of(n))
        write_thumbnail(noisy(n), path)
        age(path, 1000 - n)  # 0 is the oldest
    sizes = on_disk(cache)
    total = sum(sizes.values())
    untouched = cache.evict(total + 1)  # more than the whole cache: emptying it would not be enough
    assert untouched.freed == 0 and on_disk(cache) == sizes
    result = cache.evict(sizes[sha_of(0)] + 1)
    assert result.evicted == 2 and set(on_disk(cache)) == {sha_of(n) for n in range(2, 10)}
    assert result.bytes == total - result.freed


def test_a_missing_folder_is_an_empty_cache(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "nowhere", max_bytes=1000)
    assert cache.over_limit()
    result = cache.sweep()
    assert (result.files, result.bytes) == (0, 0) and not cache.over_limit()


def test_renditions_are_counted_and_collected_with_their_thumbnail(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path, max_bytes=10_000_000)
    kept, dead = sha_of(1), sha_of(2)
    files = []
    for sha in (kept, dead):
        for path, px in ((cache.path(sha), 200), (rendition_path(tmp_path, sha, "t400"), 400)):
            write_thumbnail(noisy(len(files)), path, max_px=px)
            age(path, YOUNG_S + 10)
            files.append(path)
    result = cache.sweep(live=lambda sha: sha == kept)
    assert result.dead == 2 and result.files == 2
    assert [p.exists() for p in files] == [True, True, False, False]
    assert result.bytes == sum(p.stat().st_size for p in files[:2])
