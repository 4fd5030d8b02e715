// The map's drawing surface: dots written straight into one ImageData per frame, a pan/zoom transform, and a
// uniform grid over the map's [0, 1] square so finding the dot under the pointer reads a few cells, not every point.

const MIN_ZOOM = 0.5;
const MAX_ZOOM = 4000; // a million points still separate at the deepest zoom
const FILL = 0.92; // the whole map covers this share of the shorter side at zoom 1
const PALETTE = 8; // --map-dot-0 … --map-dot-7 in style.css, light and dark

/** Points as parallel typed columns plus a grid index built once (CSR: cell starts, then point indices). */
export class MapPoints {
  constructor(ids, xs, ys, clusters) {
    const n = ids.length;
    this.ids = ids;
    this.x = Float32Array.from(xs);
    this.y = Float32Array.from(ys);
    this.colour = Uint8Array.from(clusters, (c) => ((c % PALETTE) + PALETTE) % PALETTE);
    this.size = n;
    this.cells = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n / 2))));
    const g = this.cells;
    const cellOf = new Int32Array(n);
    this.start = new Int32Array(g * g + 1);
    for (let i = 0; i < n; i++) {
      const c = this.cell(this.y[i]) * g + this.cell(this.x[i]);
      cellOf[i] = c;
      this.start[c + 1] += 1;
    }
    for (let c = 0; c < g * g; c++) this.start[c + 1] += this.start[c];
    const next = this.start.slice(0, g * g);
    this.members = new Int32Array(n);
    for (let i = 0; i < n; i++) this.members[next[cellOf[i]]++] = i;
  }

  cell(v) {
    return Math.min(this.cells - 1, Math.max(0, Math.floor(v * this.cells)));
  }

  /** The index of the point nearest (x, y) within `r` (map units), or -1. */
  nearest(x, y, r) {
    const g = this.cells;
    const [x0, x1, y0, y1] = [this.cell(x - r), this.cell(x + r), this.cell(y - r), this.cell(y + r)];
    let best = -1;
    let bestD = r * r;
    for (let cy = y0; cy <= y1; cy++) {
      for (let cx = x0; cx <= x1; cx++) {
        const c = cy * g + cx;
        for (let k = this.start[c]; k < this.start[c + 1]; k++) {
          const i = this.members[k];
          const dx = this.x[i] - x;
          const dy = this.y[i] - y;
          const d = dx * dx + dy * dy;
          if (d <= bestD) {
            bestD = d;
            best = i;
          }
        }
      }
    }
    return best;
  }
}

