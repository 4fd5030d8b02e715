"""Which filesystem a folder is on, and whether change notification can be trusted there.

inotify only sees changes made through this kernel: on NFS, SMB/CIFS and
most FUSE filesystems (sshfs, rclone, ...) files changed by another machine
never produce an event. Roots on such filesystems are not watched; they are
kept correct by scanning more often (``watch.network_rescan_interval_s``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

# Filesystem types whose changes may come from elsewhere; "fuse.*" and "fuseblk" are matched by prefix.
NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "smb",
        "ncpfs",
        "afs",
        "ceph",
        "glusterfs",
        "gpfs",
        "lustre",
        "9p",
        "davfs",
        "sshfs",
        "webdav",
        "virtiofs",
        "vboxsf",
        "vmhgfs",
    }
)
# fuse filesystems that are local disks (NTFS/exFAT drives through ntfs-3g): inotify works there.
LOCAL_FUSE = frozenset({"fuseblk", "fuse.ntfs-3g", "fuse.exfat"})

MOUNTS_FILE = "/proc/self/mounts"


@dataclass(frozen=True)
class Mount:
    """One line of the mount table."""

    point: str
    fstype: str
    source: str


def parse_mounts(text: str) -> list[Mount]:
    """Lines of ``/proc/mounts``; octal escapes (``\\040`` for a space) are decoded."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.append(Mount(point=_unescape(fields[1]), fstype=fields[2], source=_unescape(fields[0])))
    return mounts


def read_mounts(path: str = MOUNTS_FILE) -> list[Mount]:
    """The current mount table; empty where there is none (macOS)."""
    try:
        return parse_mounts(Path(path).read_text(encoding="utf-8", errors="surrogateescape"))
    except OSError:
        return []


def mount_of(folder: str, mounts: list[Mount]) -> Mount | None:
    """The mount holding ``folder``: the longest mount point that is a prefix of it (last mounted wins)."""
    best: Mount | None = None
    for mount in mounts:
        point = mount.point
        inside = point == "/" or folder == point or folder.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best.point)):
            best = mount
    return best


def is_network_fs(fstype: str) -> bool:
    if fstype in LOCAL_FUSE:
        return False
    return fstype in NETWORK_FS or fstype == "fuse" or fstype.startswith("fuse.")


def filesystem_of(folder: str, mounts: list[Mount] | None = None) -> str:
    """The filesystem type holding ``folder`` ("unknown" where the table cannot say)."""
    if mounts is None:
        mounts = read_mounts() if sys.platform.startswith("linux") else []
    mount = mount_of(folder, mounts)
    return mount.fstype if mount is not None else "unknown"


def is_mount_point(folder: str, mounts: list[Mount] | None = None) -> bool:
    """A mount point: by device numbers, or listed in the mount table (a bind mount shares its device)."""
    try:
        if os.path.ismount(folder):
            return True
    except OSError:
        return False
    if mounts is None:
        mounts = read_mounts() if sys.platform.startswith("linux") else []
    return any(m.point == folder for m in mounts)


def _unescape(field: str) -> str:
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


__all__ = ["Mount", "filesystem_of", "is_mount_point", "is_network_fs", "mount_of", "parse_mounts", "read_mounts"]
