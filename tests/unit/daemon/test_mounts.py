"""Reading the mount table: which filesystem holds a folder, and whether events can be trusted there."""

from __future__ import annotations

from photoindex.indexer.disk.mounts import filesystem_of, is_network_fs, mount_of, parse_mounts

TABLE = """\
/dev/vda1 / ext4 rw,relatime 0 0
proc /proc proc rw 0 0
server:/export/photos /mnt/nas nfs4 rw,vers=4.2 0 0
//nas/share /mnt/smb\\040share cifs rw 0 0
me@host:/pics /home/me/remote fuse.sshfs rw 0 0
/dev/sdb1 /media/usb fuseblk rw 0 0
tmpfs /mnt/nas/cache tmpfs rw 0 0
"""


def test_longest_mount_point_wins_and_escapes_are_decoded() -> None:
    mounts = parse_mounts(TABLE)
    assert filesystem_of("/home/me/Pictures", mounts) == "ext4"
    assert filesystem_of("/mnt/nas/2024/a.jpg", mounts) == "nfs4"
    assert filesystem_of("/mnt/nas/cache/x", mounts) == "tmpfs"
    assert filesystem_of("/mnt/nasty", mounts) == "ext4"  # a prefix of the name is not a parent
    assert filesystem_of("/mnt/smb share/x.jpg", mounts) == "cifs"
    assert mount_of("/home/me/remote/a", mounts).source == "me@host:/pics"  # type: ignore[union-attr]


def test_network_and_fuse_filesystems_are_not_trusted_local_fuse_is() -> None:
    assert all(is_network_fs(t) for t in ("nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "fuse.rclone", "9p"))
    assert not any(is_network_fs(t) for t in ("ext4", "btrfs", "xfs", "tmpfs", "fuseblk", "apfs", "zfs"))


def test_the_live_table_names_this_folder() -> None:
    assert filesystem_of("/") not in ("",)
