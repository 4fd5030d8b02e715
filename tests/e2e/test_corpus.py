"""``photoindex index`` over the shared real-world corpus: every photo indexed, every broken file recorded."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.e2e.conftest import RunCli, write_config

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
# Camera formats LibRaw does not decode: GoPro's VC-5 compressed GPR. (Casio's .cam is not even a known image type.)
LIBRAW_CANNOT = {"raw/gopro-gpr/HERO7/GOPR9231.GPR", "raw/gopro-gpr/Hero6/GOPR0024.GPR"}
NOT_AN_IMAGE_TYPE = {"raw/digicam_corpus/Casio/QV-11/QV-11_01.cam"}


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the checkout")
def test_corpus_indexes_photos_and_records_broken_files(tmp_path: Path, run_cli: RunCli) -> None:
    from photoindex.components import open_index_store
    from photoindex.config import AppPaths, load_settings
    from photoindex.indexer.models.ids import clip_spec
    from photoindex.indexer.store import payload_to_dict

    config = write_config(tmp_path)
    code, first = run_cli("--config", str(config), "index", str(CORPUS), "--json")
    assert code == 0
    manifest = {row["path"]: row for row in csv.DictReader((CORPUS / "MANIFEST.tsv").open(), delimiter="\t")}

    settings = load_settings(config, env={}).settings
    store = open_index_store(settings, AppPaths.from_settings(settings), clip_spec(settings.model))
    try:
        stored = {p.payload.path[len(str(CORPUS.resolve())) + 1 :]: payload_to_dict(p.payload) for p in store.scroll()}
    finally:
        store.close()
    for path, row in manifest.items():
        if path in NOT_AN_IMAGE_TYPE:
            assert path not in stored
            continue
        assert path in stored, f"{path} was not looked at"
        payload = stored[path]
        if row["kind"] == "photo" or (row["kind"] == "raw" and path not in LIBRAW_CANNOT):
            assert payload["status"] == "indexed", f"{path}: {payload.get('error_code')} {payload.get('error_message')}"
        elif row["kind"] == "broken" and payload["status"] != "indexed":
            assert payload["status"] == "failed" and payload["error_code"].startswith("ERR_")
        elif path in LIBRAW_CANNOT:
            assert payload["error_code"] == "ERR_DECODE_RAW"
    assert first["failed"] == sum(1 for p in stored.values() if p["status"] == "failed")

    code, second = run_cli("--config", str(config), "index", str(CORPUS), "--json")
    assert code == 0
    assert second["unchanged"] == first["indexed"]
    assert (second["decoded_images"], second["embedded_images"], second["new_failures"]) == (0, 0, {})
