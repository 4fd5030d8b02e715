// Live status: the index's counts, the model, and (with a daemon) its queue, rate and watchers; failures by
// code with their files; what the server runs on. Each part is updated in place, so nothing flickers and an
// opened list of failed files stays open while the view polls.

import { api } from "./api.js";
import { FailuresByCode } from "./failures.js";
import { el } from "./format.js";

const EVERY_MS = 2000;

export class Status {
  constructor(root) {
    this.box = root.querySelector("#status");
    this.time = root.querySelector("#status-time");
    this.timer = 0;
    this.summary = el("div");
    this.failures = new FailuresByCode();
    this.problems = el("div");
    this.capabilities = el("dl", { class: "meta" });
    this.box.replaceChildren(
      el("div", { class: "status-top" },
        this.summary,
        el("section", { "aria-label": "Capabilities" }, el("h2", { text: "Capabilities" }), this.capabilities)),
      this.problems,
      this.failures.node,
    );
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
      this.summary.replaceChildren(el("p", { class: "note", text: `The daemon does not answer: ${error.message}` }));
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
    this.summary.replaceChildren(el("dl", { class: "meta" }, ...definitions(rows)));
    this.failures.update(status.failures_by_code);
    this.problems.replaceChildren(
      ...(d && d.problems.length ? [el("ul", { class: "problems" }, ...d.problems.map((p) => el("li", { text: `${p.where}: ${p.reason} — ${p.fix}` })))] : []),
    );
    await this.refreshCapabilities();
    this.time.textContent = new Date().toLocaleTimeString();
  }

  /** Device, models and batch size: the device is known once the model has loaded, so it is asked again. */
  async refreshCapabilities() {
    let caps;
    try {
      caps = await api("/capabilities");
    } catch (error) {
      this.capabilities.replaceChildren(el("dt", { text: "Unknown" }), el("dd", { text: error.message }));
      return;
    }
    const m = caps.models;
    const captioner = m.captions === "off" ? "off" : `${m.caption_model || m.captions} (${m.captions})`;
    this.capabilities.replaceChildren(
      ...definitions([
        ["Device", caps.device],
        ["CLIP model", `${m.model_id} · ${m.dim} dimensions · ${m.image_size} px` + (m.random_weights ? " · random weights" : "")],
        ["Captioner", captioner],
        ["Backend", caps.store === "server" ? "Qdrant server" : "embedded store"],
        ["Batch size", caps.batch_size],
        ["Version", `${caps.version} (API ${caps.api_version})`],
      ]),
    );
  }
}

/** A <dl>'s terms and definitions for [name, value] rows. */
function definitions(rows) {
  return rows.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { text: String(value) })]);
}
