// The search view: results as you type, filters, search by a dropped or picked image, and the example photos
// that refine it ("more like this", "less like this"), sent as the API's combined positive/negative search.

import { api } from "./api.js";
import { Examples } from "./examples.js";
import { PagedGrid, thumb } from "./grid.js";
import { explainScore } from "./score.js";

const PAGE = 40;
const DEBOUNCE_MS = 250;
// Filter fields as a combined search's `filters` object: the JSON name, and whether it takes a list.
const FILTER_FIELDS = {
  make: ["camera_make", true],
  model: ["camera_model", true],
  lens: ["lens", true],
  format: ["format", true],
};

export class Search {
  constructor(root, viewer) {
    this.viewer = viewer;
    this.input = root.querySelector("#q");
    this.note = root.querySelector("#search-note");
    this.filters = root.querySelector("#filters");
    this.queryImage = root.querySelector("#query-image");
    this.file = null; // the image searched by, if any
    this.uploadId = null; // its upload_id, to reuse it in a combined search
    this.searched = ""; // the text of the search shown
    this.examples = new Examples(root.querySelector("#examples"), () => this.refresh());
    this.grid = new PagedGrid(root.querySelector("#results"), root.querySelector("#results-more"), {
      render: (hit, index) =>
        thumb(hit.photo, {
          explain: explainScore(hit),
          onOpen: () => this.viewer.open(this.grid.items.map((h) => h.photo), index),
          onMore: () => this.similarTo(hit.photo),
          onLess: () => this.examples.add(hit.photo, false),
        }),
      onPage: (page, grid) => this.describe(page, grid),
    });
    let timer = 0;
    this.input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.byText(), DEBOUNCE_MS);
    });
    root.querySelector("#search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(timer);
      this.byText();
    });
    root.querySelector("#pick").addEventListener("change", (event) => {
      const file = event.target.files[0];
      if (file) this.byImage(file);
      event.target.value = "";
    });
    this.filters.addEventListener("change", () => this.refresh());
    root.querySelector("#clear-filters").addEventListener("click", () => {
      for (const field of this.filters.querySelectorAll("input, select")) field.value = "";
      this.refresh();
    });
    root.querySelector("#clear-image").addEventListener("click", () => {
      this.showQueryImage(null);
      this.examples.clear(); // they refined the image search
      this.byText();
    });
  }

  /** The filter fields as the search endpoints' query parameters. */
  filterParams() {
    const params = {};
    for (const field of this.filters.querySelectorAll("input, select")) {
      if (field.value) params[field.name] = field.value.trim();
    }
    return params;
  }

  /** The same filters as a combined search's JSON `filters`. */
  filterSpec() {
    const spec = {};
    for (const [name, value] of Object.entries(this.filterParams())) {
      const [key, list] = FILTER_FIELDS[name] || [name, false];
      spec[key] = name === "has_gps" ? value === "true" : list ? [value] : value;
    }
    return spec;
  }

  /** A new text starts a new search: the examples chosen for the previous one go. */
  byText() {
    this.showQueryImage(null);
    if (this.input.value.trim() !== this.searched) this.examples.clear();
    return this.refresh();
  }

  byImage(file) {
    this.showQueryImage(file);
    this.examples.clear();
    return this.refresh();
  }

  /** "More like this": photos like this one (added to the examples), instead of the text or image searched by. */
  similarTo(photo) {
    this.showQueryImage(null);
    this.input.value = "";
    this.examples.add(photo, true);
  }

  /** Search by whatever is given now: the text or the image, refined by the example photos. */
  refresh() {
    const q = this.input.value.trim();
    this.searched = q;
    if (this.examples.size) return this.combined(q);
    if (this.file) {
      const file = this.file;
      this.note.textContent = `Searching by ${file.name}…`;
      return this.run((cursor) => this.imagePage(file, cursor, PAGE));
    }
    if (!q) {
      this.note.textContent = "Type to search, or drop an image anywhere on the page.";
      return this.grid.reset(null);
    }
    this.note.textContent = "Searching…";
    return this.run((cursor) => api("/search/text", { params: { q, limit: PAGE, cursor, ...this.filterParams() } }));
  }

  async imagePage(file, cursor, limit) {
    const form = new FormData();
    form.append("image", file, file.name);
    const params = { limit, cursor, ...this.filterParams() };
    const page = await api("/search/image", { method: "POST", form, params });
    if (this.file === file) this.uploadId = page.upload_id || this.uploadId;
    return page;
  }

  /** The API's combined search: the text, the image and the "more like" photos, minus the "less like" ones. */
  combined(q) {
    const likes = this.examples.photos(true);
    const unlikes = this.examples.photos(false);
    if (!q && !this.file && !likes.length) {
      this.note.textContent = "Type a description or choose “More like this” to search with what to avoid.";
      return this.grid.reset(null);
    }
    if (likes.length === 1 && !q && !this.file && !unlikes.length) {
      const photo = likes[0];
      this.note.textContent = `Photos like ${photo.name || photo.id}…`;
      return this.run((cursor) =>
        api(`/photos/${photo.id}/similar`, { params: { limit: PAGE, cursor, ...this.filterParams() } }),
      );
    }
    this.note.textContent = "Searching…";
    const file = this.file;
    const negative = unlikes.map((p) => ({ photo_id: p.id }));
    const hide = new Set(unlikes.map((p) => p.id)); // the API ranks a "less like" photo low; the page leaves it out
    let hidden = 0;
    return this.run(async (cursor) => {
      if (file && !this.uploadId) await this.imagePage(file, null, 1); // its upload_id stands for the image
      const positive = [...(q ? [{ text: q }] : []), ...likes.map((p) => ({ photo_id: p.id }))];
      if (file) positive.push({ upload_id: this.uploadId });
      const body = { positive, negative, filters: this.filterSpec(), limit: PAGE, ...(cursor ? { cursor } : {}) };
      const page = await api("/search", { method: "POST", json: body });
      const hits = page.hits.filter((h) => !hide.has(h.id));
      hidden = (cursor ? hidden : 0) + page.hits.length - hits.length;
      const total = page.total === null || page.total === undefined ? page.total : page.total - hidden;
      return { ...page, hits, total };
    });
  }

  run(fetch) {
    return this.grid
      .reset(async (cursor) => {
        const page = await fetch(cursor);
        return { items: page.hits, next: page.next_cursor, total: page.total };
      })
      .catch((error) => {
        this.note.textContent = `Search failed: ${error.message}`;
      });
  }

  describe(page, grid) {
    const shown = grid.items.length;
    const total = page.total === null || page.total === undefined ? "" : ` of ${page.total}`;
    this.note.textContent = shown
      ? `${shown}${total} photos, best first. Hover or focus a photo for its score and what matched.`
      : "No photos match.";
  }

  showQueryImage(file) {
    this.file = file;
    this.uploadId = null;
    const img = this.queryImage.querySelector("img");
    if (img.src) URL.revokeObjectURL(img.src);
    if (!file) {
      this.queryImage.hidden = true;
      img.removeAttribute("src");
      return;
    }
    img.src = URL.createObjectURL(file);
    this.queryImage.querySelector("span").textContent = `Photos like ${file.name}`;
    this.queryImage.hidden = false;
  }
}
