// The judging page's strip: every undecided parcel whose X-ray views are in, in belt order
// (nearest the diverter first), each with its time left and flaggable ahead of its turn.
import { t } from "../i18n.js";
import { fill, h, pill } from "../dom.js";
import { hasRole } from "../session.js";
import { fateNote, weightOff } from "../fate.js";
import { flagged, flagging, flagParcel } from "./judging-flag.js";

/** The strip's parcels from a /api/judging answer, ordered by `sentAt` (id -> deadline). */
function stripItems(data, sentAt) {
  const items = [];
  const p = data && data.parcel;
  if (p && (p.xray_views || []).length) {
    items.push({
      id: p.id, code: p.logistics_no, views: p.xray_views, flagged: p.flagged, now: true,
      status: p.declaration ? p.declaration.return_status : null, hasList: Boolean(p.declaration),
      goods: p.declaration && p.declaration.goods && p.declaration.goods[0] ? p.declaration.goods[0].item_name : null,
      declared: p.declared_weight_kg, measured: p.measured_weight_kg,
    });
  }
  for (const w of (data && data.waiting) || []) {
    if (!w.xray_views) continue;
    items.push({
      id: w.parcel_id, code: w.code, views: w.views || [], flagged: w.flagged, now: false,
      status: w.return_status, hasList: w.return_status != null, goods: w.goods,
      declared: w.declared_weight_kg, measured: w.measured_weight_kg,
    });
  }
  return items.sort((a, b) => (sentAt.get(a.id) ?? Infinity) - (sentAt.get(b.id) ?? Infinity));
}

function stripCard(item) {
  const officer = hasRole("officer");
  const note = fateNote(item.code, item.status, item.hasList, item.declared, item.measured);
  const done = item.flagged || flagged.has(item.id);
  const weightOk = item.declared != null && item.measured != null && !weightOff(item.declared, item.measured);
  return h("li", {
    className: `strip-item${item.now ? " now" : ""}${done ? " flagged" : ""}`,
    dataset: { parcelId: item.id, code: item.code || "", status: item.status ?? "", weightOk: String(weightOk) },
  },
  h("img", { src: item.views[0] ? `/api/evidence/${item.views[0]}/thumb` : "", alt: t("xray_view_n", 1) }),
  h("div", { className: "strip-text" },
    h("b", { className: "mono" }, item.code || t("waybill_pending")),
    h("small", {}, item.goods || "—"),
    h("span", { className: "strip-left num" }),
    item.now ? h("span", { className: "pill state-info" }, t("judging_now")) : null,
    note ? h("small", { className: "fate-note" }, note) : null),
  done ? pill("warn", t("strip_flagged"))
    : officer ? h("button", {
      type: "button", className: "strip-flag danger", disabled: flagging.has(item.id),
      onclick: () => flagParcel(item.id),
    }, t("strip_flag")) : null);
}

/** The strip in `box`; rebuilt only when its parcels or their flags change, so a focused
 * button keeps the focus while the times tick. */
export function renderStrip(box, data, sentAt) {
  const items = stripItems(data, sentAt);
  const key = JSON.stringify(items.map((i) => [i.id, i.now, i.flagged || flagged.has(i.id), flagging.has(i.id), i.views.length, i.code, i.status]));
  if (box.dataset.key !== key) {
    box.dataset.key = key;
    fill(box, h("h3", {}, t("strip_title")),
      items.length ? h("ol", { className: "strip-list" }, items.map(stripCard)) : h("p", { className: "hint" }, t("strip_none")));
  }
  tickStrip(box, sentAt);
}

/** Each strip parcel's time left. */
export function tickStrip(box, sentAt) {
  for (const li of box.querySelectorAll(".strip-item")) {
    const at = sentAt.get(Number(li.dataset.parcelId));
    const left = at == null ? null : Math.max(0, at - performance.now());
    li.querySelector(".strip-left").textContent = left == null ? "—" : `${(left / 1000).toFixed(1)} s`;
  }
}
