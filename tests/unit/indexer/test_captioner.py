"""BlipCaptioner on a real (tiny, random) BLIP; load_blip's sources and errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from tests.fixtures.models import tiny_blip_captioner, tiny_blip_config, tiny_blip_dir
from tests.fixtures.pixels import random_pixels

from photoindex.errors import ErrorCode, ModelError
from photoindex.indexer.models.captioner import (
    DEFAULT_CAPTION_MODEL,
    BlipCaptioner,
    Captioner,
    load_blip,
    synthetic_tokenizer,
)


def warnings_named(logs: list[dict[str, object]], event: str) -> list[dict[str, object]]:
    return [e for e in logs if e["event"] == event and e["log_level"] == "warning"]


@pytest.fixture(scope="module", params=["none", "int8"])
def any_captioner(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> BlipCaptioner:
    """The tiny BLIP in fp32 and with int8 Linear layers: the protocol's tests run on both."""
    folder = tiny_blip_dir(tmp_path_factory.mktemp("blip") / "tiny-blip")
    return load_blip(str(folder), "random", "cpu", quantize=str(request.param))


def test_implements_the_protocol(any_captioner: BlipCaptioner) -> None:
    assert isinstance(any_captioner, Captioner)
    assert (any_captioner.input_size, any_captioner.random_weights) == (32, True)


def test_one_caption_per_image_deterministically(any_captioner: BlipCaptioner) -> None:
    captions = any_captioner.caption(random_pixels(3))
    assert len(captions) == 3
    assert all(isinstance(c, str) and c and c == c.strip() for c in captions)
    assert any_captioner.caption(random_pixels(3)) == captions
    assert any_captioner.caption(random_pixels(0)) == []


def test_rejects_pixels_of_the_wrong_size(any_captioner: BlipCaptioner) -> None:
    with pytest.raises(ValueError, match="expected uint8 pixels"):
        any_captioner.caption(random_pixels(1, size=48))


def test_synthetic_tokenizer_matches_the_config_special_ids() -> None:
    text = tiny_blip_config().text_config
    tokenizer = synthetic_tokenizer(text)
    assert len(tokenizer) == text.vocab_size
    assert tokenizer.convert_tokens_to_ids(["[PAD]", "[SEP]", "[DEC]"]) == [
        text.pad_token_id,
        text.sep_token_id,
        text.bos_token_id,
    ]
    assert tokenizer.decode([text.bos_token_id, 40, 41, text.sep_token_id], skip_special_tokens=True) == "w40 w41"


def test_load_blip_random_from_a_folder_with_config_and_tokenizer(tmp_path: Path) -> None:
    folder = tiny_blip_dir(tmp_path / "tiny-blip")
    with capture_logs() as logs:
        loaded = load_blip(str(folder), "random", "cpu")
    assert (loaded.model_id, loaded.random_weights, loaded.input_size) == ("local-dir:tiny-blip/random", True, 32)
    # Said at info: opening the index warns once for the whole command (models.random_weights_index).
    assert [e["log_level"] for e in logs if e["event"] == "model.random_weights"] == ["info"]
    assert not warnings_named(logs, "model.synthetic_tokenizer")
    assert len(loaded.caption(random_pixels(2))) == 2


def test_int8_captioner_captions_like_fp32(tmp_path: Path) -> None:
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

    folder = tiny_blip_dir(tmp_path / "tiny-blip")
    fp32 = load_blip(str(folder), "random", "cpu")
    int8 = load_blip(str(folder), "random", "cpu", quantize="int8")
    assert int8.model_id == "local-dir:tiny-blip/random+int8"
    for part in (int8._model.text_decoder, int8._model.vision_model):
        assert any(isinstance(m, DynamicInt8Linear) for m in part.modules())
        assert not any(type(m) is torch.nn.Linear for m in part.modules())
    assert any(type(m) is torch.nn.Linear for m in fp32._model.modules())  # the fp32 one is left alone
    pixels = random_pixels(3)
    # Greedy decoding of a tiny random model: its top token wins by a wide margin, so int8 rounding
    # of the weights does not change the words.
    assert int8.caption(pixels) == fp32.caption(pixels)


def test_load_blip_random_from_a_bare_config_makes_up_a_tokenizer(tmp_path: Path) -> None:
    tiny_blip_config().save_pretrained(tmp_path)
    with capture_logs() as logs:
        loaded = load_blip(str(tmp_path), "random", "cpu")
    assert warnings_named(logs, "model.synthetic_tokenizer")
    assert len(loaded.caption(random_pixels(1))) == 1


def test_load_blip_trained_weights_from_a_folder(tmp_path: Path) -> None:
    folder = tiny_blip_dir(tmp_path / "saved", with_weights=True)
    loaded = load_blip(str(folder), None, "cpu", max_new_tokens=8)
    assert (loaded.model_id, loaded.random_weights) == ("local-dir:saved", False)
    assert loaded.caption(random_pixels(2)) == tiny_blip_captioner().caption(random_pixels(2))


@pytest.mark.usefixtures("offline_hub")
def test_offline_default_model_fails_fast_naming_the_setting() -> None:
    import transformers.models.blip.modeling_blip  # noqa: F401  # import time is not what this test measures

    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        load_blip(DEFAULT_CAPTION_MODEL, None, "cpu")
    assert time.monotonic() - started < 5
    assert caught.value.code is ErrorCode.MODEL_UNAVAILABLE
    assert 'model.caption_model = "/local/dir"' in caught.value.message


def test_a_folder_without_weights_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="could not load caption model") as caught:
        load_blip(str(tiny_blip_dir(tmp_path)), None, "cpu")
    assert caught.value.code is ErrorCode.MODEL_UNAVAILABLE


def test_weights_other_than_random_are_refused() -> None:
    with pytest.raises(ModelError, match=r"model\.caption_model"):
        load_blip(DEFAULT_CAPTION_MODEL, "/some/file.bin", "cpu")


@pytest.mark.slow
@pytest.mark.usefixtures("offline_hub")
def test_blip_base_architecture_with_random_weights_offline() -> None:
    loaded = load_blip(DEFAULT_CAPTION_MODEL, "random", "cpu", max_new_tokens=5)
    assert (loaded.model_id, loaded.input_size) == (f"{DEFAULT_CAPTION_MODEL}/random", 384)
    assert len(loaded.caption(random_pixels(1, size=384))) == 1
