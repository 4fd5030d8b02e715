// The search view: results as you type, filters, search by a dropped or picked image, "more like this".

import { api } from "./api.js";
import { PagedGrid, thumb } from "./grid.js";

const PAGE = 40;
const DEBOUNCE_MS = 250;

export class Search {
  constructor(root, viewer) {
    this.viewer = viewer;
    this.input = root.querySelector("#q");
    this.note = root.querySelector("#search-note");
    this.filters = root.querySelector("#filters");
    this.queryImage = root.querySelector("#query-image");
    this.grid = new PagedGrid(root.querySelector("#results"), root.querySelector("#results-more"), {
      render: (hit, index) =>
        thumb(hit.photo, {
          score: hit.score,
          onOpen: () => this.viewer.open(this.grid.items.map((h) => h.photo), index),
          onMore: () => this.similarTo(hit.photo),
        }),
      onPage: (page, grid) => this.describe(page, grid),
    });
    this.mode = null;
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
    this.filters.addEventListener("change", () => this.rerun());
    root.querySelector("#clear-filters").addEventListener("click", () => {
      for (const field of this.filters.querySelectorAll("input, select")) field.value = "";
      this.rerun();
    });
    root.querySelector("#clear-image").addEventListener("click", () => {
      this.showQueryImage(null);
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

  rerun() {
    if (this.mode) this.mode();
  }

  byText() {
    const q = this.input.value.trim();
    this.showQueryImage(null);
    if (!q) {
      this.mode = null;
      this.note.textContent = "Type to search, or drop an image anywhere on the page.";
      return this.grid.reset(null);
    }
    this.mode = () => this.byText();
    this.note.textContent = "Searching…";
    return this.run((cursor) => api("/search/text", { params: { q, limit: PAGE, cursor, ...this.filterParams() } }));
  }

  byImage(file) {
    this.showQueryImage(file);
    this.mode = () => this.byImage(file);
    this.note.textContent = `Searching by ${file.name}…`;
    return this.run((cursor) => {
      const form = new FormData();
      form.append("image", file, file.name);
      return api("/search/image", { method: "POST", form, params: { limit: PAGE, cursor, ...this.filterParams() } });
    });
  }

  similarTo(photo) {
    this.showQueryImage(null);
    this.input.value = "";
    this.mode = () => this.similarTo(photo);
    this.note.textContent = `Photos like ${photo.name || photo.id}…`;
    return this.run((cursor) => api(`/photos/${photo.id}/similar`, { params: { limit: PAGE, cursor, ...this.filterParams() } }));
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
    this.note.textContent = shown ? `${shown}${total} photos, best first. Hover for the score.` : "No photos match.";
  }

  showQueryImage(file) {
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
