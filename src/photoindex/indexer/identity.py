"""This host's stable id, so several hosts can share one server collection."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def load_host_id(data_dir: Path) -> str:
    """Read ``<data_dir>/host-id``, creating it (atomically) on first use."""
    path = data_dir / "host-id"
    try:
        value = path.read_text(encoding="ascii").strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = str(uuid.uuid4())
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(value + "\n", encoding="ascii")
    try:
        # link() fails if another process won the race: then theirs is the id.
        os.link(tmp, path)
    except FileExistsError:
        value = path.read_text(encoding="ascii").strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value
