"""The "not duplicates" marks: named by members, kept per kind, saved atomically, read back after a restart."""

from __future__ import annotations

from pathlib import Path

from photoindex.library.duplicates.dismissed import DismissedGroups, members_key


def test_a_key_names_the_members_whatever_their_order() -> None:
    assert members_key(["b", "a"]) == members_key(["a", "b"])
    assert members_key(["a", "b"]) != members_key(["a", "b", "c"])  # a new member: a new name
    assert len(members_key(["a"])) == 32 and int(members_key(["a"]), 16) >= 0


def test_marks_survive_a_restart_and_are_per_kind(tmp_path: Path) -> None:
    file = tmp_path / "state" / "dismissed.json"
    marks = DismissedGroups(file)
    marks.dismiss("exact", "a" * 32)
    marks.dismiss("exact", "a" * 32)
    marks.dismiss("near", "b" * 32)
    again = DismissedGroups(file)
    assert again.of("exact") == {"a" * 32} and again.of("near") == {"b" * 32} and again.of("similar") == set()
    assert again.restore("exact", "a" * 32) is True
    assert again.restore("exact", "a" * 32) is False
    assert DismissedGroups(file).of("exact") == set()
    assert [p.name for p in file.parent.iterdir()] == [file.name]  # no temporary file left behind


def test_an_unreadable_file_counts_as_no_marks(tmp_path: Path) -> None:
    file = tmp_path / "dismissed.json"
    file.write_text("{half", encoding="utf-8")
    marks = DismissedGroups(file)
    assert marks.of("exact") == set()
    marks.dismiss("exact", "c" * 32)
    assert DismissedGroups(file).of("exact") == {"c" * 32}
