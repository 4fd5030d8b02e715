// A grid of thumbnails that loads the next page when its end scrolls into view (the API's next_cursor).

import { apiUrl } from "./api.js";
import { el } from "./format.js";

/** One thumbnail: opens the photo; with a score (or `explain`, the score's parts), shows it on hover and focus;
 *  optionally "More like this" and "Less like this". */
export function thumb(photo, { score, explain, onOpen, onMore, onLess } = {}) {
  const label = photo.caption || photo.name || "photo";
  const src = photo.thumbnail_url || apiUrl(`/photos/${photo.id}/thumbnail`);
  const img = el("img", {
    src,
    srcset: `${src} 1x, ${src}?size=400 2x`, // a high-DPI screen gets the 400 px thumbnail
    alt: label,
    loading: "lazy",
    decoding: "async",
    width: 200,
    height: 200,
  });
  const open = el("button", { type: "button", class: "thumb", "aria-label": `Open ${photo.name || label}`, onclick: onOpen }, img);
  const item = el("li", { class: "tile", "data-id": photo.id }, open);
  const text = explain || (score !== undefined ? `score ${score.toFixed(3)}` : null);
  if (text) {
    open.title = `${photo.name || ""} — ${text}`;
    const id = `score-${photo.id}-${(thumb.count = (thumb.count || 0) + 1)}`;
    item.append(el("span", { class: "score", id, text }));
    open.setAttribute("aria-describedby", id); // read out on focus, not only shown on hover
  }
  if (onMore || onLess) {
    const actions = el("div", { class: "tile-actions" });
    const button = (cls, text, onclick) => el("button", { type: "button", class: cls, text, onclick });
    if (onMore) actions.append(button("more", "More like this", onMore));
    if (onLess) actions.append(button("less", "Less like this", onLess));
    item.append(actions);
  }
  return item;
}

// Tiles a first screen holds at most (wide windows: 8 per row, 3 rows); their thumbnails load first.
const FIRST_SCREEN = 24;
// How long the next page waits for the first screen's thumbnails at most (a slow one must not stop paging).
const SETTLE_MS = 2000;

/** The tile's thumbnail is fetched now and ahead of anything else the page wants. */
function firstScreen(tile) {
  for (const img of tile.querySelectorAll("img")) {
    img.loading = "eager";
    img.fetchPriority = "high";
  }
}

/** Resolves once every thumbnail in view under `container` has loaded or failed, or after `ms`. */
function settled(container, ms) {
  const inView = [...container.querySelectorAll("img")].filter((img) => {
    const box = img.getBoundingClientRect();
    return box.bottom > 0 && box.top < window.innerHeight;
  });
  const pending = inView.filter((img) => !img.complete).map(
    (img) => new Promise((done) => {
      img.addEventListener("load", done, { once: true });
      img.addEventListener("error", done, { once: true });
    }),
  );
  return Promise.race([Promise.all(pending), new Promise((done) => setTimeout(done, ms))]);
}

export class PagedGrid {
  /**
   * `fetchPage(cursor)` returns `{items, next}`; `render(item, index)` makes its tile;
   * `listFor(item)` picks the list an item goes into (the timeline's month), by default the container.
   */
  constructor(container, sentinel, { render, listFor, onPage } = {}) {
    this.container = container;
    this.render = render;
    this.listFor = listFor || (() => container);
    this.onPage = onPage || (() => {});
    this.items = [];
    this.generation = 0;
    this.cursor = null;
    this.fetchPage = null;
    this.loading = false;
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.more();
    }, { rootMargin: "600px" }).observe(sentinel);
  }

  /** Start over with another query; the first page loads at once. */
  reset(fetchPage) {
    this.generation += 1;
    this.items = [];
    this.cursor = null;
    this.fetchPage = fetchPage;
    this.loading = false;
    this.container.replaceChildren();
    return fetchPage ? this.more(true) : Promise.resolve();
  }

  get hasMore() {
    return this.fetchPage !== null && this.cursor !== null;
  }

  async more(first = false) {
    if (this.loading || !this.fetchPage || (!first && this.cursor === null)) return;
    const generation = this.generation;
    this.loading = true;
    try {
      const page = await this.fetchPage(first ? null : this.cursor);
      if (generation !== this.generation) return;
      for (const item of page.items) {
        const index = this.items.push(item) - 1;
        const tile = this.render(item, index);
        if (first && index < FIRST_SCREEN) firstScreen(tile);
        this.listFor(item).append(tile);
      }
      this.cursor = page.next || null;
      this.onPage(page, this);
      // The next page (and its thumbnails) would share the connections with the first screen's:
      // ask for it once what is on screen has loaded (bench/webpage.py: Enter to first row painted).
      if (first) await settled(this.container, SETTLE_MS);
    } finally {
      if (generation === this.generation) this.loading = false;
    }
    // A short first page may leave the sentinel in view: keep going until it is not.
    if (this.cursor !== null && generation === this.generation) requestAnimationFrame(() => this.fillViewport());
  }

  fillViewport() {
    const rect = this.container.getBoundingClientRect();
    if (rect.bottom < window.innerHeight + 600) this.more();
  }
}
