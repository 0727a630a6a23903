// Page 1, the line monitor: each line's belt state, today's lane counts, the parcels on the
// belt drawn where they are, the line's alarms (operators acknowledge them); and the recent
// parcels with their reasons; each line's open interceptions and its release lanes' bags
// (line-holds.js). Data: GET /api/lines, GET /api/parcels, GET /api/interceptions, GET
// /api/bags; live `line` (a belt) and `parcel` events; POST /api/alarms/{id}/ack.
import { get, post } from "../api.js";
import { beijing, num, t } from "../i18n.js";
import * as live from "../live.js";
import { banner, fill, h, lanePill, outcomeCell, pill, reasonsText, unavailable } from "../dom.js";
import { hasRole } from "../session.js";
import { alarmTitle, sourceText } from "../alarm-words.js";
import { onHolds, reload as reloadHolds } from "../holds.js";
import { renderBags, renderInterceptions } from "./line-holds.js";

const MAX_ROWS = 100;
const RELOAD_MS = 5000;
const root = () => document.getElementById("page-line");
const lines = new Map(); // line_id -> /api/lines item (belt + counts)
const parcels = new Map(); // id -> ParcelView
let loadError = null;
let freshId = null;
let countsTimer = null;
let reloadTimer = null;

function visible() {
  return !root().hidden;
}

async function loadLines() {
  try {
    const list = await get("/api/lines");
    loadError = null;
    for (const item of list) lines.set(item.line_id, { ...lines.get(item.line_id), ...item });
  } catch (err) {
    loadError = err;
  }
  await reloadHolds();
  if (visible()) renderLines();
}

async function loadParcels() {
  try {
    const list = await get(`/api/parcels?limit=${MAX_ROWS}`);
    parcels.clear();
    for (const p of list) parcels.set(p.id, p);
  } catch {
    // The table keeps what it had; the live events fill it.
  }
  if (visible()) renderTable();
}

/** Reload the lane counts soon (a decision changed them), at most once a second. */
function countsSoon() {
  if (countsTimer) return;
  countsTimer = setTimeout(() => {
    countsTimer = null;
    loadLines();
  }, 1000);
}

// ---- the belt ----

function beltLength(line) {
  return Math.max(line.diverter_at_mm || 0, 1000) * 1.12;
}

function decisionOf(onBelt) {
  if (onBelt.tracking_lost) return "lost";
  const p = parcels.get(onBelt.parcel_id);
  if (p && p.lane_kind) return p.lane_kind;
  return onBelt.lane ? "decided" : "undecided";
}

function marker(line, at, key, extra = "") {
  const left = (100 * at) / beltLength(line);
  return h("div", { className: `station ${extra}`, style: { left: `${left}%` } }, h("span", {}, t(key)));
}

function renderBelt(line, track) {
  const len = beltLength(line);
  let stations = track.querySelector(".stations");
  if (!stations) {
    stations = h("div", { className: "stations" });
    track.append(stations);
  }
  const marks = [marker(line, line.scanner_at_mm, "station_scanner"), marker(line, line.diverter_at_mm, "station_diverter", "diverter")];
  if (line.xray_at_mm != null) {
    const from = (100 * line.xray_at_mm) / len;
    const exit = line.xray_exit_at_mm > line.xray_at_mm ? line.xray_exit_at_mm : line.xray_at_mm + 600;
    const to = (100 * exit) / len;
    marks.push(h("div", { className: "tunnel", style: { left: `${from}%`, width: `${to - from}%` } }, h("span", {}, t("station_xray"))));
  }
  fill(stations, marks);
  const seen = new Set();
  for (const p of line.parcels || []) {
    const id = String(p.parcel_id);
    seen.add(id);
    let box = track.querySelector(`.parcel[data-parcel-id="${id}"]`);
    if (!box) {
      // Out of the tab order: the moving boxes repeat the table's links below.
      box = h("a", { className: "parcel", href: `#/parcels/${id}`, tabindex: "-1", dataset: { parcelId: id } }, h("b"), h("small"));
      track.append(box);
    }
    const decision = decisionOf(p);
    box.className = `parcel ${decision}`;
    box.style.left = `${Math.min(100, (100 * p.position_mm) / len)}%`;
    box.querySelector("b").textContent = p.tracking_no;
    box.querySelector("small").textContent = p.deadline_in_ms != null ? `${(p.deadline_in_ms / 1000).toFixed(1)} s` : t(`belt_${decision}`);
    box.title = `${t("col_tracking")} ${p.tracking_no} · ${t(`belt_${decision}`)} · ${num(p.position_mm)} mm`;
  }
  for (const box of track.querySelectorAll(".parcel")) {
    if (!seen.has(box.dataset.parcelId)) box.remove();
  }
  track.setAttribute("aria-label", t("belt_label", (line.parcels || []).length));
}

