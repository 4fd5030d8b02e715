"""Bind policy, API keys and Host-header parsing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from photoindex.config import ApiSettings, Settings
from photoindex.config.origins import Origin, parse_origin
from photoindex.errors import ConfigError
from photoindex.query_api.security import (
    allowed_hosts,
    allowed_origins,
    check_bind,
    generate_api_key,
    host_name,
    is_loopback,
    resolve_api_key,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST."])
def test_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.org", ""])
def test_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_non_loopback_bind_needs_a_key(tmp_path: Path) -> None:
    check_bind(Settings())
    with pytest.raises(ConfigError, match="api_key"):
        check_bind(Settings(api=ApiSettings(host="0.0.0.0")))
    check_bind(Settings(api=ApiSettings(host="0.0.0.0", api_key="k" * 32)))
    key_file = tmp_path / "key"
    generate_api_key(key_file)
    check_bind(Settings(api=ApiSettings(host="192.168.1.5", api_key_file=str(key_file))))


def test_generated_key_is_private_and_long(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "api-key"
    key = generate_api_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 43  # 32 random bytes, base64url
    assert resolve_api_key(Settings(api=ApiSettings(api_key_file=str(path)))) == key
    with pytest.raises(FileExistsError):
        generate_api_key(path)  # never overwrites a key in use


def test_unreadable_or_empty_key_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        resolve_api_key(Settings(api=ApiSettings(api_key_file=str(tmp_path / "missing"))))
    (tmp_path / "short").write_text("abc")
    with pytest.raises(ConfigError):
        resolve_api_key(Settings(api=ApiSettings(api_key_file=str(tmp_path / "short"))))


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1:8765", "127.0.0.1"),
        ("[::1]:8765", "::1"),
        ("LocalHost", "localhost"),
        ("example.org.:80", "example.org"),
        ("", ""),
        ("::1", "::1"),
    ],
)
def test_host_name(header: str, name: str) -> None:
    assert host_name(header) == name


def test_allowed_hosts() -> None:
    hosts = allowed_hosts(Settings(api=ApiSettings(host="0.0.0.0", api_key="k" * 32, allowed_hosts=("NAS.local",))))
    assert {"127.0.0.1", "localhost", "::1", "nas.local"} <= hosts
    assert "0.0.0.0" not in hosts
    assert "10.0.0.2" in allowed_hosts(Settings(api=ApiSettings(host="10.0.0.2", api_key="k" * 32)))


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        ("http://localhost:8765", Origin("http", "localhost", 8765)),
        ("HTTP://LocalHost:8765", Origin("http", "localhost", 8765)),
        ("http://localhost", Origin("http", "localhost", 80)),  # the default port is the same origin
        ("https://photos.example/", Origin("https", "photos.example", 443)),
        ("http://[::1]:8765", Origin("http", "::1", 8765)),
        ("http://localhost.:3000", Origin("http", "localhost", 3000)),
    ],
)
def test_parse_origin(value: str, origin: Origin) -> None:
    assert parse_origin(value) == origin


@pytest.mark.parametrize(
    "value",
    [
        "null",
        "",
        "localhost:3000",
        "ftp://localhost",
        "http://",
        "http://localhost:3000/app",
        "http://localhost:3000?x",
        "http://localhost:99999",
        "http://user@localhost",
        "http://[::1",
        "http://local host",
        "http://localhost:3000\n",
    ],
)
def test_parse_origin_refuses_what_is_not_an_origin(value: str) -> None:
    assert parse_origin(value) is None


def test_own_origins_are_the_answered_names_at_the_api_port_and_the_listed_ones() -> None:
    origins = allowed_origins(Settings(api=ApiSettings(port=9000, allowed_origins=("http://localhost:3000",))))
    for own in ("http://127.0.0.1:9000", "http://localhost:9000", "http://[::1]:9000", "http://localhost:3000"):
        assert parse_origin(own) in origins, own
    for foreign in ("http://localhost:3001", "https://localhost:9000", "http://127.0.0.1:8765", "http://evil:9000"):
        assert parse_origin(foreign) not in origins, foreign
    with pytest.raises(ConfigError, match="allowed_origins"):
        allowed_origins(Settings(api=ApiSettings(allowed_origins=("*",))))
