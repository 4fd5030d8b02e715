// Upload photos into the inbox (the daemon watches it and indexes what lands there): dropped or picked files and
// folders, one request per file so each has its own progress bar and its own answer, a few at a time.

import { API, api } from "./api.js";
import { bytes, el } from "./format.js";

const PARALLEL = 3;
const ROWS_SHOWN = 200; // a selection of thousands keeps only the latest rows on the page; the summary counts all
const MULTIPART_OVERHEAD = 1024; // part headers and boundaries around one file

/** Every file under the dropped items; folders are walked with webkitGetAsEntry, a batch of entries at a time. */
export async function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files];
  const files = [];
  const walk = async (entry) => {
    if (entry.isFile) {
      files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const entry of entries) await walk(entry);
  return files;
}

export class Uploads {
  constructor(root, pageDropZone) {
    this.zone = root.querySelector("#upload-zone");
    this.list = root.querySelector("#uploads");
    this.summary = root.querySelector("#upload-note");
    this.queue = [];
    this.active = 0;
    this.counts = { total: 0, done: 0, refused: 0 };
    this.maxBytes = null;
    for (const input of root.querySelectorAll("#upload-pick, #upload-folder")) {
      input.addEventListener("change", () => {
        this.add([...input.files]);
        input.value = "";
      });
    }
    // Dropped here, files upload; dropped anywhere else on the page, an image is searched by (app.js).
    this.zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      event.stopPropagation();
      pageDropZone.hidden = true; // not the page-wide "search by this image" target here
      this.zone.classList.add("over");
    });
    this.zone.addEventListener("dragleave", () => this.zone.classList.remove("over"));
    this.zone.addEventListener("drop", async (event) => {
      event.preventDefault();
      event.stopPropagation();
      this.zone.classList.remove("over");
      this.summary.textContent = "Reading the dropped files…";
      try {
        this.add(await droppedFiles(event.dataTransfer));
      } catch (error) {
        this.summary.textContent = `Could not read the dropped files: ${error.message}`;
      }
    });
  }

  /** Queue files; rows appear as each one starts, so a huge selection costs nothing up front. */
  add(files) {
    this.queue.push(...files);
    this.counts.total += files.length;
    this.describe();
    this.pump();
  }

  async limit() {
    if (this.maxBytes === null) {
      try {
        this.maxBytes = (await api("/capabilities")).limits.max_upload_bytes;
      } catch {
        this.maxBytes = Infinity; // the server still refuses what is too large, with its own message
      }
    }
    return this.maxBytes;
  }

  pump() {
    while (this.active < PARALLEL && this.queue.length) {
      const file = this.queue.shift();
      this.active += 1;
      this.upload(file)
        .then((state) => {
          if (state === "done") this.counts.done += 1;
          else this.counts.refused += 1;
        })
        .finally(() => {
          this.active -= 1;
          this.describe();
          this.pump();
        });
    }
  }

  row(file) {
    const name = file.webkitRelativePath || file.name;
    const progress = el("progress", { max: 1, value: 0, "aria-label": `Uploading ${name}` });
    const status = el("span", { class: "upload-status", text: "waiting" });
    const row = el("li", { class: "upload", "data-name": file.name, "data-state": "uploading" }, el("span", { class: "upload-name", text: name }), el("span", { class: "size", text: bytes(file.size) }), progress, status);
    this.list.prepend(row);
    while (this.list.children.length > ROWS_SHOWN) this.list.lastElementChild.remove();
    return { row, progress, status };
  }

  async upload(file) {
    const view = this.row(file);
    const finish = (state, text) => {
      view.row.dataset.state = state;
      view.status.textContent = text;
      if (state === "done") view.progress.value = 1;
      return state;
    };
    const max = await this.limit();
    if (file.size + MULTIPART_OVERHEAD > max) {
      return finish("refused", `too large: over the ${bytes(max)} upload limit (ERR_TOO_LARGE)`);
    }
    view.status.textContent = "uploading";
    const form = new FormData();
    form.append("files", file, file.name);
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest(); // fetch reports no upload progress
      xhr.open("POST", `${API}/ingest/upload`);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.responseType = "json";
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) view.progress.value = event.loaded / event.total;
      });
      xhr.addEventListener("load", () => {
        const body = xhr.response;
        if (xhr.status === 201 && body) {
          const refused = body.refused[0];
          if (refused) resolve(finish("refused", `${refused.reason} (${refused.code})`));
          else resolve(finish("done", "added: it is indexed in a moment"));
        } else {
          const detail = (body && (body.detail || body.title)) || `HTTP ${xhr.status}`;
          resolve(finish("refused", body && body.code ? `${detail} (${body.code})` : detail));
        }
      });
      xhr.addEventListener("error", () => resolve(finish("refused", "the connection failed")));
      xhr.addEventListener("abort", () => resolve(finish("refused", "cancelled")));
      xhr.send(form);
    });
  }

  describe() {
    const { total, done, refused } = this.counts;
    const left = total - done - refused;
    this.summary.textContent =
      `${done} of ${total} uploaded` + (refused ? `, ${refused} refused` : "") + (left ? `; ${left} to go…` : ".");
  }
}
