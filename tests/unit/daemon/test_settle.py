"""The settler's rules, on a fake clock and real files: close, stillness, ceiling, deletions, collapse."""

from __future__ import annotations

import os
from pathlib import Path

from photoindex.daemon.settle import CLOSE_QUIET_S, DELETE_DELAY_S, OPEN_CAP_FACTOR, Settler


def settler(**overrides: float) -> Settler:
    options = {"settle_s": 1.0, "max_delay_s": 10.0, "max_pending": 1000, **overrides}
    return Settler(**options)  # type: ignore[arg-type]


def fresh(path: Path, data: bytes = b"x" * 100) -> str:
    path.write_bytes(data)
    return str(path)


def test_close_after_write_is_ready_after_a_short_quiet(tmp_path: Path) -> None:
    s = settler()
    path = fresh(tmp_path / "a.jpg")
    s.written(path, str(tmp_path), 0.0)
    s.closed(path, str(tmp_path), 0.01)
    assert s.take_due(0.01 + CLOSE_QUIET_S / 2).ready == []
    due = s.take_due(0.01 + CLOSE_QUIET_S)
    assert [f.path for f in due.ready] == [path] and due.ready[0].size == 100
    assert len(s) == 0


def test_writing_again_after_a_close_waits_again(tmp_path: Path) -> None:
    s = settler()
    path = fresh(tmp_path / "a.jpg")
    s.closed(path, str(tmp_path), 0.0)
    s.written(path, str(tmp_path), 0.1)  # reopened and appended before the quiet ran out
    assert s.take_due(0.5).ready == []
    assert s.next_deadline() == 1.1


def test_without_a_close_a_file_is_taken_once_still(tmp_path: Path) -> None:
    wall = [1_000.0]
    s = Settler(settle_s=1.0, max_delay_s=10.0, max_pending=1000, wall_clock=lambda: wall[0])
    path = tmp_path / "a.jpg"
    path.write_bytes(b"abc")
    os.utime(path, ns=(1_000 * 10**9, 1_000 * 10**9))  # mtime = "now" on the fake wall clock
    s.written(str(path), str(tmp_path), 0.0)
    assert s.take_due(1.0).ready == []  # quiet for 1 s, but the mtime is too fresh: look again later
    wall[0] = 1_001.0
    assert [f.path for f in s.take_due(2.0).ready] == [str(path)]  # same size and mtime one look later


def test_an_old_file_found_by_an_event_is_ready_at_the_first_look(tmp_path: Path) -> None:
    s = settler()
    path = tmp_path / "a.jpg"
    path.write_bytes(b"abc")
    os.utime(path, (1, 1))
    s.written(str(path), str(tmp_path), 0.0)
    assert [f.path for f in s.take_due(1.0).ready] == [str(path)]


def test_a_file_rewritten_every_100_ms_is_still_handed_on_at_the_ceiling(tmp_path: Path) -> None:
    s = settler(max_delay_s=2.0)
    path = fresh(tmp_path / "a.jpg")
    now, handed = 0.0, []
    while now < 5.0:
        s.written(path, str(tmp_path), now)
        s.closed(path, str(tmp_path), now + 0.01)
        handed += [(now, f.path) for f in s.take_due(now + 0.05).ready]
        now += 0.1
    assert handed and handed[0][0] <= 2.1  # within the cap
    assert len(handed) <= 3  # once per cap, not once per write


def test_a_file_never_closed_waits_up_to_ten_caps(tmp_path: Path) -> None:
    s = settler(max_delay_s=1.0)
    path = fresh(tmp_path / "a.jpg")
    now = 0.0
    while now < OPEN_CAP_FACTOR * 1.0 - 0.2:
        s.written(path, str(tmp_path), now)
        assert s.take_due(now).ready == []
        now += 0.1
    s.written(path, str(tmp_path), now)
    assert [f.path for f in s.take_due(OPEN_CAP_FACTOR * 1.0).ready] == [path]


def test_deletions_wait_and_a_vanished_file_counts_as_gone(tmp_path: Path) -> None:
    s = settler()
    s.gone(str(tmp_path / "deleted.jpg"), str(tmp_path), 0.0)
    assert s.take_due(DELETE_DELAY_S / 2).gone == []
    assert s.take_due(DELETE_DELAY_S).gone == [(str(tmp_path / "deleted.jpg"), str(tmp_path))]
    s.closed(str(tmp_path / "vanished.jpg"), str(tmp_path), 0.0)  # closed, then removed before we looked
    assert s.take_due(1.0).gone == [(str(tmp_path / "vanished.jpg"), str(tmp_path))]


def test_a_deleted_path_written_again_is_a_file_again(tmp_path: Path) -> None:
    s = settler()
    path = fresh(tmp_path / "a.jpg")
    s.gone(path, str(tmp_path), 0.0)
    s.closed(path, str(tmp_path), 0.1)
    due = s.take_due(2.0)
    assert due.gone == [] and [f.path for f in due.ready] == [path]


def test_too_many_paths_collapse_into_folder_rescans(tmp_path: Path) -> None:
    s = settler(max_pending=100)
    for folder in ("a", "b"):
        for i in range(60):
            s.written(str(tmp_path / folder / f"{i}.jpg"), str(tmp_path), 0.0)
    assert s.collapses == 1
    assert len(s) <= 100 + 2
    due = s.take_due(5.0)
    assert (str(tmp_path / "a"), str(tmp_path)) in due.rescans
    assert len(s) == 0


def test_forget_under_drops_a_moved_folder(tmp_path: Path) -> None:
    s = settler()
    s.written(str(tmp_path / "d" / "a.jpg"), str(tmp_path), 0.0)
    s.written(str(tmp_path / "dd" / "b.jpg"), str(tmp_path), 0.0)
    assert s.forget_under(str(tmp_path / "d")) == 1
    assert s.pending(str(tmp_path / "dd" / "b.jpg"))


def test_directories_and_symlinks_are_not_files(tmp_path: Path) -> None:
    s = settler()
    (tmp_path / "dir.jpg").mkdir()
    (tmp_path / "link.jpg").symlink_to(fresh(tmp_path / "target.bin"))
    s.closed(str(tmp_path / "dir.jpg"), str(tmp_path), 0.0)
    s.closed(str(tmp_path / "link.jpg"), str(tmp_path), 0.0)
    due = s.take_due(1.0)
    assert due.ready == [] and due.gone == []
