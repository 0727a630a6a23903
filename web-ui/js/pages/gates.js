// Page 4, gates: each lane live (`.lane[data-gate]`) — phase, loops, the barrier drawn at
// its position, weighbridge weight, the LED text as the panel shows it, the pass being
// served or the last one, the load check of the truck present item by item
// (gates-load.js); operators open a barrier by hand with a mandatory reason.
// Data: GET /api/gates, GET /api/gates/passes, GET /api/gates/passes/{id}; live `gate`
// events; POST /api/gates/{gate}/override {reason}.
import { get, post, qs } from "../api.js";
import { beijing, fromBeijingInput, getLang, num, t, tOr } from "../i18n.js";
import * as live from "../live.js";
import { fill, h, openDialog, pill, thumb, unavailable } from "../dom.js";
import { hasRole } from "../session.js";
import { renderLoadCheck } from "./gates-load.js";

const SVG = "http://www.w3.org/2000/svg";
const root = () => document.getElementById("page-gates");
const lanes = new Map(); // gate id -> LaneView
const passes = new Map(); // pass id -> PassView
let recent = []; // recent PassView, newest first
let error = null;
let overrideGate = null;
/** An empty weighbridge drifts a few kg either way: below this it reads 0. */
const EMPTY_BRIDGE_KG = 50;

/** A weighbridge reading as shown: 0 below [EMPTY_BRIDGE_KG]. */
function bridgeKg(w) {
  return w != null && Math.abs(w) < EMPTY_BRIDGE_KG ? 0 : w;
}

/** Why the held truck's override needs an officer too (its permit is missing or not
 * approved), or null; the server checks the same (src/web/override_check.rs). */
function officerNeeded(lane) {
  const p = lane && lane.pass_id != null ? passes.get(lane.pass_id) : null;
  if (!p || p.direction !== "out") return null;
  const reasons = Array.isArray(p.reasons) ? p.reasons : [];
  const problems = ["no_permit", "permit_not_approved", "permit_used", "permit_voided", "permit_deleted",
    "permit_unknown_status", "manual_decision_needed"];
  const words = reasons.filter((r) => problems.includes(r.code)).map(gateReason);
  if (words.length) return words.join(t("list_sep"));
  return reasons.length ? null : t("g_permit_unknown_status");
}

function visible() {
  return !root().hidden;
}

async function load() {
  try {
    const answer = await get("/api/gates");
    error = null;
    for (const lane of answer.lanes || []) lanes.set(lane.gate, lane);
  } catch (err) {
    error = err;
  }
  await loadPasses();
  if (visible()) render();
}

/** The pass search's query (empty: the newest passes). */
function passQuery() {
  const f = document.getElementById("pass-search");
  return {
    plate: f.plate.value.trim(), permit: f.permit.value.trim(),
    from: fromBeijingInput(f.from.value), to: fromBeijingInput(f.to.value),
  };
}

async function loadPasses() {
  const q = passQuery();
  const searching = Object.values(q).some((v) => v);
  document.querySelector("#pass-search .pass-csv").href = `/api/gates/passes/export.csv${qs({ ...q, lang: getLang() })}`;
  try {
    recent = searching ? await get(`/api/gates/passes/search${qs({ ...q, limit: 500 })}`) : await get("/api/gates/passes?limit=30");
    for (const p of recent) passes.set(p.id, p);
  } catch {
    // The lanes show without their history.
  }
}

async function loadPass(id) {
  try {
    const p = await get(`/api/gates/passes/${id}`);
    passes.set(id, p);
    if (!recent.some((r) => r.id === id)) recent.unshift(p);
    else recent = recent.map((r) => (r.id === id ? p : r));
    if (visible()) {
      renderLane(lanes.get(p.gate_id));
      renderPasses();
      renderQueue();
    }
  } catch {
    // Shown as soon as a later event brings it.
  }
}

// ---- words ----

/** A gate reason `{code, zh, detail}` in the page's language. */
export function gateReason(r) {
  if (!r || typeof r !== "object") return String(r ?? "");
  const words = getLang() === "zh" ? r.zh || tOr(`g_${r.code}`, r.code) : tOr(`g_${r.code}`, r.code);
  // The detail is the controller's English: shown in English only; in Chinese the words
  // from the code say it, and the detail is on the reason's tooltip.
  return r.detail && getLang() !== "zh" ? `${words} (${r.detail})` : words;
}

