// Page 2, X-ray judging (officers): the parcel nearest its decision, its X-ray views in the
// image tools, its declaration and weights, a countdown (red only in its last second); a
// strip of every undecided parcel whose views are in, in belt order, each one flaggable
// ahead of its turn; F flags the parcel that was on screen when the key went down; a
// visible change between parcels; a note when a parcel goes to exception or inspection
// anyway. Full screen (the viewer's ⛶) keeps the waybill and F. Data: GET
// /api/judging?line=ID (on `line`/`parcel` events and every second). The strip, the full
// screen and the flags are in judging-{strip,fullscreen,flag}.js.
import { get, qs } from "../api.js";
import { beijing, num, t } from "../i18n.js";
import * as live from "../live.js";
import { fill, h, pill, reasonsText, unavailable } from "../dom.js";
import { declarationBlock } from "../declaration.js";
import { hasRole } from "../session.js";
import { XrayViewer } from "../xray-viewer.js";
import { fateNote, weightOff } from "../fate.js";
import { flaggedParcelMoved, flagging, flagged, flagParcel, form, initFlags, renderFlags } from "./judging-flag.js";
import { initFullscreen, openFullscreen, renderFullscreen } from "./judging-fullscreen.js";
import { renderStrip, tickStrip } from "./judging-strip.js";

const root = () => document.getElementById("page-judging");
const strip = () => root().querySelector(".strip");
let lineId = localStorage.getItem("judging-line") || "";
let data = null; // last /api/judging answer
let deadline = null; // performance.now() at which the current parcel's decision is due
let shownId = null; // parcel id the main view shows
let shownKey = null; // what of it is drawn (views, flag, declaration)
let inFlight = false;
let again = false;
let lastRefresh = 0;
let soonTimer = null;
let timer = null;
let ticker = null;
let error = null;
let viewer = null; // the main view's image tools
let viewIndex = 0; // which of the current parcel's views is large
const sentAt = new Map(); // parcel id -> performance.now() of its deadline, for the strip

function active() {
  return !root().hidden;
}

/** Refresh now, or at most twice a second when the live events come thick. */
function refreshSoon() {
  const wait = 500 - (performance.now() - lastRefresh);
  if (wait <= 0) refresh();
  else if (!soonTimer) soonTimer = setTimeout(() => { soonTimer = null; refresh(); }, wait);
}

async function refresh() {
  if (!active()) return;
  if (inFlight) {
    again = true;
    return;
  }
  inFlight = true;
  lastRefresh = performance.now();
  const sent = performance.now();
  try {
    const answer = await get(`/api/judging${qs({ line: lineId })}`);
    const latency = (performance.now() - sent) / 2;
    error = null;
    data = answer;
    const p = answer.parcel;
    const base = sent + latency;
    deadline = p && p.deadline_in_ms != null ? base + p.deadline_in_ms : null;
    sentAt.clear();
    if (p && p.deadline_in_ms != null) sentAt.set(p.id, deadline);
    for (const w of answer.waiting || []) if (w.deadline_in_ms != null) sentAt.set(w.parcel_id, base + w.deadline_in_ms);
    render();
  } catch (err) {
    error = err;
    renderError();
  } finally {
    inFlight = false;
    if (again) {
      again = false;
      refresh();
    }
  }
}

async function loadLines() {
  const select = document.getElementById("judging-line");
  try {
    const lines = await get("/api/lines");
    const ids = lines.map((l) => l.line_id);
    if (!ids.includes(lineId)) lineId = ids[0] || "";
    fill(select, ids.map((id) => h("option", { value: id, selected: id === lineId }, t("line_name", id))));
  } catch {
    // /api/judging picks the first line itself.
  }
}

// ---- rendering ----

function renderError() {
  const body = root().querySelector(".judging-body");
  shownId = null;
  shownKey = null;
  fill(body, unavailable(error, t("nav_judging")));
  form().hidden = true;
}

