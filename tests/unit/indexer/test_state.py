"""``IndexState``: lookups by path, id and content, and the tallies and folder index kept as files come and go."""

from __future__ import annotations

import random

from photoindex.indexer.records import FileFacts
from photoindex.indexer.state import IndexState, KnownFile
from photoindex.indexer.store import point_id

HOST = "host-a"


def known(path: str, *, root: str = "/lib", status: str = "indexed", sha: str | None = None, **kw: object) -> KnownFile:
    fields: dict[str, object] = {"size": 10, "mtime_ns": 5, "inode": 7, "caption_status": None, "error_code": None}
    fields.update(kw)
    return KnownFile(
        point_id=str(fields.pop("point_id", point_id(HOST, path, 0))),
        path=path,
        root=root,
        status=status,
        sha256=sha if sha is not None else f"sha-{path}",
        **fields,  # type: ignore[arg-type]
    )


def brute_counts(files: list[KnownFile]) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    statuses: dict[str, int] = {}
    failures: dict[str, int] = {}
    roots: dict[str, int] = {}
    for k in files:
        statuses[k.status] = statuses.get(k.status, 0) + 1
        roots[k.root] = roots.get(k.root, 0) + 1
        if k.status == "failed":
            code = k.error_code or "ERR_DECODE"
            failures[code] = failures.get(code, 0) + 1
    return statuses, failures, roots


def test_lookups_by_path_id_and_content() -> None:
    state = IndexState(HOST)
    a = known("/lib/2020/a.jpg", sha="s1")
    state.remember(a)
    assert state.get("/lib/2020/a.jpg") == a and "/lib/2020/a.jpg" in state and len(state) == 1
    assert state.path_of(a.point_id) == a.path and state.id_for(a.path) == a.point_id
    assert state.indexed_with("s1") == a and state.has_indexed("s1")
    assert state.unchanged(FileFacts(a.path, "/lib", 10, 5, 7), models_available=True) == a
    assert state.unchanged(FileFacts(a.path, "/lib", 11, 5, 7), models_available=True) is None
    assert state.forget(a.path) == a
    assert state.get(a.path) is None and not state.has_indexed("s1") and state.path_of(a.point_id) is None


def test_a_rewritten_point_id_forgets_the_path_it_had() -> None:
    state = IndexState(HOST)
    old = known("/lib/old.jpg")
    state.remember(old)
    state.remember(known("/lib/new.jpg", point_id=old.point_id))
    assert state.get("/lib/old.jpg") is None and state.path_of(old.point_id) == "/lib/new.jpg"
    assert state.counts()[2] == {"/lib": 1}


def test_tallies_and_folders_match_a_pass_over_every_file_through_random_changes() -> None:
    rng = random.Random(5)
    state = IndexState(HOST)
    live: dict[str, KnownFile] = {}
    for _ in range(3000):
        path = f"/r{rng.randrange(3)}/d{rng.randrange(4)}/e{rng.randrange(3)}/f{rng.randrange(40)}.jpg"
        if rng.random() < 0.3:
            state.forget(path)
            live.pop(path, None)
            continue
        status = rng.choice(["indexed", "pending", "failed"])
        record = known(
            path,
            root=path[:3],
            status=status,
            sha=f"s{rng.randrange(50)}",
            error_code=rng.choice([None, "ERR_TRUNCATED"]) if status == "failed" else None,
        )
        state.remember(record)
        live[path] = record
    statuses, failures, roots = state.counts()
    assert (statuses, failures, roots) == brute_counts(list(live.values()))
    for root in ("/r0", "/r1", "/r2", "/r9"):
        expected = {p for p, k in live.items() if k.root == root}
        assert {k.path for k in state.under(root)} == expected and state.count_under(root) == len(expected)
    for folder in ("/r0", "/r1/d2", "/r2/d3/e1/", "/r1/d", "/", "/nowhere"):
        prefix = folder.rstrip("/") + "/"
        assert {k.path for k in state.under_dir(folder)} == {p for p in live if p.startswith(prefix)}
    pending = {k.sha256 for k in live.values() if k.status == "pending"}
    assert {f"s{i}" for i in range(50) if state.has_pending(f"s{i}")} == pending


def test_forgetting_every_file_leaves_no_folder_or_tally_behind() -> None:
    state = IndexState(HOST)
    paths = [f"/lib/{y}/{m}/p{i}.jpg" for y in range(3) for m in range(3) for i in range(3)]
    for p in paths:
        state.remember(known(p, status="failed"))
    for p in paths:
        state.forget(p)
    assert state.counts() == ({}, {}, {}) and state.under_dir("/lib") == [] and len(state) == 0
