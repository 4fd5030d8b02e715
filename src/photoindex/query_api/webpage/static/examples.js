// The example photos a search is refined by: "more like this" ones and "less like this" ones, as removable chips.

import { apiUrl } from "./api.js";
import { el } from "./format.js";

export class Examples {
  /** `onChange()` runs after every change made here (adding, removing). */
  constructor(list, onChange) {
    this.list = list;
    this.onChange = onChange;
    this.byId = new Map(); // photo id → {photo, like}
  }

  get size() {
    return this.byId.size;
  }

  /** Photos to look like (`like` true) or unlike (false), in the order they were chosen. */
  photos(like) {
    return [...this.byId.values()].filter((e) => e.like === like).map((e) => e.photo);
  }

  /** Add a photo, or move it to the other side; a photo is never both. */
  add(photo, like) {
    this.byId.delete(photo.id);
    this.byId.set(photo.id, { photo, like });
    this.render();
    this.onChange();
  }

  remove(id) {
    if (!this.byId.delete(id)) return;
    this.render();
    this.onChange();
  }

  clear() {
    this.byId.clear();
    this.render();
  }

  render() {
    this.list.hidden = this.byId.size === 0;
    this.list.replaceChildren(
      ...[...this.byId.values()].map(({ photo, like }, index) => {
        const name = photo.name || photo.id;
        const label = `${like ? "More" : "Less"} like ${name}`;
        const remove = el("button", {
          type: "button",
          class: "remove",
          "aria-label": `Remove “${label}”`,
          title: "Remove",
          text: "✕",
          onclick: () => {
            const next = this.list.children[index + 1] || this.list.children[index - 1];
            this.remove(photo.id);
            // Keep the keyboard where it was: on the neighbouring chip's button, else the search box.
            const id = next && next.dataset.id;
            const target = id && this.list.querySelector(`li[data-id="${CSS.escape(id)}"] button`);
            (target || document.getElementById("q")).focus();
          },
        });
        const src = photo.thumbnail_url || apiUrl(`/photos/${photo.id}/thumbnail`);
        const thumbnail = el("img", { src, alt: "", width: 24, height: 24 });
        const chip = el("li", { class: like ? "more" : "less", "data-id": photo.id }, thumbnail);
        chip.append(el("span", { text: label }), remove);
        return chip;
      }),
    );
  }
}