function weightFacts(p) {
  const declared = p.declared_weight_kg, measured = p.measured_weight_kg;
  let diff = "—";
  const bad = (p.reasons || []).some((r) => r.startsWith("weight_out_of_tolerance")) || weightOff(declared, measured);
  if (declared != null && measured != null) {
    const d = measured - declared;
    const rel = declared ? (100 * d) / declared : null;
    diff = `${d >= 0 ? "+" : ""}${num(d, 3)} kg${rel != null ? ` (${rel >= 0 ? "+" : ""}${num(rel, 1)} %)` : ""}`;
  }
  return h("div", { className: "weights" },
    h("div", {}, h("small", {}, t("declared_weight")), h("b", {}, declared != null ? `${num(declared, 3)} kg` : "—")),
    h("div", {}, h("small", {}, t("measured_weight")), h("b", {}, measured != null ? `${num(measured, 3)} kg` : "—")),
    h("div", { className: bad ? "bad" : "" }, h("small", {}, t("weight_difference")), h("b", {}, diff)));
}

function viewsBlock(p) {
  const list = p.xray_views || [];
  if (!list.length) return h("div", { className: "views empty" }, h("p", {}, t("xray_waiting")));
  viewIndex = Math.min(viewIndex, list.length - 1);
  if (!viewer) viewer = new XrayViewer({ onFullscreen: () => openFullscreen(data && data.parcel, viewIndex) });
  viewer.setImage(`/api/evidence/${list[viewIndex]}`);
  // Hidden images keep the views' files in the page (and say how many there are).
  const pick = h("div", { className: "view-pick" }, list.map((sha, i) => h("button", {
    type: "button", className: `view${i === viewIndex ? " on" : ""}`, "aria-label": t("xray_view_n", i + 1),
    onclick: () => { viewIndex = i; shownKey = null; render(); },
  }, h("img", { src: `/api/evidence/${sha}/thumb`, alt: t("xray_view_n", i + 1) }), h("span", {}, t("xray_view_n", i + 1)))));
  return h("div", { className: "views" }, viewer.element, pick);
}

function current(p) {
  const note = fateNote(p.logistics_no, p.declaration ? p.declaration.return_status : null, Boolean(p.declaration),
    p.declared_weight_kg, p.measured_weight_kg);
  return h("div", { className: "current card", dataset: { parcelId: p.id } },
    viewsBlock(p),
    h("div", { className: "side" },
      h("div", { className: "countdown", role: "timer", "aria-live": "off" }, h("b"), h("small", {}, t("until_decision"))),
      h("div", { className: "ident" },
        h("div", {}, h("small", {}, t("col_waybill")), h("b", { className: "mono" }, p.logistics_no || t("waybill_pending"))),
        h("div", {}, h("small", {}, t("col_tracking")), h("b", {}, p.tracking_no)),
        h("div", {}, h("small", {}, t("entered_at")), h("b", {}, beijing(p.entered_at, "time"))),
        p.flagged ? pill("warn", t("already_flagged")) : null),
      note ? h("p", { className: "fate-note", role: "note" }, note) : null,
      weightFacts(p),
      p.logistics_no || p.declaration ? declarationBlock(p.declaration) : h("p", { className: "hint" }, t("declaration_needs_waybill")),
      p.reasons && p.reasons.length ? h("p", { className: "hint" }, t("reasons_so_far"), " ", reasonsText(p.reasons)) : null));
}

