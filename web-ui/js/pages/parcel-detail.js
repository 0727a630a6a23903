// One parcel (`#/parcels/<id>`): its decision and reasons, declaration and weights, the
// whole timeline with X-ray views and camera frames, officer flags, platform instructions,
// inspection results; officers record an inspection result here.
// Data: GET /api/parcels/{id}; POST /api/parcels/{id}/inspection {result, findings}.
import { get, post } from "../api.js";
import { beijing, num, reasonText, t, tOr } from "../i18n.js";
import * as live from "../live.js";
import { facts, fill, h, lanePill, pill, thumb, unavailable } from "../dom.js";
import { hasRole } from "../session.js";
import { declarationBlock } from "../declaration.js";
import { XrayViewer } from "../xray-viewer.js";

let viewer = null; // the X-ray views in the image tools
let viewSha = null;

const RESULTS = ["conform", "discrepancy", "seized", "returned"];
const box = () => document.querySelector("#page-parcels .detail-view");
let shownId = null;
let data = null;
let reloadTimer = null;

async function load(id) {
  try {
    data = await get(`/api/parcels/${encodeURIComponent(id)}`);
    if (String(id) !== String(shownId)) return;
    render();
  } catch (err) {
    if (String(id) !== String(shownId)) return;
    data = null;
    fill(box(), back(), err.status === 404 && !err.missing
      ? h("p", { className: "unavailable" }, t("parcel_not_found", id))
      : unavailable(err, t("parcel_detail")));
  }
}

function back() {
  return h("p", {}, h("a", { href: "#/parcels", className: "back" }, "← ", t("back_to_search")));
}

// ---- the timeline ----

function describe(ev) {
  const d = ev.detail || {};
  switch (ev.kind) {
    case "entered":
      return t("tl_entered", d.line_id, d.tracking_no, d.length_mm != null ? num(d.length_mm) : "—");
    case "scan":
      if (d.scan === "no_read") return t("tl_scan_no_read", d.scanner);
      if (d.scan === "invalid") return t("tl_scan_invalid", d.scanner, d.detail || "");
      return t("tl_scan_code", d.scanner, d.code || "");
    case "reading":
      if (d.reading === "weight") return t("tl_weight", num(d.value, 3), tOr(`weight_${d.raw}`, d.raw || ""));
      if (d.reading === "xray_view") return t("tl_xray_view", String(d.raw || "").split(/[\\/]/).pop());
      return `${d.reading}: ${d.value ?? ""} ${d.unit ?? ""} ${d.raw ?? ""}`;
    case "xray_entered":
      return t("tl_xray_entered");
    case "evidence":
      return t("tl_evidence", tOr(`evidence_${d.evidence}`, d.evidence || ""), d.role || "");
    case "flag":
      return t("tl_flag", d.officer, d.reason, tOr(`flag_scope_${d.scope}`, d.scope || ""));
    case "instruction":
      return t("tl_instruction", tOr(`instruction_${d.instruction}`, d.instruction), d.reason || "—", d.source || "");
    case "decision":
      return [t("tl_decision"), " ", lanePill(d.lane_kind, d.lane), " ", (d.reasons || []).map(reasonText).join(t("list_sep"))];
    case "command_written":
      return t("tl_command_written", d.lane ?? "");
    case "command_acked":
      return t("tl_command_acked", d.lane ?? "");
    case "drop":
      return d.mismatch
        ? h("span", { className: "bad" }, t("tl_drop_mismatch", d.dropped_lane ?? "?", d.decided_lane ?? "?"))
        : t("tl_drop", tOr(`outcome_${d.outcome}`, d.outcome), d.dropped_lane ?? "—");
    case "alarm":
      return h("span", { className: "bad" }, t("tl_alarm", d.alarm, d.detail || "", d.cleared_at ? t("tl_cleared", beijing(d.cleared_at, "time")) : ""));
    case "inspection":
      return t("tl_inspection", tOr(`result_${d.result}`, d.result), d.findings, d.officer);
    default:
      return `${ev.kind} ${JSON.stringify(d)}`;
  }
}

function timeline(events) {
  if (!events || !events.length) return h("p", { className: "hint" }, t("no_events"));
  return h("ol", { className: "timeline" }, events.map((ev) =>
    h("li", { className: `tl tl-${ev.kind}` },
      h("time", { dateTime: ev.at }, beijing(ev.at, "time")),
      h("span", { className: "tl-kind" }, tOr(`tlk_${ev.kind}`, ev.kind)),
      h("span", { className: "tl-text" }, describe(ev)),
      ev.evidence ? thumb(ev.evidence, `${tOr(`evidence_${ev.detail?.evidence}`, "")} ${beijing(ev.at, "full")}`) : null)));
}

