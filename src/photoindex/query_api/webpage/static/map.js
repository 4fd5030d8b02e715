// The map view: every photo as a dot on the library's 2-D map (GET /projection), similar photos close together.
// Pointing at a dot shows its thumbnail, clicking opens it; the map is polled (politely) for a newer fit.

import { api, apiUrl } from "./api.js";
import { MapPlot, MapPoints } from "./mapplot.js";

const PAGE = 50000; // the API's largest map page
const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 15000; // waiting for a fit backs off to this
const HIT_PX = 8; // how near the pointer a dot must be
const KEY_HIT_PX = 24; // how near the centre a dot must be to be chosen from the keyboard
const KEY_STEP = 0.1; // an arrow key moves a tenth of the view (a shifted one half)
const ZOOM_STEP = 1.5;

export class MapView {
  constructor(root, viewer) {
    this.viewer = viewer;
    this.canvas = root.querySelector("#map-canvas");
    this.frame = root.querySelector(".map-frame");
    this.note = root.querySelector("#map-note");
    this.reloadButton = root.querySelector("#map-reload");
    this.tip = root.querySelector("#map-tip");
    this.tipImg = this.tip.querySelector("img");
    this.announce = root.querySelector("#map-current");
    this.plot = new MapPlot(this.canvas, {
      onFrame: (drawn) => {
        this.canvas.dataset.drawn = String(drawn);
        this.canvas.dataset.zoom = this.plot.view.k.toFixed(3);
        this.placeTip();
      },
    });
    this.loaded = null; // computed_at of the map on screen
    this.generation = 0;
    this.timer = 0;
    this.delay = POLL_FIRST_MS;
    this.visible = false;
    this.drag = null;
    root.querySelector("#map-zoom-in").addEventListener("click", () => this.plot.zoom(ZOOM_STEP));
    root.querySelector("#map-zoom-out").addEventListener("click", () => this.plot.zoom(1 / ZOOM_STEP));
    root.querySelector("#map-reset").addEventListener("click", () => this.plot.reset());
    this.reloadButton.addEventListener("click", () => this.load());
    this.listen();
  }

  /** The view is shown: load the map the first time, then keep asking whether a newer one is ready. */
  start() {
    this.visible = true;
    this.plot.redraw();
    if (this.loaded === null) this.load();
    else this.poll(POLL_FIRST_MS);
  }

  stop() {
    this.visible = false;
    clearTimeout(this.timer);
  }

  poll(delay) {
    clearTimeout(this.timer);
    if (this.visible) this.timer = setTimeout(() => this.check(), delay);
  }

  /** Read every page of the newest map; without one yet, say so and try again later. */
  async load() {
    const generation = ++this.generation;
    clearTimeout(this.timer);
    this.reloadButton.hidden = true;
    const ids = [];
    const xs = [];
    const ys = [];
    const clusters = [];
    let first = null;
    let cursor = null;
    try {
      do {
        const page = await api("/projection", { params: { limit: PAGE, cursor } });
        if (generation !== this.generation) return;
        if (first === null) first = page;
        else if (page.computed_at !== first.computed_at) return this.load(); // refitted between pages: start over
        for (let i = 0; i < page.ids.length; i++) {
          ids.push(page.ids[i]); // not push(...ids): 50 000 arguments is near the engine's limit
          xs.push(page.x[i]);
          ys.push(page.y[i]);
          clusters.push(page.clusters[i]);
        }
        cursor = page.next_cursor;
        if (cursor) this.say(`Loading the map… ${ids.length.toLocaleString()} of ${page.total.toLocaleString()}`);
      } while (cursor);
    } catch (error) {
      if (generation !== this.generation) return;
      this.canvas.dataset.state = "error";
      this.say(`Could not load the map: ${error.message}`);
      this.poll(POLL_MAX_MS);
      return;
    }
    if (first.computed_at === null) {
      // No map fitted yet: the request itself started a fit.
      this.canvas.dataset.state = "waiting";
      this.say(first.error ? `The map could not be made: ${first.error}` : "The map is being made; it shows here when ready…");
      this.poll(this.backoff());
      return;
    }
    this.loaded = first.computed_at;
    this.delay = POLL_FIRST_MS;
    this.plot.setPoints(new MapPoints(ids, xs, ys, clusters));
    this.canvas.dataset.points = String(ids.length);
    this.canvas.dataset.state = ids.length ? "ready" : "empty";
    this.hideTip();
    this.describe(first);
    this.poll(this.backoff());
  }

  /** One small request: is a newer map ready, or being made? */
  async check() {
    let page;
    try {
      page = await api("/projection", { params: { limit: 1 } });
    } catch {
      this.poll(this.backoff());
      return;
    }
    if (!this.visible) return;
    if (this.loaded === null) {
      // Still no map on screen: load the first one as soon as it exists.
      if (page.computed_at !== null) this.load();
      else this.poll(this.backoff());
      return;
    }
    if (page.computed_at !== null && page.computed_at !== this.loaded) {
      this.say(`A newer map is ready (${page.total.toLocaleString()} photos).`);
      this.reloadButton.hidden = false;
      return; // nothing more to wait for until it is loaded
    }
    this.describe(page);
    this.poll(this.backoff());
  }

