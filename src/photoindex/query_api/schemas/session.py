"""The web page's sign-in body."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

# Keys are 43 characters when generated (generate_api_key); a configured one may be longer.
SessionKey = Annotated[str, Meta(min_length=1, max_length=1024)]


class SessionRequest(msgspec.Struct, forbid_unknown_fields=True):
    key: SessionKey