function verdictPill(verdict) {
  const kind = { released: "ok", refused: "down", override: "warn" }[verdict] || "unknown";
  return pill(kind, tOr(`verdict_${verdict}`, verdict || "—"));
}

/** The plate's colour as the camera reported it (`yellow`, `blue`, `green`, …), else
 * from its form: 8 characters are new energy (green); trucks otherwise carry yellow. */
function plateColour(p) {
  const reads = (p && p.consensus && p.consensus.reads) || [];
  const said = reads.map((r) => String(r.color || r.colour || r.plate_color || "").toLowerCase()).find((c) => c);
  if (said) {
    if (/yellow|黄/.test(said)) return "yellow";
    if (/green|绿/.test(said)) return "green";
    if (/blue|蓝/.test(said)) return "blue";
    if (/white|白/.test(said)) return "white";
    if (/black|黑/.test(said)) return "black";
  }
  return p && p.plate && p.plate.length === 8 ? "green" : "yellow";
}

function plateColourText(p) {
  return tOr(`plate_${plateColour(p)}`, plateColour(p));
}

function plateBadge(plate, pass) {
  if (!plate) return h("span", { className: "plate none" }, t("plate_none"));
  const colour = pass ? plateColour(pass) : plate.length === 8 ? "green" : "yellow";
  return h("span", { className: `plate ${colour}`, title: tOr(`plate_${colour}`, colour) }, plate);
}

// ---- the drawing: loops and barrier ----

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function drawing() {
  const s = svg("svg", { viewBox: "0 0 240 110", class: "gate-drawing", role: "img" });
  s.append(
    svg("rect", { x: 0, y: 60, width: 240, height: 40, class: "road" }),
    svg("rect", { x: 30, y: 66, width: 60, height: 28, rx: 4, class: "loop before" }),
    svg("rect", { x: 150, y: 66, width: 60, height: 28, rx: 4, class: "loop after" }),
    svg("rect", { x: 112, y: 30, width: 12, height: 40, class: "post" }),
    svg("rect", { x: 118, y: 30, width: 110, height: 8, rx: 3, class: "arm" }));
  return s;
}

function updateDrawing(s, lane) {
  s.querySelector(".loop.before").classList.toggle("on", Boolean(lane.loop_before));
  s.querySelector(".loop.after").classList.toggle("on", Boolean(lane.loop_after));
  const angle = -0.9 * Math.max(0, Math.min(100, lane.barrier_position_pct || 0));
  s.querySelector(".arm").style.transform = `rotate(${angle}deg)`;
  s.setAttribute("aria-label", t("barrier_label", lane.barrier_position_pct ?? 0,
    t(lane.loop_before ? "loop_on" : "loop_off"), t(lane.loop_after ? "loop_on" : "loop_off")));
}

// ---- a lane's card ----

function phasePill(lane) {
  const kind = { idle: "unknown", present: "info", held: "down", open: "ok", closing: "warn" }[lane.phase] || "unknown";
  return pill(kind, tOr(`phase_${lane.phase}`, lane.phase));
}