// ---- a line's card ----

function beltPill(line) {
  if (line.estop) return pill("down", t("belt_estop"));
  if (!line.link_up) return pill("unknown", t("belt_unknown"));
  return line.running ? pill("ok", t("belt_running")) : pill("warn", t("belt_stopped"));
}

/** What the belt says right now that needs attention (live, not stored). */
function conditions(line) {
  const list = [];
  if (!line.link_up) list.push(t("alarm_plc_down"));
  if (line.estop) list.push(t("alarm_estop"));
  // The belt names the fault as the PLC map does (`DiverterJam`); the words come from its code.
  if (line.fault) list.push(alarmTitle(`plc_fault:${line.fault.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase()}`));
  if (line.link_up && !line.xray_running) list.push(t("alarm_xray_stopped"));
  const lost = (line.parcels || []).filter((p) => p.tracking_lost).length;
  if (lost) list.push(t("alarm_tracking_lost", lost));
  return list;
}

async function acknowledge(id, button) {
  button.disabled = true;
  try {
    await post(`/api/alarms/${id}/ack`);
    banner(t("alarm_acked_done"), "ok");
  } catch (err) {
    banner(err.missing ? t("api_missing", t("alarm_ack")) : t("action_failed", t("alarm_ack"), err.message), "bad");
    button.disabled = false;
  }
  loadLines();
}

/** A stored alarm (open until its condition clears): when, what, and who has it in hand.
 *  One the store could not take yet (negative id) shows, but cannot be acknowledged. */
function storedAlarm(a) {
  const acked = a.acked_by
    ? h("small", { className: "acked" }, t("alarm_acked_by", a.acked_by, beijing(a.acked_at, "time")))
    : hasRole("operator", "admin") && a.id > 0
      ? h("button", { type: "button", className: "ack", onclick: (ev) => acknowledge(a.id, ev.currentTarget) }, t("alarm_ack"))
      : null;
  return h("li", { className: `alarm${a.acked_by ? " acked" : ""}`, dataset: { alarmId: a.id } },
    h("time", {}, beijing(a.at, "time")), " ⚠ ", h("b", {}, alarmTitle(a.kind)), " ",
    h("small", { className: "source" }, sourceText(a.source)), " ",
    a.parcel_id ? h("a", { href: `#/parcels/${a.parcel_id}` }, `#${a.parcel_id}`) : null, " ",
    h("details", { className: "tech" }, h("summary", {}, t("alarm_tech")), h("code", {}, `${a.source} · ${a.kind} · ${a.detail}`)), " ", acked);
}

function countTile(kind, value) {
  return h("div", { className: `count ${kind}` }, h("b", {}, num(value)), h("span", {}, t(`count_${kind}`)));
}

function card(line) {
  let c = root().querySelector(`.line-card[data-line="${CSS.escape(line.line_id)}"]`);
  if (!c) {
    c = h("article", { className: "line-card card", dataset: { line: line.line_id } },
      h("header", { className: "line-head" }), h("div", { className: "counts" }),
      h("div", { className: "belt" }, h("div", { className: "track", role: "img" })),
      h("section", { className: "interceptions", hidden: true }),
      h("ul", { className: "alarms" }),
      h("section", { className: "bags", hidden: true }));
    root().querySelector(".lines").append(c);
  }
  // With the PLC silent the last speed is stale: none is shown.
  const speed = line.link_up ? num((line.speed_mm_s || 0) / 1000, 2) : "—";
  fill(c.querySelector(".line-head"),
    h("h3", {}, t("line_name", line.line_id)),
    beltPill(line),
    h("span", { className: "speed" }, h("b", {}, speed), " m/s"),
    pill(line.link_up ? "ok" : "down", t(line.link_up ? "plc_up" : "plc_down")),
    pill(line.xray_running ? "ok" : "warn", t(line.xray_running ? "xray_on" : "xray_off")));
  const n = line.counts || {};
  fill(c.querySelector(".counts"),
    countTile("release", n.release), countTile("inspection", n.inspection),
    countTile("exception", n.exception), countTile("pending", n.pending));
  renderBelt(line, c.querySelector(".track"));
  renderInterceptions(c.querySelector(".interceptions"), line.line_id);
  renderBags(c.querySelector(".bags"), line.line_id);
  // Rebuilt only when they change, so that an acknowledge button keeps the focus.
  const list = c.querySelector(".alarms");
  const conds = conditions(line);
  const key = JSON.stringify([conds, (line.alarms || []).map((a) => [a.id, a.acked_by])]);
  if (list.dataset.key !== key) {
    list.dataset.key = key;
    const now = conds.map((text) => h("li", { className: "alarm live" }, "⚠ ", text));
    const stored = (line.alarms || []).map(storedAlarm);
    fill(list, now.length || stored.length ? [...now, ...stored] : [h("li", { className: "no-alarm" }, t("no_alarms"))]);
  }
}

