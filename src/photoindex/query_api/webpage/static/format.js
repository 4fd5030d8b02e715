// How numbers, dates and exposure read on the page.

export function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 && unit ? 1 : 0)} ${units[unit]}`;
}

export function when(iso) {
  if (!iso) return "";
  // A photo's time is the wall clock where it was taken: drop the offset rather than convert it to this
  // browser's zone, and read a bare date as that day (new Date("2023-05-14") would be UTC midnight).
  const day = /^(\d{4})-(\d\d)-(\d\d)$/.exec(iso);
  if (day) return new Date(+day[1], +day[2] - 1, +day[3]).toLocaleDateString(undefined, { dateStyle: "medium" });
  const date = new Date(iso.replace(/(Z|[+-]\d\d:?\d\d)$/, ""));
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** "June 2021" for a taken_at; the key groups a timeline by month. */
export function monthOf(iso) {
  if (!iso || iso.length < 7) return { key: "unknown", label: "Date unknown" };
  const year = Number(iso.slice(0, 4));
  const month = Number(iso.slice(5, 7));
  const label = new Date(year, month - 1, 1).toLocaleString(undefined, { month: "long", year: "numeric" });
  return { key: iso.slice(0, 7), label };
}

export function exposure(info) {
  const parts = [];
  if (info.exposure_time) {
    const t = info.exposure_time;
    parts.push(t >= 1 ? `${t} s` : `1/${Math.round(1 / t)} s`);
  }
  if (info.f_number) parts.push(`f/${info.f_number}`);
  if (info.iso) parts.push(`ISO ${info.iso}`);
  if (info.focal_length) parts.push(`${info.focal_length} mm`);
  return parts.join(" · ");
}

export function dims(w, h) {
  return w && h ? `${w} × ${h}` : "";
}

/** An element with text and attributes; children appended in order. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}