function render() {
  const body = root().querySelector(".judging-body");
  const p = data && data.parcel;
  const officer = hasRole("officer");
  root().querySelector(".readonly-note").hidden = officer;
  if (!p) {
    if (shownId !== null || shownKey !== "none") {
      shownId = null;
      shownKey = "none";
      fill(body, h("div", { className: "current-empty card" }, h("p", { className: "big-hint" }, t("judging_none"))));
    }
    form().hidden = true;
  } else {
    const key = `${p.id}:${p.flagged}:${(p.xray_views || []).length}:${p.declaration ? 1 : 0}:${viewIndex}`;
    if (shownKey !== key) {
      const switched = shownId !== p.id;
      if (switched) viewIndex = 0;
      shownKey = `${p.id}:${p.flagged}:${(p.xray_views || []).length}:${p.declaration ? 1 : 0}:${viewIndex}`;
      shownId = p.id;
      const keepFocus = form().contains(document.activeElement) ? document.activeElement : null;
      fill(body, current(p));
      const card = body.querySelector(".current");
      // A visible change between parcels: the new one slides in with a flash.
      if (switched) card.classList.add("switched");
      if (officer) {
        // The flag form right under the countdown and the waybill: above the fold at 720 px.
        body.querySelector(".side .ident").after(form());
        form().hidden = false;
        if (keepFocus) keepFocus.focus();
      }
      if (viewer) viewer.draw();
    }
    form().hidden = !officer;
    form().querySelector("#flag").disabled = Boolean(p.flagged) || flagging.has(p.id);
  }
  renderStrip(strip(), data, sentAt);
  renderFullscreen(p, viewIndex);
  tick();
}

function tick() {
  tickStrip(strip(), sentAt);
  const boxes = [root().querySelector(".countdown"), document.querySelector("#xray-dialog .countdown")];
  for (const box of boxes) {
    if (!box) continue;
    const b = box.querySelector("b");
    if (deadline == null) {
      b.textContent = "—";
      box.className = "countdown stopped";
      box.querySelector("small").textContent = t("deadline_none");
      continue;
    }
    const left = Math.max(0, deadline - performance.now());
    b.textContent = `${(left / 1000).toFixed(1)} s`;
    // Red only in the last second.
    box.className = `countdown${left < 1000 ? " urgent" : ""}${left === 0 ? " over" : ""}`;
    box.querySelector("small").textContent = t("until_decision");
  }
}

/** The waybill the belt knows for parcel `id` (the store has it once decided). */
function codeOf(id) {
  const p = data && data.parcel;
  if (p && p.id === id) return p.logistics_no;
  const w = ((data && data.waiting) || []).find((x) => x.parcel_id === id);
  return w ? w.code : null;
}

function onParcel(p) {
  if (flaggedParcelMoved(p) && active()) renderFlags();
  if (active()) refreshSoon();
}

export default {
  init() {
    const f = document.getElementById("flag-form");
    initFlags(f, { render, refresh, codeOf });
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      flagParcel(shownId);
    });
    document.getElementById("judging-line").addEventListener("change", (ev) => {
      lineId = ev.target.value;
      localStorage.setItem("judging-line", lineId);
      shownId = null;
      shownKey = null;
      refresh();
    });
    initFullscreen();
    live.on("line", (belt) => { if (active() && (!lineId || belt.line_id === lineId)) refreshSoon(); });
    live.on("parcel", onParcel);
  },
  show() {
    shownId = null;
    shownKey = null;
    delete strip().dataset.key;
    loadLines().then(refresh);
    clearInterval(timer);
    clearInterval(ticker);
    timer = setInterval(refresh, 1000);
    ticker = setInterval(tick, 100);
  },
  hide() {
    clearInterval(timer);
    clearInterval(ticker);
  },
  /** F flags the parcel on screen when the key goes down (officers); the viewer's keys. */
  key(ev) {
    if (ev.key === "f" || ev.key === "F") {
      // Read off the page, not off the latest answer: what the officer saw.
      const shown = root().querySelector(".current[data-parcel-id]");
      if (!hasRole("officer") || !shown) return false;
      flagParcel(Number(shown.dataset.parcelId));
      return true;
    }
    return Boolean(viewer && viewer.canvas.isConnected && viewer.key(ev));
  },
  language() {
    shownId = null;
    shownKey = null;
    delete strip().dataset.key;
    if (viewer) {
      viewer.dispose();
      viewer = null;
    }
    if (flagged.size) renderFlags();
  },
};