/** "#rrggbb" as a little-endian RGBA pixel (what a Uint32Array over ImageData holds). */
function pixel(hex) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim());
  if (!m) return 0xff808080;
  const [r, g, b] = [1, 2, 3].map((i) => parseInt(m[i], 16));
  return ((0xff << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

export class MapPlot {
  /** `onFrame(drawn)` runs after each frame with the number of dots drawn. */
  constructor(canvas, { onFrame } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onFrame = onFrame || (() => {});
    this.points = null;
    this.view = { cx: 0.5, cy: 0.5, k: 1 };
    this.highlight = -1;
    this.crosshair = false;
    this.frame = 0;
    this.image = null;
    this.readColours();
    // The palette follows the system's light or dark scheme.
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      this.readColours();
      this.redraw();
    });
    new ResizeObserver(() => this.redraw()).observe(canvas);
  }

  readColours() {
    const style = getComputedStyle(this.canvas);
    this.colours = Uint32Array.from({ length: PALETTE }, (_, i) => pixel(style.getPropertyValue(`--map-dot-${i}`)));
    this.ring = style.getPropertyValue("--fg").trim() || "#000";
  }

  setPoints(points) {
    this.points = points;
    this.highlight = -1;
    this.redraw();
  }

  get dpr() {
    return window.devicePixelRatio || 1;
  }

  /** Device pixels per map unit. */
  get scale() {
    return Math.min(this.canvas.width, this.canvas.height) * FILL * this.view.k;
  }

  /** A map position in CSS pixels from the canvas's top left. */
  toScreen(x, y) {
    const s = this.scale;
    return [
      (this.canvas.width / 2 + (x - this.view.cx) * s) / this.dpr,
      (this.canvas.height / 2 - (y - this.view.cy) * s) / this.dpr,
    ];
  }

  /** A point in CSS pixels from the canvas's top left, in map units. */
  toMap(px, py) {
    const s = this.scale;
    return [
      this.view.cx + (px * this.dpr - this.canvas.width / 2) / s,
      this.view.cy - (py * this.dpr - this.canvas.height / 2) / s,
    ];
  }

  /** The point within `radius` CSS pixels of (px, py), or -1. */
  hit(px, py, radius) {
    if (!this.points || !this.canvas.width) return -1;
    const [x, y] = this.toMap(px, py);
    return this.points.nearest(x, y, (radius * this.dpr) / this.scale);
  }

  /** Zoom by `factor` keeping the map position under (px, py) CSS pixels in place (the centre by default). */
  zoom(factor, px, py) {
    const rect = this.canvas.getBoundingClientRect();
    const [ax, ay] = [px ?? rect.width / 2, py ?? rect.height / 2];
    const [x, y] = this.toMap(ax, ay);
    this.view.k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.view.k * factor));
    const s = this.scale;
    this.view.cx = x - (ax * this.dpr - this.canvas.width / 2) / s;
    this.view.cy = y + (ay * this.dpr - this.canvas.height / 2) / s;
    this.redraw();
  }

  /** Move the map by (dx, dy) CSS pixels, as a drag does. */
  pan(dx, dy) {
    const s = this.scale;
    this.view.cx -= (dx * this.dpr) / s;
    this.view.cy += (dy * this.dpr) / s;
    this.redraw();
  }

  reset() {
    this.view = { cx: 0.5, cy: 0.5, k: 1 };
    this.redraw();
  }

  /** Ask for a frame; several requests before it comes draw once. */
  redraw() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  /** A dot's side in device pixels: larger for a small library and when zoomed in. */
  dotSize() {
    const n = this.points ? this.points.size : 0;
    const base = n < 2000 ? 6 : n < 100000 ? 3 : 2;
    return Math.round(Math.min(14, base + Math.max(0, Math.log2(this.view.k))) * this.dpr);
  }

  draw() {
    this.frame = 0;
    const canvas = this.canvas;
    const width = Math.round(canvas.clientWidth * this.dpr);
    const height = Math.round(canvas.clientHeight * this.dpr);
    if (!width || !height) return; // hidden: drawn again when shown (the resize observer)
    if (canvas.width !== width || canvas.height !== height || !this.image) {
      canvas.width = width;
      canvas.height = height;
      this.image = this.ctx.createImageData(width, height);
    }
    const pixels = new Uint32Array(this.image.data.buffer);
    pixels.fill(0); // transparent: the frame's background shows through
    let drawn = 0;
    const points = this.points;
    if (points) {
      const size = this.dotSize();
      const half = size / 2;
      const s = this.scale;
      const ox = width / 2 - this.view.cx * s - half;
      const oy = height / 2 + this.view.cy * s - half;
      const { x, y, colour } = points;
      const colours = this.colours;
      // One pass, no canvas calls: each dot is a size×size block of one colour, clipped to the canvas.
      for (let i = 0; i < points.size; i++) {
        const left = Math.floor(ox + x[i] * s + 0.5);
        const top = Math.floor(oy - y[i] * s + 0.5);
        if (left >= width || top >= height || left + size <= 0 || top + size <= 0) continue;
        const c = colours[colour[i]];
        const x0 = left < 0 ? 0 : left;
        const x1 = left + size > width ? width : left + size;
        const y1 = top + size > height ? height : top + size;
        for (let row = top < 0 ? 0 : top; row < y1; row++) {
          const end = row * width + x1;
          for (let p = row * width + x0; p < end; p++) pixels[p] = c;
        }
        drawn += 1;
      }
    }
    this.ctx.putImageData(this.image, 0, 0);
    const ctx = this.ctx;
    ctx.strokeStyle = this.ring;
    ctx.lineWidth = 2 * this.dpr;
    if (this.crosshair) {
      const [cx, cy, arm] = [width / 2, height / 2, 10 * this.dpr];
      ctx.beginPath();
      ctx.moveTo(cx - arm, cy);
      ctx.lineTo(cx + arm, cy);
      ctx.moveTo(cx, cy - arm);
      ctx.lineTo(cx, cy + arm);
      ctx.stroke();
    }
    if (points && this.highlight >= 0) {
      const [hx, hy] = this.toScreen(points.x[this.highlight], points.y[this.highlight]);
      const r = this.dotSize() / 2 + 4 * this.dpr;
      ctx.strokeRect(hx * this.dpr - r, hy * this.dpr - r, 2 * r, 2 * r);
    }
    this.onFrame(drawn);
  }
}
