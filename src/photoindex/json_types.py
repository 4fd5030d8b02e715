"""A type for JSON documents whose shape is not known in advance (what ``json.loads`` can return)."""

from __future__ import annotations

from typing import TypeAlias

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"

__all__ = ["JsonValue"]
