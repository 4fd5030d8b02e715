// The page's entry point: one view at a time by the URL's hash; an image dropped anywhere searches by it.

import { Duplicates } from "./duplicates.js";
import { Folders } from "./folders.js";
import { MapView } from "./map.js";
import { Search } from "./search.js";
import { Status } from "./status.js";
import { Timeline } from "./timeline.js";
import { Uploads } from "./uploads.js";
import { Viewer } from "./viewer.js";

const VIEWS = ["search", "timeline", "map", "duplicates", "folders", "status"];

/** Ask a yes/no question in the confirm dialog; resolves true for yes. */
function confirmer(dialog) {
  return (text) => {
    dialog.querySelector("#confirm-text").textContent = text;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  };
}

const viewer = new Viewer(document.getElementById("viewer"));
const views = {
  search: new Search(document.getElementById("view-search"), viewer),
  timeline: new Timeline(document.getElementById("view-timeline"), viewer),
  map: new MapView(document.getElementById("view-map"), viewer),
  duplicates: new Duplicates(document.getElementById("view-duplicates"), confirmer(document.getElementById("confirm"))),
  folders: new Folders(document.getElementById("view-folders"), document.getElementById("unwatch")),
  status: new Status(document.getElementById("view-status")),
};
new Uploads(document.getElementById("view-folders"), document.getElementById("drop-zone"));
const loaded = new Set();

function show() {
  const name = VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "search";
  for (const view of VIEWS) document.getElementById(`view-${view}`).hidden = view !== name;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (name === "status") views.status.start();
  else views.status.stop();
  if (name === "map") views.map.start();
  else views.map.stop();
  if (name === "folders") views.folders.load();
  if (!loaded.has(name)) {
    loaded.add(name);
    if (name === "timeline") views.timeline.load();
    if (name === "duplicates") views.duplicates.load();
  }
  if (name === "search") document.getElementById("q").focus();
}

window.addEventListener("hashchange", show);
show();

// Drop an image anywhere: search by it.
const dropZone = document.getElementById("drop-zone");
const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
document.addEventListener("dragover", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dropZone.hidden = false;
});
document.addEventListener("dragleave", (event) => {
  if (event.relatedTarget === null) dropZone.hidden = true;
});
document.addEventListener("drop", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dropZone.hidden = true;
  const file = [...event.dataTransfer.files].find((f) => f.type.startsWith("image/")) || event.dataTransfer.files[0];
  if (!file) return;
  if (location.hash !== "#search") location.hash = "#search";
  views.search.byImage(file);
});
