// Failures by code: one <details> per code that, opened, lists its failed files a page at a time.
// The list is kept across the status view's polling: each code's element is updated in place, never rebuilt,
// so an opened list stays open on the page it was on.

import { api } from "./api.js";
import { el, when } from "./format.js";

const PAGE = 20;

class CodeFailures {
  constructor(code) {
    this.code = code;
    this.offset = 0;
    this.ticket = 0; // the latest refresh: an older answer arriving late (a poll racing a page turn) is dropped
    this.count = el("span", { class: "count" });
    this.body = el("div", { class: "failure-files" });
    this.node = el(
      "details",
      { class: "failure-code", "data-code": code },
      el("summary", {}, el("code", { text: code }), " ", this.count),
      this.body,
    );
    this.node.addEventListener("toggle", () => {
      if (this.node.open) this.refresh();
    });
  }

  update(total) {
    this.count.textContent = `${total} ${total === 1 ? "file" : "files"}`;
    if (this.node.open) this.refresh();
  }

  /** The current page of this code's files; a page emptied since (files fixed) steps back to the last one. */
  async refresh() {
    const ticket = ++this.ticket;
    let page;
    try {
      page = await api("/failures", { params: { code: this.code, offset: this.offset, limit: PAGE } });
      if (!page.failures.length && this.offset > 0 && ticket === this.ticket) {
        this.offset = Math.max(0, Math.floor((page.total - 1) / PAGE) * PAGE);
        page = await api("/failures", { params: { code: this.code, offset: this.offset, limit: PAGE } });
      }
    } catch (error) {
      if (ticket !== this.ticket) return;
      this.body.replaceChildren(el("p", { class: "note", text: `Could not list the files: ${error.message}` }));
      return;
    }
    if (ticket !== this.ticket) return;
    const rows = page.failures.map((f) =>
      el(
        "tr",
        { "data-id": f.id },
        el("td", {}, el("code", { text: f.path || "(unknown path)" })),
        el("td", { text: reason(f) }),
        el("td", {}, f.at ? el("time", { datetime: f.at, text: when(f.at) }) : ""),
      ),
    );
    const table = el(
      "table",
      { class: "failure-list" },
      el("caption", { class: "visually-hidden", text: `Files failed with ${this.code}` }),
      el("tr", {}, ...["File", "Message", "When"].map((name) => el("th", { scope: "col", text: name }))),
      ...rows,
    );
    const parts = [table];
    if (page.total > PAGE) {
      const last = Math.min(page.offset + page.failures.length, page.total);
      parts.push(
        el(
          "div",
          { class: "pager" },
          el("button", {
            type: "button",
            text: "Previous",
            disabled: page.offset === 0,
            onclick: () => this.go(this.offset - PAGE),
          }),
          el("span", { class: "note", text: `${page.offset + 1}–${last} of ${page.total}` }),
          el("button", {
            type: "button",
            text: "Next",
            disabled: page.next_offset === null,
            onclick: () => this.go(page.next_offset),
          }),
        ),
      );
    }
    this.body.replaceChildren(...parts);
  }

  go(offset) {
    this.offset = Math.max(0, offset);
    this.refresh();
  }
}

/** The message without the path it usually starts with: the path is in the row already. */
function reason(failure) {
  const message = failure.message || "";
  const prefix = `${failure.path}: `;
  return failure.path && message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

export class FailuresByCode {
  constructor() {
    this.codes = new Map();
    this.list = el("div", { class: "failure-codes" });
    this.none = el("p", { class: "note", text: "No failures." });
    this.node = el("section", { "aria-label": "Failures by code" }, el("h2", { text: "Failures by code" }), this.list, this.none);
  }

  /** Counts from /status: codes that appeared are added, gone ones removed, the rest updated in place. */
  update(counts) {
    for (const [code, item] of this.codes) {
      if (!(code in counts)) {
        item.node.remove();
        this.codes.delete(code);
      }
    }
    for (const [code, total] of Object.entries(counts)) {
      let item = this.codes.get(code);
      if (!item) {
        item = new CodeFailures(code);
        this.codes.set(code, item);
        this.list.append(item.node);
      }
      item.update(total);
    }
    this.none.hidden = this.codes.size > 0;
  }
}
