"""Settings load from TOML and the environment, and every problem is reported with its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoindex.config import load_settings, resolve_config_path
from photoindex.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_default_file_gives_defaults(tmp_path: Path) -> None:
    loaded = load_settings(env={"PHOTOINDEX_CONFIG": str(tmp_path / "none.toml")})
    assert not loaded.file_exists
    assert loaded.settings.model.captions == "deferred"
    assert loaded.settings.api.host == "127.0.0.1"


def test_explicit_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, '[watch]\nfolders = ["~/Pictures"]\n[model]\nbatch_size = 8\ncaptions = "off"\n')
    settings = load_settings(path, env={}).settings
    assert settings.watch.folders == ("~/Pictures",)
    assert settings.model.batch_size == 8
    assert settings.model.captions == "off"


def test_env_overrides_scalars_and_lists(tmp_path: Path) -> None:
    path = write(tmp_path, "[model]\nbatch_size = 8\n")
    env = {
        "PHOTOINDEX_MODEL__CAPTIONS": "off",
        "PHOTOINDEX_WATCH__FOLDERS": '["/a","/b"]',
        "PHOTOINDEX_MODEL__BATCH_SIZE": "32",
        "PHOTOINDEX_STORE__ON_DISK": "true",
    }
    loaded = load_settings(path, env=env)
    assert loaded.settings.model.captions == "off"
    assert loaded.settings.watch.folders == ("/a", "/b")
    assert loaded.settings.model.batch_size == 32
    assert loaded.settings.store.on_disk is True
    assert set(loaded.overrides) == set(env)


def test_every_problem_is_reported_with_its_key_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[model]\nbatch_size = "many"\ncaptions = "sometimes"\ncolour = 1\n'
        '[watch]\nfolders = ["/a", 3]\n[api]\nport = 70000\n[nonsense]\nx = 1\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    problems = caught.value.problems
    joined = "\n".join(problems)
    assert "$.model.batch_size" in joined
    assert "$.model.captions" in joined
    assert "$.model.colour: unknown key" in joined
    assert "$.watch.folders[1]" in joined
    assert "$.nonsense: unknown section" in joined
    assert caught.value.source == str(path)
    # The range check runs only once the types are right; fix them and it appears.
    fixed = write(tmp_path, '[api]\nport = 70000\n[model]\ndevice = "tpu"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(fixed, env={})
    assert any(p.startswith("$.api.port") for p in caught.value.problems)
    assert any(p.startswith("$.model.device") for p in caught.value.problems)


def test_invalid_toml_is_one_clear_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "[model\nbatch_size = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, env={})


def test_bad_env_json_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PHOTOINDEX_WATCH__FOLDERS: not valid JSON"):
        load_settings(write(tmp_path, ""), env={"PHOTOINDEX_WATCH__FOLDERS": "[/a"})


def test_config_path_precedence(tmp_path: Path) -> None:
    assert resolve_config_path(tmp_path / "x.toml", {"PHOTOINDEX_CONFIG": "/elsewhere"}) == tmp_path / "x.toml"
    assert resolve_config_path(None, {"PHOTOINDEX_CONFIG": "/elsewhere.toml"}) == Path("/elsewhere.toml")
    assert resolve_config_path(None, {}).name == "config.toml"


def test_allowed_origins_must_be_web_origins(tmp_path: Path) -> None:
    good = write(tmp_path, '[api]\nallowed_origins = ["http://localhost:3000", "https://photos.example"]\n')
    assert load_settings(good, env={}).settings.api.allowed_origins == (
        "http://localhost:3000",
        "https://photos.example",
    )
    listed = '"http://ok.example", "localhost:3000", "http://a.example/app", "*"'
    bad = write(tmp_path, f"[api]\nallowed_origins = [{listed}]\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(bad, env={})
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "$.api.allowed_origins[1]",
        "$.api.allowed_origins[2]",
        "$.api.allowed_origins[3]",
    ]
    assert "http://localhost:3000" in caught.value.problems[0]  # says what an origin looks like


def test_backend_and_quantize_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, '[model]\nbackend = "tensorrt"\nquantize = "int4"\n'), env={})
    joined = "\n".join(caught.value.problems)
    assert "$.model.backend: Invalid enum value 'tensorrt' (expected one of: auto, torch, onnx)" in joined
    assert "$.model.quantize: Invalid enum value 'int4' (expected one of: none, int8)" in joined

    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, '[model]\nbackend = "onnx"\ndevice = "cuda"\n'), env={})
    assert caught.value.problems == [
        "$.model.backend: \"onnx\" runs on the CPU (ONNX Runtime's CPU provider), but model.device is 'cuda'; "
        'set model.device = "cpu" or "auto", or model.backend = "torch" or "auto"'
    ]
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, '[model]\nbackend = "torch"\nquantize = "int8"\n'), env={})
    assert [p.split(":")[0] for p in caught.value.problems] == ["$.model.quantize"]
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, '[model]\nquantize = "int8"\ndevice = "mps"\nonnx_threads = -1\n'), env={})
    assert [p.split(":")[0] for p in caught.value.problems] == ["$.model.onnx_threads", "$.model.quantize"]
    assert "runs on the CPU, but model.device is 'mps'" in caught.value.problems[1]

    loaded = load_settings(write(tmp_path, '[model]\nquantize = "int8"\n'), env={"PHOTOINDEX_MODEL__BACKEND": "onnx"})
    assert (loaded.settings.model.backend, loaded.settings.model.quantize) == ("onnx", "int8")
    assert load_settings(write(tmp_path, ""), env={}).settings.model.backend == "auto"
