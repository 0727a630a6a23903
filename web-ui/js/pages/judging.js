// Page 2, X-ray judging (officers): the parcel to judge now, its X-ray views large, its
// declaration and weights, a countdown to its decision deadline, and one key (F) to flag it
// for inspection. Data: GET /api/judging?line=ID, refreshed on each `line`/`parcel` event
// and every second; POST /api/parcels/{id}/flag {reason}.
import { get, post, qs } from "../api.js";
import { beijing, num, t } from "../i18n.js";
import * as live from "../live.js";
import { fill, h, lanePill, pill, reasonsText, showImage, unavailable } from "../dom.js";
import { declarationBlock } from "../declaration.js";
import { hasRole } from "../session.js";

const root = () => document.getElementById("page-judging");
// The flag form moves into the current parcel's card, so it is kept by reference.
let flagForm = null;
const form = () => flagForm;
let lineId = localStorage.getItem("judging-line") || "";
let data = null; // last /api/judging answer
let deadline = null; // performance.now() at which the current parcel's decision is due
let shownId = null; // parcel id the DOM shows
let inFlight = false;
let again = false;
let timer = null;
let ticker = null;
let error = null;
const flagged = new Map(); // parcel id -> flag answer, for the confirmations

function active() {
  return !root().hidden;
}

