// What a search hit's score is made of, in words: the embedding's part and the caption words' bonus.

/** "score 0.312 · image match 0.290 + caption 0.022 (kite, beach)": the caption part only where its words counted. */
export function explainScore(hit) {
  const total = `score ${hit.score.toFixed(3)}`;
  if (hit.vector_score === undefined) return total;
  const parts = [`image match ${hit.vector_score.toFixed(3)}`];
  if ((hit.matched || []).includes("caption")) {
    // The API adds a weighted caption score; its share of the total is what the reader can add up.
    const words = hit.caption_words && hit.caption_words.length ? ` (${hit.caption_words.join(", ")})` : "";
    parts.push(`caption ${(hit.score - hit.vector_score).toFixed(3)}${words}`);
  }
  return `${total} · ${parts.join(" + ")}`;
}
