"""`photoindex search` without a daemon ranks as the API does: the library's Searcher, captions and all."""

from __future__ import annotations

from pathlib import Path

from photoindex.components import SearchParts
from photoindex.config import AppPaths
from photoindex.indexer.models.worker import ModelWorker
from photoindex.oneshot.searching import rank
from tests.integration.api.conftest import SPEC, Library, client_for, settings_for


def test_in_process_search_ranks_text_and_images_as_the_api(library: Library, api_models: ModelWorker) -> None:
    settings = settings_for(library)
    parts = SearchParts(settings, AppPaths.from_settings(settings), SPEC, library.store, api_models)
    with client_for(library, api_models) as client:
        for query in ("a red kite over the beach", "snow", "a photo"):
            page = client.get("/api/v1/search/text", params={"q": query, "limit": 9}).json()
            local = rank(parts, text=query, image=None, limit=9, offset=0)
            assert [(h["id"], h["score"]) for h in local] == [(h["id"], round(h["score"], 6)) for h in page["hits"]]
        assert page["hybrid"]  # caption matching took part, in both
        picture = Path(library.paths["paris"])
        answer = client.post(
            "/api/v1/search/image",
            params={"limit": 5, "offset": 2},
            files={"image": (picture.name, picture.read_bytes(), "image/jpeg")},
            data={"text": "kite"},
        ).json()
        local = rank(parts, text="kite", image=str(picture), limit=5, offset=2)
        assert [h["id"] for h in local] == [h["id"] for h in answer["hits"]]