function passBlock(lane) {
  const id = lane.pass_id ?? recent.find((p) => p.gate_id === lane.gate)?.id;
  if (id == null) return h("p", { className: "hint" }, t("no_passes"));
  const p = passes.get(id);
  if (!p) {
    loadPass(id);
    return h("p", { className: "hint" }, t("loading"));
  }
  const reads = (p.consensus && p.consensus.reads) || [];
  return h("div", { className: "pass", dataset: { passId: p.id } },
    h("div", { className: "pass-head" },
      h("small", {}, t(lane.pass_id != null ? "pass_current" : "pass_last")),
      plateBadge(p.plate, p), verdictPill(p.verdict), h("time", {}, beijing(p.at, "time"))),
    h("dl", { className: "facts" },
      h("dt", {}, t("permit")), h("dd", { className: "mono" }, p.permit_no || t("permit_none")),
      h("dt", {}, t("weight")), h("dd", {}, p.weight_kg != null ? `${num(p.weight_kg)} kg` : "—"),
      p.direction ? [h("dt", {}, t("plate_colour")), h("dd", {}, plateColourText(p))] : null,
      p.override_by ? [h("dt", {}, t("override_by")), h("dd", {}, `${p.override_by}：${p.override_reason || ""}`)] : null),
    h("ul", { className: "reasons" }, (Array.isArray(p.reasons) ? p.reasons : []).map((r) => h("li", { title: r.detail || "" }, gateReason(r)))),
    reads.length ? h("table", { className: "reads" },
      h("thead", {}, h("tr", {}, h("th", {}, t("camera")), h("th", {}, t("plate")), h("th", {}, t("confidence")), h("th", {}, t("col_time")))),
      h("tbody", {}, reads.map((r) => h("tr", {},
        h("td", {}, r.camera), h("td", { className: "mono" }, r.plate || r.raw_plate || t("plate_unread")),
        h("td", { className: "num" }, r.confidence != null ? num(r.confidence, r.confidence <= 1 ? 2 : 0) : "—"),
        h("td", {}, beijing(r.at, "time")))))) : null,
    (p.snapshots || []).length ? h("div", { className: "gallery" }, p.snapshots.map((sha) => thumb(sha, `${p.plate || ""} ${beijing(p.at, "full")}`))) : null);
}

function renderLane(lane) {
  if (!lane) return;
  const holder = root().querySelector(".gate-lanes");
  let card = holder.querySelector(`.lane[data-gate="${CSS.escape(lane.gate)}"]`);
  if (!card) {
    card = h("article", { className: "lane card", dataset: { gate: lane.gate } },
      h("header", { className: "lane-head" }),
      h("div", { className: "lane-live" }, drawing(), h("div", { className: "weighbridge" }), h("div", { className: "led", role: "status" })),
      h("div", { className: "lane-pass" }),
      h("section", { className: "lane-load", hidden: true }),
      h("div", { className: "lane-actions" }));
    holder.append(card);
  }
  card.classList.toggle("held", lane.phase === "held");
  fill(card.querySelector(".lane-head"),
    h("h3", {}, t("gate_name", lane.gate)),
    h("span", { className: "direction" }, tOr(`direction_${lane.direction}`, lane.direction)),
    phasePill(lane),
    pill(lane.link_ok ? "ok" : "down", t(lane.link_ok ? "gate_link_up" : "gate_link_down")));
  updateDrawing(card.querySelector("svg"), lane);
  fill(card.querySelector(".weighbridge"),
    h("small", {}, t("weighbridge")),
    h("b", {}, lane.weight != null ? `${num(bridgeKg(lane.weight))} kg` : "—"),
    lane.weight != null ? pill(lane.weight_stable ? "ok" : "warn", t(lane.weight_stable ? "weight_stable" : "weight_unstable")) : null);
  const led = card.querySelector(".led");
  led.textContent = lane.led_text || " ";
  led.setAttribute("aria-label", `${t("led")}: ${lane.led_text || ""}`);
  fill(card.querySelector(".lane-pass"), passBlock(lane));
  renderLoadCheck(card.querySelector(".lane-load"), lane);
  const actions = card.querySelector(".lane-actions");
  // The override is only for a truck present and held.
  if (!hasRole("operator", "admin") || lane.phase !== "held") fill(actions);
  else if (!actions.querySelector(".override")) {
    fill(actions, h("button", { type: "button", className: "override danger", onclick: () => askOverride(lane.gate) }, t("override_button")));
  }
}

function renderPasses() {
  fill(root().querySelector(".passes tbody"), recent.map((p) => h("tr", { dataset: { passId: p.id } },
    h("td", {}, beijing(p.at, "full")), h("td", {}, p.gate_id), h("td", {}, plateBadge(p.plate, p)),
    h("td", { className: "mono" }, p.permit_no || "—"), h("td", { className: "num" }, p.weight_kg != null ? `${num(p.weight_kg)} kg` : "—"),
    h("td", {}, verdictPill(p.verdict)),
    h("td", { className: "reason" }, (Array.isArray(p.reasons) ? p.reasons : []).map(gateReason).join(t("list_sep"))))));
}