  backoff() {
    const delay = this.delay;
    this.delay = Math.min(POLL_MAX_MS, Math.round(this.delay * 1.5));
    return delay;
  }

  describe(page) {
    const n = this.plot.points ? this.plot.points.size : 0;
    let text = n ? `${n.toLocaleString()} photos; similar ones lie close together.` : "No photos on the map yet.";
    if (page.computing) text += " A newer map is being made; it can be loaded when ready.";
    else if (page.stale) text += " The library changed since this map was made; a newer one follows shortly.";
    if (page.error) text += ` The last attempt failed: ${page.error}`;
    this.say(text);
  }

  say(text) {
    if (this.note.textContent !== text) this.note.textContent = text;
  }

  listen() {
    const canvas = this.canvas;
    const local = (event) => {
      const rect = canvas.getBoundingClientRect();
      return [event.clientX - rect.left, event.clientY - rect.top];
    };
    canvas.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      canvas.setPointerCapture(event.pointerId);
      this.drag = { x: event.clientX, y: event.clientY, moved: false };
    });
    canvas.addEventListener("pointermove", (event) => {
      this.plot.crosshair = false;
      if (this.drag) {
        const [dx, dy] = [event.clientX - this.drag.x, event.clientY - this.drag.y];
        if (this.drag.moved || Math.abs(dx) + Math.abs(dy) > 3) {
          this.drag = { x: event.clientX, y: event.clientY, moved: true };
          canvas.classList.add("dragging");
          this.hideTip();
          this.plot.pan(dx, dy);
        }
        return;
      }
      this.choose(this.plot.hit(...local(event), HIT_PX));
    });
    canvas.addEventListener("pointerup", (event) => {
      const drag = this.drag;
      this.drag = null;
      canvas.classList.remove("dragging");
      if (!drag || drag.moved) return;
      const index = this.plot.hit(...local(event), HIT_PX);
      this.choose(index);
      if (index >= 0) this.open(index);
    });
    canvas.addEventListener("pointerleave", () => {
      if (!this.drag) this.choose(-1);
    });
    canvas.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        this.hideTip();
        this.plot.zoom(Math.exp(-event.deltaY * (event.deltaMode ? 0.05 : 0.0015)), ...local(event));
      },
      { passive: false },
    );
    canvas.addEventListener("keydown", (event) => this.key(event));
    canvas.addEventListener("blur", () => {
      this.plot.crosshair = false;
      this.plot.redraw();
    });
  }

  /** Arrows move, + and − zoom, 0 shows the whole map, Enter opens the dot under the centre's crosshair. */
  key(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const rect = this.canvas.getBoundingClientRect();
    const step = event.shiftKey ? 0.5 : KEY_STEP;
    const moves = {
      ArrowLeft: [rect.width * step, 0],
      ArrowRight: [-rect.width * step, 0],
      ArrowUp: [0, rect.height * step],
      ArrowDown: [0, -rect.height * step],
    };
    if (moves[event.key]) this.plot.pan(...moves[event.key]);
    else if (event.key === "+" || event.key === "=") this.plot.zoom(ZOOM_STEP);
    else if (event.key === "-" || event.key === "_") this.plot.zoom(1 / ZOOM_STEP);
    else if (event.key === "0") this.plot.reset();
    else if (event.key === "Enter" || event.key === " ") {
      if (this.plot.highlight >= 0) this.open(this.plot.highlight);
    } else return;
    event.preventDefault();
    if (event.key === "Enter" || event.key === " ") return;
    // The keyboard's pointer is the centre: the dot nearest it is the one Enter opens.
    this.plot.crosshair = true;
    this.choose(this.plot.hit(rect.width / 2, rect.height / 2, KEY_HIT_PX), true);
  }

  /** Highlight point `index` (or none) and show its thumbnail. */
  choose(index, spoken = false) {
    const changed = index !== this.plot.highlight;
    this.plot.highlight = index;
    this.plot.redraw();
    if (index < 0) {
      this.hideTip();
      if (spoken) this.announce.textContent = "No photo under the crosshair.";
      return;
    }
    if (!changed && !this.tip.hidden) return;
    const id = this.plot.points.ids[index];
    this.tip.dataset.id = id;
    this.tipImg.src = apiUrl(`/photos/${id}/thumbnail`);
    this.tip.hidden = false;
    this.placeTip();
    if (spoken) this.announce.textContent = "A photo is under the crosshair: press Enter to open it.";
  }

  hideTip() {
    this.tip.hidden = true;
    delete this.tip.dataset.id;
  }

  /** Keep the tooltip beside its dot, inside the frame. */
  placeTip() {
    const index = this.plot.highlight;
    if (this.tip.hidden || index < 0 || !this.plot.points) return;
    const [x, y] = this.plot.toScreen(this.plot.points.x[index], this.plot.points.y[index]);
    const frame = this.frame.getBoundingClientRect();
    const [w, h] = [this.tip.offsetWidth, this.tip.offsetHeight];
    const left = x + 14 + w > frame.width ? x - 14 - w : x + 14;
    const top = Math.min(Math.max(0, y - h / 2), Math.max(0, frame.height - h));
    this.tip.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
  }

  open(index) {
    this.viewer.open([{ id: this.plot.points.ids[index] }], 0);
  }
}
