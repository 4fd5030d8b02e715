// Live status: the index's counts, the model, and (with a daemon) its queue, rate and watchers; failures by code.

import { api } from "./api.js";
import { el } from "./format.js";

const EVERY_MS = 2000;

export class Status {
  constructor(root) {
    this.box = root.querySelector("#status");
    this.time = root.querySelector("#status-time");
    this.timer = 0;
  }

  start() {
    this.stop();
    const tick = async () => {
      await this.refresh();
      this.timer = setTimeout(tick, EVERY_MS);
    };
    tick();
  }

  stop() {
    clearTimeout(this.timer);
  }

  async refresh() {
    let status;
    try {
      status = await api("/status");
    } catch (error) {
      this.box.replaceChildren(el("p", { class: "note", text: `The daemon does not answer: ${error.message}` }));
      return;
    }
    const d = status.daemon;
    const rows = [
      ["Indexed", status.photos.indexed],
      ["Waiting for an embedding", status.photos.pending],
      ["Failed", status.photos.failed],
      ["Model", status.models.embedder + (status.models.error ? ` (${status.models.error})` : "")],
    ];
    if (d) {
      rows.push(
        ["Daemon", `${d.state}, ${d.health}`],
        ["Queue", `${d.queue.queued} queued · ${d.queue.settling} settling · ${d.queue.rescans} scans waiting`],
        ["Rate", `${d.rate_per_second.toFixed(1)} files/s` + (d.eta_seconds ? ` · about ${Math.ceil(d.eta_seconds)} s left` : "")],
      );
    } else {
      rows.push(["Daemon", "no indexer in this process"]);
    }
    const list = el("dl", { class: "meta" });
    for (const [name, value] of rows) list.append(el("dt", { text: name }), el("dd", { text: String(value) }));
    const codes = Object.entries(status.failures_by_code);
    const failures = codes.length
      ? el("table", {}, el("caption", { text: "Failures by code" }),
          el("tr", {}, el("th", { scope: "col", text: "Code" }), el("th", { scope: "col", text: "Files" })),
          ...codes.map(([code, n]) => el("tr", {}, el("td", {}, el("code", { text: code })), el("td", { text: String(n) }))))
      : el("p", { class: "note", text: "No failures." });
    const problems = d && d.problems.length ? el("ul", { class: "problems" }, ...d.problems.map((p) => el("li", { text: `${p.where}: ${p.reason} — ${p.fix}` }))) : null;
    this.box.replaceChildren(list, failures, ...(problems ? [problems] : []));
    this.time.textContent = new Date().toLocaleTimeString();
  }
}
