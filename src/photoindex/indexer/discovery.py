"""Walk the library roots and yield the image files in them, with their stat.

Skips what is not a finished photo: hidden files and folders, temporary and
partial downloads (``*.tmp``, ``*.part``, ``~*``, rsync's ``.name.XXXXXX``),
and files whose name or content is not an image. Symlinks are not followed
unless asked, and even then never out of a root.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from photoindex.indexer.decoding.formats import IMAGE_EXTENSIONS, sniff_is_image
from photoindex.indexer.records import FileFacts

# Names editors, browsers and copy tools give files that are not finished yet.
PARTIAL_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", ".filepart", ".!qb")
# Extensions that are certainly not photos: not worth opening to sniff.
NOT_IMAGE_EXTENSIONS = frozenset(
    {
        ".xmp",
        ".json",
        ".txt",
        ".md",
        ".tsv",
        ".csv",
        ".xml",
        ".html",
        ".pdf",
        ".db",
        ".ini",
        ".log",
        ".mov",
        ".mp4",
        ".m4v",
        ".avi",
        ".mkv",
        ".mts",
        ".3gp",
        ".wav",
        ".mp3",
        ".aac",
        ".thm",
        ".pp3",
        ".zip",
        ".gz",
        ".7z",
        ".py",
        ".sh",
        ".lnk",
        ".aae",
        ".dop",
    }
)
SNIFF_BYTES = 64


@dataclass(frozen=True)
class DiscoveryRules:
    """Which files count: include/exclude globs and symlink policy."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    follow_symlinks: bool = False

    def wants_dir(self, name: str) -> bool:
        return not name.startswith(".") and not _matches(name, self.exclude)

    def wants_name(self, name: str) -> bool:
        if is_partial_or_hidden(name) or _matches(name, self.exclude):
            return False
        return not self.include or _matches(name, self.include)


def is_partial_or_hidden(name: str) -> bool:
    """Hidden (which covers rsync's ``.name.XXXXXX``), temporary or partial file names."""
    lower = name.lower()
    return name.startswith((".", "~")) or lower.endswith(PARTIAL_SUFFIXES)


def looks_like_image(path: str, name: str) -> bool:
    """By extension when it is a known image one; else by the first bytes (files named .fuzzed, or nothing)."""
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return True
    if ext in NOT_IMAGE_EXTENSIONS:
        return False
    try:
        with open(path, "rb") as handle:
            return sniff_is_image(handle.read(SNIFF_BYTES))
    except OSError:
        return False


def canonical_root(root: str) -> str:
    """Roots are compared and stored fully resolved, so one folder has one spelling."""
    return os.path.realpath(os.path.expanduser(root))


def within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def iter_files(
    roots: Iterable[str], rules: DiscoveryRules, unreadable: list[tuple[str, str]] | None = None
) -> Iterator[FileFacts]:
    """Every candidate image file below the (canonical) roots, each stat'ed once.

    Folders that cannot be listed are appended to ``unreadable`` as (path, reason).
    """
    for root in roots:
        yield from _walk(root, root, rules, set(), unreadable)


def iter_paths(paths: Iterable[tuple[str, str]], rules: DiscoveryRules) -> Iterator[FileFacts]:
    """Candidate files among explicit ``(path, root)`` pairs (a file, or a folder to walk)."""
    for path, root in paths:
        if os.path.isdir(path):
            yield from _walk(path, root, rules, set(), None)
            continue
        name = os.path.basename(path)
        if rules.wants_name(name) and looks_like_image(path, name):
            try:
                st = os.stat(path, follow_symlinks=False)
            except OSError:
                continue
            yield FileFacts.from_stat(path, st, root=root)


def _walk(
    folder: str,
    root: str,
    rules: DiscoveryRules,
    seen: set[tuple[int, int]],
    unreadable: list[tuple[str, str]] | None,
) -> Iterator[FileFacts]:
    try:
        # os.scandir gives file types without a stat call per entry.
        with os.scandir(folder) as entries:
            listing = sorted(entries, key=lambda e: e.name)
    except OSError as exc:
        if unreadable is not None:
            unreadable.append((folder, exc.strerror or str(exc)))
        return
    subdirs = []
    for entry in listing:
        try:
            is_link = entry.is_symlink()
            if is_link and not rules.follow_symlinks:
                continue
            if is_link and not within(os.path.realpath(entry.path), root):
                continue  # a link out of the root is never followed
            if entry.is_dir(follow_symlinks=rules.follow_symlinks):
                if rules.wants_dir(entry.name):
                    subdirs.append(entry)
                continue
            if not entry.is_file(follow_symlinks=rules.follow_symlinks):
                continue
            if not rules.wants_name(entry.name) or not looks_like_image(entry.path, entry.name):
                continue
            st = entry.stat(follow_symlinks=rules.follow_symlinks)
        except OSError:
            continue  # vanished between listing and stat: the watcher or next scan sees it
        yield FileFacts.from_stat(entry.path, st, root=root)
    for entry in subdirs:
        try:
            st = entry.stat(follow_symlinks=rules.follow_symlinks)
        except OSError:
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue  # a symlink loop
        seen.add(key)
        yield from _walk(entry.path, root, rules, seen, unreadable)


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)