/** The trucks at the lanes now (present, held, going through), from the lanes' views. */
function renderQueue() {
  const busy = [...lanes.values()].filter((l) => l.phase && l.phase !== "idle");
  fill(root().querySelector(".truck-queue"), busy.length ? busy.map((l) => {
    const p = l.pass_id != null ? passes.get(l.pass_id) : null;
    return h("li", { dataset: { gate: l.gate } }, h("b", {}, t("gate_name", l.gate)), " ", phasePill(l), " ",
      p ? plateBadge(p.plate, p) : h("span", { className: "hint" }, t("plate_reading")), " ",
      l.weight != null ? `${num(bridgeKg(l.weight))} kg` : "");
  }) : h("li", { className: "hint" }, t("no_trucks")));
}

function render() {
  renderQueue();
  const holder = root().querySelector(".gate-lanes");
  if (error && !lanes.size) {
    fill(holder, error.status === 404 && !error.missing ? h("p", { className: "hint" }, t("no_gates")) : unavailable(error, t("nav_gates")));
  } else {
    holder.querySelector(".unavailable, .hint")?.remove();
    for (const lane of lanes.values()) renderLane(lane);
  }
  renderPasses();
}

// ---- override ----

function showOfficerFields(why) {
  const box = document.querySelector("#override-dialog .officer-confirm");
  box.hidden = !why;
  box.querySelector(".warn-text").textContent = why ? t("override_officer_needed", why) : "";
  for (const input of box.querySelectorAll("input")) input.required = Boolean(why);
}

function askOverride(gate) {
  overrideGate = gate;
  const dialog = document.getElementById("override-dialog");
  dialog.querySelector(".gate-name").textContent = t("gate_name", gate);
  dialog.querySelector("form").reset();
  showOfficerFields(officerNeeded(lanes.get(gate)));
  openDialog(dialog);
  dialog.querySelector("textarea[name=reason]").focus();
}

async function submitOverride(ev) {
  ev.preventDefault();
  const dialog = document.getElementById("override-dialog");
  const form = ev.target;
  const error = form.querySelector(".error");
  const reason = form.reason.value.trim();
  if (reason.length < 4) {
    error.textContent = t("override_reason_short");
    form.reason.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const officerBox = form.querySelector(".officer-confirm");
    const body = { reason };
    if (!officerBox.hidden) body.officer = { username: form.officer_username.value.trim(), password: form.officer_password.value };
    const answer = await post(`/api/gates/${encodeURIComponent(overrideGate)}/override`, body);
    dialog.close();
    if (answer.pass_id != null) loadPass(answer.pass_id);
  } catch (err) {
    const officerRefused = err.status === 403 && /officer's confirmation was refused|must be another person/.test(err.message);
    error.textContent = t("override_failed", officerRefused ? t("override_officer_refused") : err.message);
    // The server knows the permit best: when it asks for an officer, ask for one.
    if (err.status === 403 && /officer/.test(err.message) && form.querySelector(".officer-confirm").hidden) {
      showOfficerFields(t("g_permit_not_approved"));
    }
    form.officer_password.value = "";
  } finally {
    button.disabled = false;
  }
}

function onGate(lane) {
  const before = lanes.get(lane.gate);
  lanes.set(lane.gate, lane);
  if (lane.pass_id != null && (!before || before.pass_id !== lane.pass_id || before.phase !== lane.phase)) loadPass(lane.pass_id);
  if (visible()) {
    renderLane(lane);
    if (!before || before.phase !== lane.phase || before.pass_id !== lane.pass_id) renderQueue();
  }
}

export default {
  init() {
    document.querySelector("#override-dialog form").addEventListener("submit", submitOverride);
    const search = document.getElementById("pass-search");
    search.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      await loadPasses();
      renderPasses();
    });
    search.addEventListener("reset", () => setTimeout(async () => { await loadPasses(); renderPasses(); }, 0));
    live.on("gate", onGate);
    live.on("open", () => { if (visible()) load(); });
  },
  show() {
    render();
    load();
  },
  language() {
    root().querySelector(".gate-lanes").replaceChildren();
  },
};
