// The timeline: every photo by taken date, grouped by month, paged through GET /photos; the folder tree beside
// it narrows the listing to one folder.

import { api } from "./api.js";
import { FolderTree } from "./foldertree.js";
import { el, monthOf } from "./format.js";
import { PagedGrid, thumb } from "./grid.js";

const PAGE = 100;

export class Timeline {
  constructor(root, viewer) {
    this.form = root.querySelector("#timeline-form");
    this.note = root.querySelector("#timeline-note");
    this.container = root.querySelector("#timeline");
    this.month = null;
    this.grid = new PagedGrid(this.container, root.querySelector("#timeline-more"), {
      render: (photo, index) => thumb(photo, { onOpen: () => viewer.open(this.grid.items, index) }),
      listFor: (photo) => this.listFor(photo),
      onPage: (page) => {
        this.note.textContent = page.computing ? "Reading the library…" : `${page.total} photos`;
        if (page.computing) setTimeout(() => this.load(), 1000);
      },
    });
    this.tree = new FolderTree(root, (path) => {
      this.form.elements.folder.value = path;
      this.load();
    });
    this.form.addEventListener("change", () => {
      this.tree.select(this.form.elements.folder.value.trim());
      this.load();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
  }

  load() {
    if (!this.tree.loaded) this.tree.load();
    const data = new FormData(this.form);
    const params = { limit: PAGE };
    for (const name of ["order", "folder", "taken_from", "taken_to"]) params[name] = String(data.get(name) || "").trim();
    this.month = null;
    return this.grid
      .reset(async (cursor) => {
        const page = await api("/photos", { params: { ...params, cursor } });
        return { items: page.items, next: page.next_cursor, total: page.total, computing: page.computing };
      })
      .catch((error) => {
        this.note.textContent = `Could not list photos: ${error.message}`;
      });
  }

  /** The month's grid for a photo: a new heading and grid when the month changes. */
  listFor(photo) {
    const { key, label } = monthOf(photo.taken_at);
    if (!this.month || this.month.key !== key) {
      const list = el("ul", { class: "grid", "aria-label": label });
      this.container.append(el("h2", { class: "month", text: label }), list);
      this.month = { key, list };
    }
    return this.month.list;
  }
}
