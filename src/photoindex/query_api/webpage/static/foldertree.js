// The folder tree beside the timeline: the watched folders as roots, each expanding to its sub-folders
// (GET /fs/browse, within the folders it allows); choosing one lists the photos anywhere below it.
// Nested buttons: a toggle with aria-expanded opens a folder, the folder's name chooses it (aria-pressed).

import { api } from "./api.js";
import { el } from "./format.js";

export class FolderTree {
  constructor(root, onChoose) {
    this.list = root.querySelector("#folder-tree");
    this.note = root.querySelector("#folder-tree-note");
    this.onChoose = onChoose;
    this.chosen = "";
    this.loaded = false;
  }

  async load() {
    this.loaded = true;
    let answer;
    try {
      answer = await api("/folders");
    } catch (error) {
      this.note.textContent = `Could not list the watched folders: ${error.message}`;
      return;
    }
    const all = this.item({ name: "All folders", path: "" }, { leaf: true });
    this.list.replaceChildren(all, ...answer.folders.map((f) => this.item({ name: f.path, path: f.path })));
    this.note.textContent = answer.folders.length ? "" : "No folder is watched yet.";
    this.mark();
  }

  /** One folder: its toggle (unless a leaf), its name as the button that chooses it, its sub-folders below. */
  item(folder, { leaf = false } = {}) {
    const children = el("ul", { hidden: true });
    const choose = el("button", {
      type: "button",
      class: "folder-name",
      "data-path": folder.path,
      "aria-pressed": "false",
      title: folder.path || "Every photo",
      text: folder.name,
      onclick: () => this.choose(folder.path),
    });
    const toggle = leaf
      ? el("span", { class: "folder-toggle", "aria-hidden": "true" })
      : el("button", {
          type: "button",
          class: "folder-toggle",
          "aria-expanded": "false",
          "aria-label": `Sub-folders of ${folder.name}`,
          text: "▸",
          onclick: () => this.toggle(toggle, children, folder.path),
        });
    return el("li", { "data-path": folder.path }, toggle, choose, children);
  }

  async toggle(button, children, path) {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "▾" : "▸";
    children.hidden = !open;
    if (!open || children.dataset.loaded) return;
    children.replaceChildren(el("li", { class: "note", text: "Reading…" }));
    try {
      const listing = await api("/fs/browse", { params: { path } });
      children.dataset.loaded = "true";
      children.replaceChildren(...listing.entries.map((entry) => this.item(entry)));
      if (!listing.entries.length) children.append(el("li", { class: "note", text: "No sub-folders" }));
      if (listing.truncated) children.append(el("li", { class: "note", text: "More sub-folders than shown" }));
      this.mark();
    } catch (error) {
      children.replaceChildren(el("li", { class: "note", text: `Cannot open: ${error.message}` }));
    }
  }

  choose(path) {
    this.chosen = path;
    this.mark();
    this.onChoose(path);
  }

  /** Shows the chosen folder; also called when the folder is typed into the timeline's filter instead. */
  select(path) {
    this.chosen = path;
    this.mark();
  }

  mark() {
    for (const button of this.list.querySelectorAll(".folder-name")) {
      button.setAttribute("aria-pressed", String(button.dataset.path === this.chosen));
    }
  }
}
