// Tidy duplicates: groups side by side, the suggested keeper and why; chosen copies go to the trash, never deleted.

import { api, apiUrl } from "./api.js";
import { bytes, dims, el } from "./format.js";

const GROUPS = 20;

export class Duplicates {
  constructor(root, confirm) {
    this.root = root;
    this.confirm = confirm;
    this.note = root.querySelector("#dup-note");
    this.groups = root.querySelector("#groups");
    this.moreButton = root.querySelector("#groups-more");
    this.trashButton = root.querySelector("#trash-selected");
    this.cursor = null;
    this.generation = 0;
    for (const radio of root.querySelectorAll("input[name=kind]")) radio.addEventListener("change", () => this.load());
    this.moreButton.addEventListener("click", () => this.page());
    root.querySelector("#select-extras").addEventListener("click", () => {
      for (const box of this.groups.querySelectorAll("input[type=checkbox]")) box.checked = true;
      this.updateSelection();
    });
    this.groups.addEventListener("change", () => this.updateSelection());
    this.trashButton.addEventListener("click", () => this.trashSelected());
  }

  get kind() {
    return this.root.querySelector("input[name=kind]:checked").value;
  }

  load() {
    this.generation += 1;
    this.cursor = null;
    this.groups.replaceChildren();
    this.updateSelection();
    return this.page();
  }

  async page() {
    const generation = this.generation;
    this.note.textContent = "Looking for duplicates…";
    let answer;
    try {
      answer = await api("/duplicates", { params: { kind: this.kind, limit: GROUPS, cursor: this.cursor, wait_s: 5 } });
    } catch (error) {
      this.note.textContent = `Could not read duplicates: ${error.message}`;
      return;
    }
    if (generation !== this.generation) return;
    if (answer.computing && !answer.groups.length) {
      setTimeout(() => generation === this.generation && this.page(), 1000);
      return;
    }
    this.groups.append(...answer.groups.map((group) => this.renderGroup(group)));
    this.cursor = answer.next_cursor;
    this.moreButton.hidden = !this.cursor;
    const shown = this.groups.children.length;
    const total = answer.total_groups ?? shown;
    this.note.textContent = shown
      ? `${total} ${total === 1 ? "group" : "groups"}; ${bytes(answer.reclaimable_bytes)} could be freed.` +
        (answer.stale ? " (Updating…)" : "")
      : "No duplicates of this kind.";
  }

  renderGroup(group) {
    const members = group.members.map((m) => member(m));
    const heading = `${group.member_count} copies · ${bytes(group.reclaimable_bytes)} to free · keeper: ${group.keeper_reason}`;
    const kind = this.kind;
    const article = el(
      "article",
      { class: "group", "data-keeper": group.keeper_id, "data-group": group.group_id },
      el(
        "header",
        { class: "group-head" },
        el("h3", { text: heading }),
        el("button", { type: "button", class: "not-duplicates", text: "Not duplicates", onclick: () => this.dismiss(kind, group, article) }),
      ),
      el("div", { class: "members" }, ...members),
    );
    return article;
  }

  /** Hide a group for good (the daemon remembers it); it comes back only if its members change, or on undo. */
  async dismiss(kind, group, article) {
    try {
      await api("/duplicates/dismissed", { method: "POST", json: { kind, group_id: group.group_id } });
    } catch (error) {
      this.note.textContent = `Could not dismiss the group: ${error.message}`;
      return;
    }
    article.remove();
    this.updateSelection();
    const undo = el("button", { type: "button", class: "undo", text: "Undo", onclick: () => this.undoDismiss(kind, group) });
    this.note.replaceChildren(`Marked ${group.member_count} photos as not duplicates; they will not be listed again. `, undo);
  }

  async undoDismiss(kind, group) {
    try {
      await api("/duplicates/dismissed", { method: "DELETE", params: { kind, group_id: group.group_id } });
    } catch (error) {
      this.note.textContent = `Could not undo: ${error.message}`;
      return;
    }
    await this.load();
  }

  selected() {
    return [...this.groups.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);
  }

  updateSelection() {
    const n = this.selected().length;
    this.trashButton.disabled = n === 0;
    this.trashButton.textContent = n ? `Move ${n} selected to trash…` : "Move selected to trash…";
  }

  async trashSelected() {
    const ids = this.selected();
    if (!ids.length) return;
    const text = `Move ${ids.length} file${ids.length === 1 ? "" : "s"} to the trash? They leave the index; you can restore them from your desktop's trash.`;
    if (!(await this.confirm(text))) return;
    try {
      const result = await api("/photos/remove", { method: "POST", json: { ids, trash: true } });
      const failed = result.results.filter((r) => !r.trashed);
      await this.load();
      this.note.textContent =
        `Moved ${result.results.length - failed.length} to the trash.` +
        (failed.length ? ` ${failed.length} could not be moved: ${failed[0].message || failed[0].code}` : "");
    } catch (error) {
      this.note.textContent = `Could not move to trash: ${error.message}`;
    }
  }
}

function member(m) {
  const name = (m.path || m.id).split("/").pop();
  const facts = [dims(m.width, m.height), bytes(m.size), m.format].filter(Boolean).join(" · ");
  const figure = el(
    "figure",
    { class: m.keeper ? "member keeper" : "member", "data-id": m.id },
    el("img", { src: apiUrl(`/photos/${m.id}/thumbnail`), alt: name, loading: "lazy", width: 200, height: 200 }),
    el("figcaption", {}, el("strong", { text: name }), el("span", { text: facts }), el("span", { class: "path", text: m.path || "" })),
  );
  if (m.keeper) figure.append(el("span", { class: "badge", text: "Keeper" }));
  else figure.append(el("label", { class: "pick" }, el("input", { type: "checkbox", value: m.id }), " Move to trash"));
  return figure;
}
