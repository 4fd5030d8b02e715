"""Ask the model hub once whether it can be reached, and when it cannot, use only the local cache.

huggingface_hub retries a download that finds no connection five times with
backoff (23 s), for each file open_clip and transformers try: about 50 s of
retry lines before a model load fails offline. One request tells as much:
when the hub's endpoint gives no answer at all, huggingface_hub is put in
offline mode for the duration of the load. Weights already in the local
cache still load (at once, with no network look-up); missing ones fail at
once, and the load error says what happened and what to set.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Long enough for a slow but working connection to answer a HEAD; a refused
# connection or a failed DNS look-up (the usual offline cases) fails at once.
PROBE_TIMEOUT_S = 5.0


@dataclass
class HubAccess:
    """What the probe found: ``unreachable`` says why the hub gave no answer (None: it answered)."""

    endpoint: str
    unreachable: str | None = None
    offline_by_setting: bool = False

    def note(self) -> str:
        """A parenthesis for a load error: why nothing could be downloaded, or nothing."""
        if self.offline_by_setting:
            return " (HF_HUB_OFFLINE is set)"
        if self.unreachable is not None:
            return f" (the model hub {self.endpoint} cannot be reached: {self.unreachable})"
        return ""


@contextmanager
def hub_or_local_cache() -> Iterator[HubAccess]:
    """Inside: hub downloads as usual when the hub answers, else only the local cache, with no retries."""
    from huggingface_hub import constants

    access = HubAccess(endpoint=constants.ENDPOINT, offline_by_setting=constants.is_offline_mode())
    if access.offline_by_setting:
        yield access
        return
    access.unreachable = _probe(constants.ENDPOINT)
    if access.unreachable is None:
        yield access
        return
    # huggingface_hub (and transformers, through it) read this flag on each request.
    constants.HF_HUB_OFFLINE = True
    try:
        yield access
    finally:
        constants.HF_HUB_OFFLINE = False


def _probe(endpoint: str) -> str | None:
    """None when ``endpoint`` answers anything at all; else the first line of why not."""
    from huggingface_hub import get_session

    try:
        # The library's own client: the same proxies, certificates and headers as its downloads.
        get_session().head(endpoint, timeout=PROBE_TIMEOUT_S, follow_redirects=False)
    except Exception as exc:  # connection refused, DNS, timeout, TLS, proxy: no answer is no answer
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return None


__all__ = ["PROBE_TIMEOUT_S", "HubAccess", "hub_or_local_cache"]