// ---- the side blocks ----

function weights(d) {
  const declared = d.declaration ? d.declaration.gross_weight_kg : null;
  const measured = d.measured_weight_kg;
  const diff = declared != null && measured != null ? measured - declared : null;
  return facts([
    [t("declared_weight"), declared != null ? `${num(declared, 3)} kg` : null],
    [t("measured_weight"), measured != null ? `${num(measured, 3)} kg${d.weight_stable === false ? ` (${t("weight_unstable")})` : ""}` : null],
    [t("weight_difference"), diff != null ? `${diff >= 0 ? "+" : ""}${num(diff, 3)} kg${declared ? ` (${diff >= 0 ? "+" : ""}${num((100 * diff) / declared, 1)} %)` : ""}` : null],
  ]);
}

function listBlock(title, items, line) {
  return h("section", { className: "block" }, h("h3", {}, title),
    items && items.length ? h("ul", { className: "plain" }, items.map(line)) : h("p", { className: "hint" }, t("none")));
}

function inspectionForm(id) {
  const form = h("form", { id: "inspection-form", className: "card" },
    h("h3", {}, t("record_inspection")),
    h("label", {}, h("span", {}, t("inspection_result")),
      h("select", { name: "result", required: true }, RESULTS.map((r) => h("option", { value: r }, t(`result_${r}`))))),
    h("label", {}, h("span", {}, t("findings")), h("textarea", { name: "findings", rows: 3, required: true, minLength: 2, maxLength: 2000 })),
    h("button", { type: "submit", className: "primary" }, t("save_inspection")),
    h("p", { className: "form-result", role: "status" }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = form.querySelector(".form-result");
    const button = form.querySelector("button");
    if (button.disabled) return; // a second click while the first is on its way
    button.disabled = true;
    try {
      const kept = await post(`/api/parcels/${id}/inspection`, { result: form.result.value, findings: form.findings.value.trim() });
      out.className = "form-result ok";
      const fresh = !data.inspections || !data.inspections.some((i) => i.id === kept.id);
      out.textContent = fresh ? t("result_saved", `${tOr(`result_${kept.result}`, kept.result)} · ${beijing(kept.at, "full")}`) : t("result_already");
      lastSaved = out.textContent;
      form.findings.value = "";
      load(id);
    } catch (err) {
      out.className = "form-result error";
      out.textContent = err.missing ? t("api_missing", t("record_inspection")) : err.message;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

let lastSaved = "";

/** Officers flag the parcel from its detail too. */
function flagForm(p, flagged) {
  if (!hasRole("officer")) return null;
  const form = h("form", { className: "detail-flag card" },
    h("label", {}, h("span", {}, t("flag_reason")), h("input", { name: "reason", required: true, minLength: 2, maxLength: 200, value: "图像可疑" })),
    h("button", { type: "submit", className: "danger", disabled: flagged }, t("flag_parcel_detail")),
    h("p", { className: "form-result", role: "status" }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = form.querySelector(".form-result");
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const answer = await post(`/api/parcels/${p.id}/flag`, { reason: form.reason.value.trim() });
      out.className = "form-result ok";
      out.textContent = t("flag_detail_done", answer.logistics_no || `#${p.id}`);
      load(p.id);
    } catch (err) {
      out.className = "form-result error";
      out.textContent = t("flag_failed", err.message);
      button.disabled = false;
    }
  });
  return form;
}

/** The X-ray views in the image tools, one large, the others to pick. */
function xrayBlock(views) {
  if (!views.length) return null;
  if (!viewer) viewer = new XrayViewer({ onFullscreen: () => fullscreen() });
  if (!views.some((e) => e.sha256 === viewSha)) viewSha = views[0].sha256;
  viewer.setImage(`/api/evidence/${viewSha}`);
  return h("section", { className: "block xray-block" }, h("h3", {}, t("record_views")), viewer.element,
    h("div", { className: "view-pick" }, views.map((e, i) => h("button", {
      type: "button", className: `view${e.sha256 === viewSha ? " on" : ""}`,
      onclick: () => { viewSha = e.sha256; render(); },
    }, h("img", { src: `/api/evidence/${e.sha256}/thumb`, alt: t("xray_view_n", i + 1) }), h("span", {}, t("xray_view_n", i + 1))))));
}

let bigViewer = null;
function fullscreen() {
  const dialog = document.getElementById("xray-dialog");
  if (!bigViewer) bigViewer = new XrayViewer();
  const big = dialog.querySelector(".xray-big");
  fill(big, bigViewer.element);
  bigViewer.setImage(`/api/evidence/${viewSha}`);
  const p = data.parcel;
  fill(dialog.querySelector(".xray-info"),
    h("div", { className: "ident" }, h("div", {}, h("small", {}, t("col_waybill")), h("b", { className: "mono" }, p.logistics_no || t("no_waybill")))),
    declarationBlock(data.declaration));
  dialog.dataset.mode = "detail";
  dialog.showModal();
  bigViewer.draw();
}

function render() {
  const d = data;
  const p = d.parcel;
  const evidence = d.evidence || [];
  const images = evidence.filter((e) => e.decoded);
  const head = h("header", { className: "detail-head card" },
    h("div", {}, h("small", {}, t("col_waybill")), h("b", { className: "mono big" }, p.logistics_no || t("no_waybill"))),
    h("div", {}, lanePill(p.lane_kind, p.lane)),
    h("div", {}, h("small", {}, t("col_outcome")), h("b", {}, tOr(`outcome_${p.outcome}`, p.outcome))),
    h("div", {}, h("small", {}, t("col_line")), h("b", {}, `${p.line_id} · ${p.tracking_no}`)),
    h("div", {}, h("small", {}, t("entered_at")), h("b", {}, beijing(p.entered_at, "full"))),
    d.flags && d.flags.length ? pill("warn", t("already_flagged")) : null,
    h("a", { className: "print-record button", href: `#/record/${p.id}` }, "🖨 ", t("print_record")));
  const reasons = h("section", { className: "block" }, h("h3", {}, t("decision_reasons")),
    p.reasons && p.reasons.length ? h("ul", { className: "reasons" }, p.reasons.map((r) => h("li", {}, reasonText(r)))) : h("p", { className: "hint" }, t("pending")));
  const side = h("div", { className: "detail-side" },
    reasons,
    h("section", { className: "block" }, h("h3", {}, t("weights")), weights(d)),
    h("section", { className: "block" }, h("h3", {}, t("declaration")), declarationBlock(d.declaration)),
    listBlock(t("officer_flags"), d.flags, (f) => h("li", {}, h("time", {}, beijing(f.at, "full")), " ", t("flag_line", f.officer, f.reason))),
    listBlock(t("instructions"), d.instructions, (i) => h("li", {}, h("time", {}, beijing(i.issued_at, "full")), " ",
      t("instruction_line", tOr(`instruction_${i.kind}`, i.kind), i.reason || "—", i.source), " ", i.standing ? pill("warn", t("standing")) : pill("unknown", t("lifted")))),
    listBlock(t("inspections"), d.inspections, (i) => h("li", {}, h("time", {}, beijing(i.at, "full")), " ",
      pill(i.result === "conform" ? "ok" : "down", tOr(`result_${i.result}`, i.result)), " ", i.findings, h("small", {}, ` · ${i.officer}`))),
    hasRole("officer") ? inspectionForm(p.id) : null,
    flagForm(p, Boolean(d.flags && d.flags.length)));
  const main = h("div", { className: "detail-main" },
    xrayBlock(evidence.filter((e) => e.kind === "xray_view" && e.decoded)),
    images.length ? h("section", { className: "block" }, h("h3", {}, t("evidence_images")),
      h("div", { className: "gallery" }, images.map((e) => thumb(e.sha256, `${tOr(`evidence_${e.kind}`, e.kind)} ${beijing(e.produced_at, "full")}`)))) : null,
    h("section", { className: "block" }, h("h3", {}, t("timeline")), timeline(d.timeline)));
  const focused = document.activeElement && box().contains(document.activeElement) ? document.activeElement.name : null;
  const draft = box().querySelector("#inspection-form textarea")?.value;
  fill(box(), back(), head, h("div", { className: "detail-grid" }, main, side));
  if (draft) box().querySelector("#inspection-form textarea").value = draft;
  if (focused) box().querySelector(`[name="${focused}"]`)?.focus();
  if (lastSaved) {
    const out = box().querySelector("#inspection-form .form-result");
    if (out) {
      out.className = "form-result ok";
      out.textContent = lastSaved;
    }
  }
  if (viewer) viewer.draw();
}

/** Reload the shown parcel when a live event says it changed. */
function onParcel(p) {
  if (shownId === null || String(p.id) !== String(shownId)) return;
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => load(shownId), 300);
}

/** Subscribe to live events once. */
export function init() {
  live.on("parcel", onParcel);
}

/** The image tools' keys while a parcel is shown. */
export function key(ev) {
  return Boolean(shownId !== null && viewer && viewer.canvas.isConnected && viewer.key(ev));
}

/** Show parcel `id`. */
export function show(id) {
  if (String(id) !== String(shownId) || !data) {
    lastSaved = "";
    shownId = id;
    fill(box(), back(), h("p", { className: "hint" }, t("loading")));
  }
  load(id);
}

/** Leave the detail view. */
export function hide() {
  shownId = null;
}
