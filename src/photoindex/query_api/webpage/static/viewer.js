// The photo view: a large preview, ←/→ through the list it was opened from, Esc to close, metadata, look-alikes.

import { api, apiUrl } from "./api.js";
import { bytes, dims, el, exposure, when } from "./format.js";
import { thumb } from "./grid.js";

const SIMILAR = 8;

export class Viewer {
  constructor(dialog) {
    this.dialog = dialog;
    this.img = dialog.querySelector("#viewer-img");
    this.title = dialog.querySelector("#viewer-title");
    this.meta = dialog.querySelector("#viewer-meta");
    this.original = dialog.querySelector("#viewer-original");
    this.similar = dialog.querySelector("#viewer-similar");
    this.photos = [];
    this.index = 0;
    dialog.querySelector("#viewer-prev").addEventListener("click", () => this.step(-1));
    dialog.querySelector("#viewer-next").addEventListener("click", () => this.step(1));
    dialog.querySelector("#viewer-close").addEventListener("click", () => dialog.close());
    // On the document: a button that held the focus may become disabled (the first or last photo), and the focus
    // then falls back to the body, outside the dialog.
    document.addEventListener("keydown", (event) => {
      if (!dialog.open || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === "ArrowLeft") this.step(-1);
      else if (event.key === "ArrowRight") this.step(1);
      else return;
      event.preventDefault();
    });
  }

  /** Show `photos[index]`; the arrows walk `photos` (summaries with at least an id). */
  open(photos, index) {
    this.photos = photos;
    if (!this.dialog.open) this.dialog.showModal();
    this.show(index);
  }

  step(delta) {
    const next = this.index + delta;
    if (next >= 0 && next < this.photos.length) this.show(next);
  }

  async show(index) {
    this.index = index;
    const id = this.photos[index].id;
    this.dialog.dataset.id = id;
    this.dialog.querySelector("#viewer-prev").disabled = index === 0;
    this.dialog.querySelector("#viewer-next").disabled = index === this.photos.length - 1;
    const info = await api(`/photos/${id}`);
    if (this.dialog.dataset.id !== id) return;
    // The display rendition, never the original: browsers cannot show HEIC, RAW or TIFF, and it is far smaller.
    this.img.src = info.display_url || apiUrl(`/photos/${id}/display`);
    this.img.alt = info.caption || info.name || "photo";
    this.title.textContent = info.name || id;
    this.original.href = info.original_url;
    this.meta.replaceChildren(...metadata(info));
    this.loadSimilar(id);
  }

  async loadSimilar(id) {
    this.similar.replaceChildren();
    let page;
    try {
      page = await api(`/photos/${id}/similar`, { params: { limit: SIMILAR } });
    } catch {
      return; // not embedded yet: no look-alikes to show
    }
    if (this.dialog.dataset.id !== id) return;
    const photos = page.hits.map((h) => h.photo);
    this.similar.replaceChildren(
      ...page.hits.map((hit, i) => thumb(hit.photo, { score: hit.score, onOpen: () => this.open(photos, i) })),
    );
  }
}

function metadata(info) {
  const camera = [info.camera_make, info.camera_model].filter(Boolean).join(" ");
  const gps = info.gps ? `${info.gps.lat.toFixed(5)}, ${info.gps.lon.toFixed(5)}` : "";
  const place = info.place ? [info.place.city, info.place.region, info.place.country].filter(Boolean).join(", ") : "";
  // "exif" and "exif+gps" (the zone from the position) are the camera's own date: only a guess is flagged.
  const guessed = info.taken_at_source && !info.taken_at_source.startsWith("exif");
  const rows = [
    ["Taken", when(info.taken_at) + (guessed ? ` (from the ${info.taken_at_source.replace("+gps", "")})` : "")],
    ["Place", place],
    ["Camera", camera],
    ["Lens", info.lens],
    ["Exposure", exposure(info)],
    ["Size", [dims(info.width, info.height), bytes(info.size), info.format].filter(Boolean).join(" · ")],
    ["GPS", gps],
    ["Caption", info.caption],
    ["Path", info.path],
  ];
  const out = [];
  for (const [name, value] of rows) {
    if (!value) continue;
    out.push(el("dt", { text: name }), el("dd", { text: value }));
  }
  return out;
}

