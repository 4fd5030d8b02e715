// Watched folders: list, add, stop watching with a clear choice about the photos already indexed.

import { api } from "./api.js";
import { el } from "./format.js";

export class Folders {
  constructor(root, unwatchDialog) {
    this.list = root.querySelector("#folders");
    this.note = root.querySelector("#folder-note");
    this.inbox = root.querySelector("#inbox");
    this.dialog = unwatchDialog;
    root.querySelector("#folder-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.add(event.target.elements.path);
    });
  }

  async load() {
    try {
      this.render(await api("/folders"));
    } catch (error) {
      this.note.textContent = `Could not list folders: ${error.message}`;
    }
  }

  render(answer) {
    this.inbox.textContent = answer.inbox;
    this.list.replaceChildren(
      ...answer.folders.map((folder) =>
        el(
          "li",
          { "data-path": folder.path },
          el("code", { text: folder.path }),
          el("span", { class: "count", text: `${folder.photos} photos${folder.exists ? "" : " · missing on disk"}` }),
          el("button", { type: "button", text: "Stop watching…", onclick: () => this.remove(folder.path) }),
        ),
      ),
    );
    if (!answer.folders.length) this.list.append(el("li", { class: "note", text: "No folder is watched yet." }));
  }

  async add(input) {
    const path = input.value.trim();
    if (!path) return;
    try {
      const answer = await api("/folders", { method: "POST", json: { path } });
      this.render(answer);
      input.value = "";
      this.note.textContent = `Watching ${path}. ${answer.note || ""}`;
    } catch (error) {
      this.note.textContent = `Could not add ${path}: ${error.message}`;
    }
  }

  async remove(path) {
    this.dialog.querySelector("#unwatch-path").textContent = path;
    this.dialog.querySelector("input[name=purge][value=false]").checked = true;
    this.dialog.returnValue = "";
    this.dialog.showModal();
    await new Promise((resolve) => this.dialog.addEventListener("close", resolve, { once: true }));
    if (this.dialog.returnValue !== "ok") return;
    const purge = this.dialog.querySelector("input[name=purge]:checked").value;
    try {
      this.render(await api("/folders", { method: "DELETE", params: { path, purge } }));
      this.note.textContent =
        purge === "true" ? `Stopped watching ${path}; its photos left the index.` : `Stopped watching ${path}; its photos stay searchable.`;
    } catch (error) {
      this.note.textContent = `Could not remove ${path}: ${error.message}`;
    }
  }
}