function renderLines() {
  const box = root().querySelector(".lines");
  if (loadError && !lines.size) {
    fill(box, unavailable(loadError, t("nav_line")));
    return;
  }
  box.querySelector(".unavailable")?.remove();
  if (!lines.size) fill(box, h("p", { className: "hint" }, t("no_lines")));
  else box.querySelector(":scope > .hint")?.remove();
  for (const line of lines.values()) card(line);
}

// ---- the table ----

/** The waybill the scans agree on so far, for a parcel still on a belt (the store has it
 * only once decided). */
function scannedCode(id) {
  for (const line of lines.values()) {
    const on = (line.parcels || []).find((b) => b.parcel_id === id);
    if (on) return on.code || null;
  }
  return null;
}

function row(p) {
  const known = p.logistics_no || (p.lane_kind ? null : scannedCode(p.id));
  const missing = p.lane_kind ? t("no_waybill") : t("waybill_pending");
  const waybill = h("a", { href: `#/parcels/${p.id}`, className: known ? "mono" : "muted" }, known || missing);
  return h("tr", { className: p.id === freshId ? "fresh" : "", dataset: { id: p.id } },
    h("td", {}, beijing(p.entered_at, "time")), h("td", {}, p.line_id), h("td", { className: "num" }, p.tracking_no),
    h("td", {}, waybill), h("td", {}, lanePill(p.lane_kind, p.lane)),
    h("td", { className: "reason" }, reasonsText(p.reasons)), outcomeCell(p));
}

function renderTable() {
  const sorted = [...parcels.values()].sort((a, b) => b.id - a.id).slice(0, MAX_ROWS);
  fill(root().querySelector(".parcels-table tbody"), sorted.map(row));
}

// ---- live ----

function onParcel(p) {
  const before = parcels.get(p.id);
  parcels.set(p.id, p);
  if (parcels.size > MAX_ROWS * 2) {
    const old = [...parcels.keys()].sort((a, b) => a - b).slice(0, parcels.size - MAX_ROWS);
    for (const id of old) parcels.delete(id);
  }
  if (p.lane_kind && (!before || before.lane_kind !== p.lane_kind)) countsSoon();
  else if (!before) countsSoon();
  // A drop fills a bag: its count and weight come with the next reload.
  else if (p.outcome && before.outcome !== p.outcome) countsSoon();
  freshId = p.id;
  if (visible()) renderTable();
}

function onLine(belt) {
  const known = lines.get(belt.line_id) || {};
  const line = { ...known, ...belt };
  lines.set(belt.line_id, line);
  if (visible()) card(line);
}

export default {
  init() {
    live.on("parcel", onParcel);
    live.on("line", onLine);
    live.on("open", () => { loadLines(); loadParcels(); });
    live.on("resync", loadParcels);
    onHolds(() => {
      if (!visible()) return;
      for (const line of lines.values()) {
        const c = root().querySelector(`.line-card[data-line="${CSS.escape(line.line_id)}"]`);
        if (c) {
          renderInterceptions(c.querySelector(".interceptions"), line.line_id);
          renderBags(c.querySelector(".bags"), line.line_id);
        }
      }
    });
  },
  show() {
    renderLines();
    renderTable();
    loadLines();
    if (!parcels.size) loadParcels();
    // Counts and stored alarms come with GET /api/lines only; the belt comes live.
    clearInterval(reloadTimer);
    reloadTimer = setInterval(loadLines, RELOAD_MS);
  },
  hide() {
    clearInterval(reloadTimer);
  },
  language() {
    for (const c of root().querySelectorAll(".line-card")) c.remove();
  },
};
