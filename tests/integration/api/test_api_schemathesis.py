"""Requests generated from the OpenAPI schema: never a 5xx, every body as documented, and schema and server agree.

The second test runs the schemathesis command line with ``--checks all``
(schema-valid requests accepted, schema-violating ones refused, Allow headers,
status codes, content types) against the app served by uvicorn on a loopback
port, bounded by a fixed number of examples per operation and phase.

Bounded so the whole run stays well under two minutes: a few examples per
operation, no shrinking deadline. The app runs over a real indexed library
with a no-op rescan hook (without one, /ingest/scan rightly answers 503).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from photoindex.indexer.models.worker import ModelWorker
from tests.integration.api.conftest import SPEC, Library, api_app, build_library, open_store, settings_for
from tests.integration.api.live import loopback_socket, serving

pytestmark = pytest.mark.slow
EXAMPLES = 40


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, decoder: Any, api_models: ModelWorker) -> Any:
    base: Path = tmp_path_factory.mktemp("schemathesis")
    store = open_store("edge", base)
    library: Library = build_library(store, decoder, api_models, base)

    async def rescan(_folder: str) -> None:
        return None

    # The ASGI transport sends Host: testserver; it is allowed here the way a user allows a LAN name.
    app = api_app(
        settings_for(library, allowed_hosts=("testserver",)),
        store=store,
        models=api_models,
        spec=SPEC,
        rescan=rescan,
        config_file=base / "config.toml",
        projection_warm_up=False,
    )
    yield schemathesis.openapi.from_asgi("/api/v1/schema/openapi.json", app)
    store.close()


def test_no_server_errors_and_documented_bodies(api_schema: Any) -> None:
    failures: list[str] = []
    operations = 0
    calls: list[int] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call()
            calls.append(response.status_code)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert operations >= 20 and len(calls) >= operations * 3
    print(f"schemathesis: {operations} operations, {len(calls)} calls, statuses {sorted(set(calls))}")
    assert not failures, "\n\n".join(failures)


CLI_EXAMPLES = 2  # per operation and phase; the coverage phase adds its own boundary cases (~1700 requests)
# No schema can say "bytes that decode as an image": a query image that does not decode is refused
# with 422 (documented). Nor can one say "a cursor this server gave out": the paged routes refuse a
# forged cursor with 400 ERR_BAD_REQUEST (documented). Everywhere else a schema-valid request must be accepted.
_ACCEPTED = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
_CURSOR_PATHS = (
    "/api/v1/search/text",
    "/api/v1/search",
    "/api/v1/duplicates",
    "/api/v1/projection",
    "/api/v1/photos/{photo_id}/similar",
    "/api/v1/photos",
)


def _accepting(path: str, statuses: list[str]) -> str:
    quoted = ", ".join(f'"{s}"' for s in statuses)
    return f'[[operations]]\ninclude-path = "{path}"\nchecks.positive_data_acceptance.expected-statuses = [{quoted}]\n'


CLI_CONFIG = "\n".join(
    [
        *(_accepting(p, _ACCEPTED) for p in _CURSOR_PATHS),
        _accepting("/api/v1/search/image", sorted([*_ACCEPTED, "422"])),
    ]
)


@pytest.mark.timeout(240)
def test_schema_and_server_agree_under_schemathesis_checks_all(
    tmp_path_factory: pytest.TempPathFactory, decoder: Any, api_models: ModelWorker
) -> None:
    base: Path = tmp_path_factory.mktemp("schemathesis-cli")
    (base / "schemathesis.toml").write_text(CLI_CONFIG)  # read from the working directory
    store = open_store("edge", base)
    library = build_library(store, decoder, api_models, base)

    async def rescan(_folder: str) -> None:
        return None

    sock = loopback_socket()
    app = api_app(
        settings_for(library, port=sock.getsockname()[1]),
        store=store,
        models=api_models,
        spec=SPEC,
        rescan=rescan,
        config_file=base / "config.toml",
        projection_warm_up=False,
    )
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(CLI_EXAMPLES),
        "--seed",
        "20261201",  # the same requests every run: a failure here is a real disagreement, not luck
        "--no-shrink",
        "--workers",
        "2",
        "--request-timeout",
        "60",
        "--output-truncate",
        "true",
    ]
    try:
        with serving(app, sock) as url:
            done = subprocess.run(
                [*command, "--url", url, f"{url}/api/v1/schema/openapi.json"],
                capture_output=True,
                text=True,
                timeout=200,
                cwd=base,
                env={**os.environ, "NO_COLOR": "1"},
            )
    finally:
        store.close()
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-2000:]
