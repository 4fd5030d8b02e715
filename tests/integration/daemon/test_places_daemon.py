"""The daemon names places at index time, and back-fills photos indexed before it could, at its first quiet moment."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoindex.indexer.decoding.places import PLACE_FIELDS, ZONE_FIELDS
from photoindex.indexer.store import PhotoPoint, payload_from_dict, payload_to_dict
from tests.fixtures.images import make_jpeg
from tests.integration.daemon.conftest import converged, daemon_settings, indexed, running, wait_until

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]


async def test_places_at_index_time_and_back_filled_after_a_restart(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    make_jpeg(lib / "kyoto.jpg", (64, 48), seed=3, taken_at="2019:11:20 19:00:00", gps=(35.0116, 135.7681, None))
    make_jpeg(lib / "plain.jpg", (64, 48), seed=4, taken_at="2019:11:20 19:00:00")
    settings = daemon_settings(tmp_path)
    kyoto = str((lib / "kyoto.jpg").resolve())
    async with running(settings, [lib]) as daemon:
        await converged(daemon, lib)
        store = daemon.parts.store
        payload = indexed(store)[kyoto]
        assert (payload["place_city"], payload["taken_at"]) == ("Kyoto", "2019-11-20T19:00:00+09:00")
        # As an older version wrote it: no place, no zone, the EXIF time without an offset.
        point = next(p for p in store.scroll(with_vectors=True) if p.payload.path == kyoto)
        old = {k: v for k, v in payload_to_dict(point.payload).items() if k not in PLACE_FIELDS + ZONE_FIELDS}
        old.update(taken_at="2019-11-20T19:00:00", taken_at_source="exif")
        store.upsert([PhotoPoint(id=point.id, payload=payload_from_dict(old), vector=point.vector)])
        assert "place_city" not in indexed(store)[kyoto]
    async with running(settings, [lib]) as daemon:
        store = daemon.parts.store
        await wait_until(lambda: "place_city" in indexed(store)[kyoto], what="the back-fill")
        payload = indexed(store)[kyoto]
        assert (payload["place_country_code"], payload["taken_at_source"]) == ("JP", "exif+gps")
        assert payload["taken_at"] == "2019-11-20T19:00:00+09:00"
        await wait_until(lambda: daemon.status().since_start.get("places_filled") == 1, what="the status count")
        assert "place_city" not in indexed(store)[str((lib / "plain.jpg").resolve())]