async function refresh() {
  if (!active()) return;
  if (inFlight) {
    again = true;
    return;
  }
  inFlight = true;
  const sent = performance.now();
  try {
    const answer = await get(`/api/judging${qs({ line: lineId })}`);
    const latency = (performance.now() - sent) / 2;
    error = null;
    data = answer;
    const p = answer.parcel;
    deadline = p && p.deadline_in_ms != null ? sent + latency + p.deadline_in_ms : null;
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
  fill(body, unavailable(error, t("nav_judging")));
  form().hidden = true;
}

function weightFacts(p) {
  const declared = p.declared_weight_kg, measured = p.measured_weight_kg;
  let diff = "—";
  let bad = (p.reasons || []).some((r) => r.startsWith("weight_out_of_tolerance"));
  if (declared != null && measured != null) {
    const d = measured - declared;
    const rel = declared ? (100 * d) / declared : null;
    diff = `${d >= 0 ? "+" : ""}${num(d, 3)} kg${rel != null ? ` (${rel >= 0 ? "+" : ""}${num(rel, 1)} %)` : ""}`;
    bad = bad || (rel != null && Math.abs(rel) > 5);
  }
  return h("div", { className: "weights" },
    h("div", {}, h("small", {}, t("declared_weight")), h("b", {}, declared != null ? `${num(declared, 3)} kg` : "—")),
    h("div", {}, h("small", {}, t("measured_weight")), h("b", {}, measured != null ? `${num(measured, 3)} kg` : "—")),
    h("div", { className: bad ? "bad" : "" }, h("small", {}, t("weight_difference")), h("b", {}, diff)));
}

function views(p) {
  if (!p.xray_views || !p.xray_views.length) return h("div", { className: "views empty" }, h("p", {}, t("xray_waiting")));
  return h("div", { className: `views n${Math.min(p.xray_views.length, 4)}` }, p.xray_views.map((sha, i) => {
    const caption = t("xray_view_n", i + 1);
    return h("button", { type: "button", className: "view", "aria-label": caption, onclick: () => showImage(`/api/evidence/${sha}`, caption) },
      h("img", { src: `/api/evidence/${sha}`, alt: caption }), h("span", {}, caption));
  }));
}

function current(p) {
  return h("div", { className: "current card", dataset: { parcelId: p.id } },
    views(p),
    h("div", { className: "side" },
      h("div", { className: "countdown", role: "timer", "aria-live": "off" }, h("b"), h("small", {}, t("until_decision"))),
      h("div", { className: "ident" },
        h("div", {}, h("small", {}, t("col_waybill")), h("b", { className: "mono" }, p.logistics_no || t("waybill_pending"))),
        h("div", {}, h("small", {}, t("col_tracking")), h("b", {}, p.tracking_no)),
        h("div", {}, h("small", {}, t("entered_at")), h("b", {}, beijing(p.entered_at, "time"))),
        p.flagged ? pill("warn", t("already_flagged")) : null),
      weightFacts(p),
      p.logistics_no || p.declaration ? declarationBlock(p.declaration) : h("p", { className: "hint" }, t("declaration_needs_waybill")),
      p.reasons && p.reasons.length ? h("p", { className: "hint" }, t("reasons_so_far"), " ", reasonsText(p.reasons)) : null));
}

/** The queue behind the current parcel; rebuilt only when its parcels change, so that
 * a focused link keeps the focus while the times tick. */
function waiting() {
  const list = data && data.waiting ? data.waiting : [];
  const box = root().querySelector(".waiting");
  const ids = list.map((w) => w.parcel_id).join(",");
  if (box.dataset.ids !== ids) {
    box.dataset.ids = ids;
    fill(box, list.length ? [h("h3"), h("ol", { className: "queue" }, list.map((w) =>
      h("li", { dataset: { parcelId: w.parcel_id } }, h("a", { href: `#/parcels/${w.parcel_id}` }, `#${w.parcel_id}`), " ",
        h("span", { className: "num" }), h("small")))) ] : []);
  }
  if (!list.length) return;
  box.querySelector("h3").textContent = t("waiting_parcels", list.length);
  list.forEach((w, i) => {
    const li = box.querySelectorAll("li")[i];
    li.querySelector(".num").textContent = w.deadline_in_ms != null ? `${(w.deadline_in_ms / 1000).toFixed(1)} s` : "—";
    li.querySelector("small").textContent = w.xray_views != null ? ` · ${t("xray_views_n", w.xray_views)}` : "";
  });
}

function render() {
  const body = root().querySelector(".judging-body");
  const p = data && data.parcel;
  const officer = hasRole("officer");
  root().querySelector(".readonly-note").hidden = officer;
  if (!p) {
    shownId = null;
    fill(body, h("div", { className: "current-empty card" }, h("p", { className: "big-hint" }, t("judging_none"))));
    form().hidden = true;
  } else {
    const key = `${p.id}:${p.flagged}:${(p.xray_views || []).length}:${p.declaration ? 1 : 0}`;
    if (shownId !== key) {
      shownId = key;
      const keepFocus = form().contains(document.activeElement) ? document.activeElement : null;
      fill(body, current(p));
      if (officer) {
        body.querySelector(".side").append(form());
        form().hidden = false;
        if (keepFocus) keepFocus.focus();
      }
    }
    form().hidden = !officer;
    form().querySelector("#flag").disabled = Boolean(p.flagged);
  }
  waiting();
  tick();
}

function tick() {
  const box = root().querySelector(".countdown");
  if (!box) return;
  const b = box.querySelector("b");
  if (deadline == null) {
    b.textContent = "—";
    box.className = "countdown stopped";
    box.querySelector("small").textContent = t("deadline_none");
    return;
  }
  const left = Math.max(0, deadline - performance.now());
  b.textContent = `${(left / 1000).toFixed(1)} s`;
  box.className = `countdown${left < 3000 ? " urgent" : ""}${left === 0 ? " over" : ""}`;
  box.querySelector("small").textContent = t("until_decision");
}

// ---- flagging ----

function reasonValue() {
  const f = form();
  const choice = f.reason.value;
  if (choice === "other") return f.other.value.trim();
  return presetText(choice);
}

/** Preset reasons are recorded in Chinese, the site's language, whatever the console shows. */
function presetText(choice) {
  return { image_suspicious: "图像可疑", suspected_prohibited: "疑似违禁品", goods_mismatch: "品名与图像不符", weight_mismatch: "重量不符" }[choice] || choice;
}

function confirmation(id) {
  const f = flagged.get(id);
  const p = f.parcel;
  const outcome = p && p.lane_kind ? [t("flag_result_lane"), " ", lanePill(p.lane_kind, p.lane)] : [t("flag_result_pending")];
  return h("div", { className: "flagged", dataset: { parcelId: id }, role: "status" },
    h("b", {}, "✔ ", t("flag_done", f.answer.logistics_no || `#${id}`)),
    h("span", {}, t("flag_by", f.answer.by, f.answer.flag_id)), h("span", {}, ...outcome));
}

function renderFlags() {
  const box = form().querySelector(".flag-result");
  const ids = [...flagged.keys()].slice(-3).reverse();
  fill(box, ids.map(confirmation));
}

async function flag() {
  const p = data && data.parcel;
  const f = form();
  const box = f.querySelector(".flag-result");
  if (!p || !hasRole("officer")) return;
  const reason = reasonValue();
  if (reason.length < 2) {
    f.other.focus();
    fill(box, h("p", { className: "error" }, t("flag_reason_needed")));
    return;
  }
  const button = f.querySelector("#flag");
  button.disabled = true;
  try {
    const answer = await post(`/api/parcels/${p.id}/flag`, { reason });
    flagged.set(p.id, { answer, parcel: null });
    renderFlags();
    refresh();
  } catch (err) {
    fill(box, h("p", { className: "error" }, t("flag_failed", err.message)));
    button.disabled = false;
  }
}

function onParcel(p) {
  if (flagged.has(p.id)) {
    flagged.get(p.id).parcel = p;
    if (active()) renderFlags();
  }
  if (active()) refresh();
}

export default {
  init() {
    flagForm = document.getElementById("flag-form");
    const f = form();
    f.addEventListener("submit", (ev) => { ev.preventDefault(); flag(); });
    f.reason.addEventListener("change", () => {
      const other = f.reason.value === "other";
      f.querySelector(".other-reason").hidden = !other;
      if (other) f.other.focus();
    });
    document.getElementById("judging-line").addEventListener("change", (ev) => {
      lineId = ev.target.value;
      localStorage.setItem("judging-line", lineId);
      shownId = null;
      refresh();
    });
    live.on("line", (belt) => { if (active() && (!lineId || belt.line_id === lineId)) refresh(); });
    live.on("parcel", onParcel);
  },
  show() {
    shownId = null;
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
  /** F flags the current parcel (officers). */
  key(ev) {
    if (ev.key !== "f" && ev.key !== "F") return false;
    if (!hasRole("officer") || !data || !data.parcel) return false;
    flag();
    return true;
  },
  language() {
    shownId = null;
    delete root().querySelector(".waiting").dataset.ids;
    if (flagged.size) renderFlags();
  },
};
