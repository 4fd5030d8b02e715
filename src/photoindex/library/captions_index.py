"""Word matching over captions: an inverted index from caption words to snapshot rows.

The hybrid half of text search. CLIP ranks by what a photo looks like; a
caption that contains the query's words is independent evidence, so it adds
to the score and the hit says which words matched. Scores are IDF-weighted
coverage of the query's words: 1.0 when a caption holds every word.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Words every caption model emits; they carry no evidence about a photo.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "there",
        "this",
        "to",
        "with",
        "while",
        "into",
        "onto",
        "over",
        "under",
        "near",
    ]
)
MAX_QUERY_WORDS = 32


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` without stop words, in order, each once."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word not in STOPWORDS and len(word) > 1:
            seen.setdefault(word, None)
    return list(seen)[:MAX_QUERY_WORDS]


@dataclass(frozen=True)
class CaptionMatch:
    """One row's caption score and the query words its caption holds."""

    row: int
    score: float
    words: tuple[str, ...]


class CaptionIndex:
    """Word → sorted rows whose caption holds it; built once per snapshot."""

    def __init__(self, postings: dict[str, np.ndarray], documents: int) -> None:
        self._postings = postings
        self.documents = documents

    @classmethod
    def builder(cls) -> _Builder:
        return _Builder()

    def __len__(self) -> int:
        return self.documents

    def match(self, query: str, *, rows: int, limit: int) -> list[CaptionMatch]:
        """The ``limit`` best rows (of ``rows`` in the snapshot) whose captions share words with ``query``."""
        terms = words(query)
        if not terms or not self.documents or limit <= 0:
            return []
        weights = {t: self._idf(t) for t in terms}
        total = sum(weights.values())
        scores = np.zeros(rows, dtype=np.float32)
        for term, weight in weights.items():
            posting = self._postings.get(term)
            if posting is not None:
                scores[posting] += weight / total
        hit_rows = np.flatnonzero(scores)
        if hit_rows.size > limit:
            hit_rows = hit_rows[np.argpartition(-scores[hit_rows], limit - 1)[:limit]]
        ordered = sorted(hit_rows.tolist(), key=lambda r: (-float(scores[r]), r))
        return [CaptionMatch(r, round(float(scores[r]), 6), self._words_of(r, terms)) for r in ordered]

    def renumbered(self, old_rows: np.ndarray, added: CaptionIndex, final: np.ndarray) -> CaptionIndex:
        """This index over rows renumbered, some dropped, with ``added``'s rows joined in.

        ``old_rows[r]`` is where this index's row r went among the kept rows
        followed by the added ones (-1: dropped); ``added`` is numbered in that
        sequence already, and ``final`` gives each row of it its final place.
        """
        captioned = np.zeros(old_rows.shape[0], dtype=bool)
        joined: dict[str, list[np.ndarray]] = {}
        for word, posting in self._postings.items():
            captioned[posting] = True
            rows = old_rows[posting]
            joined.setdefault(word, []).append(rows[rows >= 0])
        for word, posting in added._postings.items():
            joined.setdefault(word, []).append(posting)
        postings: dict[str, np.ndarray] = {}
        for word, parts in joined.items():
            rows = np.concatenate(parts)
            if rows.size:
                postings[word] = np.sort(final[rows]).astype(np.int32)
        # Captions with no indexable word count as documents but sit in no posting: those dropped are not seen.
        dropped = int(np.count_nonzero(captioned & (old_rows < 0)))
        return CaptionIndex(postings, self.documents - dropped + added.documents)

    def _idf(self, term: str) -> float:
        posting = self._postings.get(term)
        frequency = 0 if posting is None else posting.size
        return math.log(1.0 + self.documents / (1.0 + frequency))

    def _words_of(self, row: int, terms: list[str]) -> tuple[str, ...]:
        found = []
        for term in terms:
            posting = self._postings.get(term)
            if posting is not None:
                at = int(np.searchsorted(posting, row))
                if at < posting.size and posting[at] == row:
                    found.append(term)
        return tuple(found)


class _Builder:
    def __init__(self) -> None:
        self._postings: defaultdict[str, list[int]] = defaultdict(list)
        self._documents = 0

    def add(self, row: int, caption: str) -> None:
        """Rows must be added in increasing order (a scroll does)."""
        self._documents += 1
        for word in words(caption):
            self._postings[word].append(row)

    def build(self) -> CaptionIndex:
        postings = {w: np.array(rows, dtype=np.int32) for w, rows in self._postings.items()}
        return CaptionIndex(postings, self._documents)


__all__ = ["CaptionIndex", "CaptionMatch", "words"]
