"""One request decides: an unreachable hub switches the load to the local cache; a reachable one does not."""

from __future__ import annotations

import http.server
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
from huggingface_hub import constants

from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.models.captioner import load_blip
from photoindex.indexer.models.hub import hub_or_local_cache


@pytest.fixture
def online_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite runs with HF_HUB_OFFLINE=1, read by huggingface_hub at import: these cases need it off.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def refusing_endpoint(monkeypatch: pytest.MonkeyPatch, online_setting: None) -> Iterator[str]:
    """A loopback port bound but not listening: connecting is refused at once."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    endpoint = f"http://127.0.0.1:{holder.getsockname()[1]}"
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    try:
        yield endpoint
    finally:
        holder.close()


@pytest.fixture
def answering_endpoint(monkeypatch: pytest.MonkeyPatch, online_setting: None) -> Iterator[str]:
    """A real HTTP server that answers 404 to everything: reachable, whatever it says."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_hub_means_local_cache_only_for_the_load(refusing_endpoint: str) -> None:
    with hub_or_local_cache() as access:
        assert access.unreachable is not None and constants.is_offline_mode()
        assert refusing_endpoint in access.note()
    assert not constants.is_offline_mode()


def test_a_hub_that_answers_is_used(answering_endpoint: str) -> None:
    with hub_or_local_cache() as access:
        assert access.unreachable is None and not constants.is_offline_mode()
        assert access.note() == ""


def test_offline_by_setting_is_not_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:1")
    with hub_or_local_cache() as access:
        assert access.offline_by_setting and access.unreachable is None
        assert access.note() == " (HF_HUB_OFFLINE is set)"


def test_a_caption_model_from_an_unreachable_hub_fails_at_once_saying_why(
    refusing_endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path_factory.mktemp("empty-hub-cache")))
    with caplog.at_level(logging.INFO), pytest.raises(ModelError) as caught:
        load_blip("Salesforce/blip-image-captioning-base", None, "cpu")
    # huggingface_hub alone retries five times with backoff (23 s) per file, logging each retry.
    assert not [r for r in caplog.records if r.name.startswith("huggingface_hub") and "Retrying" in r.getMessage()]
    assert caught.value.code is ErrorCode.MODEL_UNAVAILABLE
    message = caught.value.message
    assert f"the model hub {refusing_endpoint} cannot be reached" in message
    assert "not in the local cache" in message and 'model.caption_model = "/local/dir"' in message
