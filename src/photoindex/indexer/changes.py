"""What one committed write did to the index, as told to those who keep views of it.

Every write the ``IndexWriter`` commits is described by one ``IndexChange``:
which point ids appeared, which were rewritten, which went, and (for payload
updates) which payload fields were set. Views over the index (the library's
snapshot, its caption index) read these instead of re-reading the whole store
to find out what moved.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec


class IndexChange(msgspec.Struct, frozen=True):
    """The ids one committed write touched; ``fields`` empty means whole points were written."""

    added: tuple[str, ...] = ()  # points new to the index
    changed: tuple[str, ...] = ()  # points rewritten (whole, or only ``fields`` of their payload)
    removed: tuple[str, ...] = ()  # points deleted
    fields: tuple[str, ...] = ()  # the payload fields set on ``changed``; empty: whole points

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    @property
    def touched(self) -> tuple[str, ...]:
        """Every id the write added, changed or removed."""
        return self.added + self.changed + self.removed


# Called on the event loop once a write has committed; it must not block.
ChangeListener = Callable[[IndexChange], None]

__all__ = ["ChangeListener", "IndexChange"]
