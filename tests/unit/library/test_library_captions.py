"""Caption word matching: stop words ignored, rare words weigh more, matched words reported."""

from __future__ import annotations

from photoindex.library.captions_index import CaptionIndex, words


def index(captions: list[str]) -> CaptionIndex:
    builder = CaptionIndex.builder()
    for row, caption in enumerate(captions):
        builder.add(row, caption)
    return builder.build()


def test_words_lowercase_dedupe_and_drop_stop_words() -> None:
    assert words("A Red kite over the red BEACH!") == ["red", "kite", "beach"]
    assert words("the a of") == []


def test_full_match_scores_one_and_partial_less() -> None:
    idx = index(["a red kite over a beach", "a red car", "a dog on a beach", "a kite"])
    matches = idx.match("red kite beach", rows=4, limit=10)
    assert matches[0].row == 0 and matches[0].score == 1.0
    assert set(matches[0].words) == {"red", "kite", "beach"}
    assert {m.row for m in matches} == {0, 1, 2, 3}
    assert all(m.score < 1.0 for m in matches[1:])


def test_limit_and_no_match() -> None:
    idx = index(["red kite", "red car", "red dog"])
    assert len(idx.match("red", rows=3, limit=2)) == 2
    assert idx.match("zebra", rows=3, limit=5) == []
    assert index([]).match("red", rows=0, limit=5) == []
