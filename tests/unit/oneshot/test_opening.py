"""`photoindex open`: the web page's URL from the config (or the running daemon), opened with `webbrowser`."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import pytest

from photoindex import cli


def config(tmp_path: Path, host: str) -> Path:
    path = tmp_path / "config.toml"
    state = tmp_path / "state"
    path.write_text(f'[api]\nhost = "{host}"\nport = 9123\n[paths]\nstate_dir = "{state}"\n', encoding="utf-8")
    return path


def test_open_prints_the_page_url_and_opens_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def record(url: str) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", record)
    assert cli.main(["--config", str(config(tmp_path, "127.0.0.1")), "open"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "http://127.0.0.1:9123/\n"
    assert opened == ["http://127.0.0.1:9123/"]
    assert "photoindex serve" in captured.err  # no daemon runs: say how to start one


def test_open_print_only_and_no_browser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webbrowser, "open", lambda url: False)
    assert cli.main(["--config", str(config(tmp_path, "::1")), "open", "--print"]) == 0
    assert capsys.readouterr().out == "http://[::1]:9123/\n"
    assert cli.main(["--config", str(config(tmp_path, "127.0.0.1")), "open"]) == 0
    assert "open the URL above yourself" in capsys.readouterr().err
