"""`photoindex search` accepts the bounds the API pages within: up to 1000 results, offsets up to 10 000."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoindex import cli
from photoindex.library.paging import MAX_LIMIT, MAX_OFFSET
from photoindex.oneshot.searching import MAX_RESULTS


@pytest.mark.parametrize("args", [["--limit", "0"], ["--limit", "1001"], ["--offset", "-1"], ["--offset", "10001"]])
def test_search_refuses_what_the_api_would_refuse(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    assert cli.main(["--config", str(config), "search", "x", "--json", *args]) == 2
    captured = capsys.readouterr()
    assert "ERR_CONFIG_INVALID" in captured.out + captured.err


def test_the_cli_pages_within_the_api_bounds() -> None:
    assert MAX_RESULTS > MAX_LIMIT  # more than one API page: daemon_client.search_via_daemon follows the cursor
    assert MAX_OFFSET == 10_000
