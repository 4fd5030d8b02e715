"""One-shot commands that run without the daemon: index folders now, search the index."""

from photoindex.oneshot.indexing import index_folders
from photoindex.oneshot.searching import search

__all__ = ["index_folders", "search"]
