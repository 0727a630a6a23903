// The judging page's flags: the reason form, a flag sent for the parcel on screen or a strip
// parcel, and the confirmations under the form (the lane it went to, or what a late flag
// did). POST /api/parcels/{id}/flag {reason}.
import { post } from "../api.js";
import { t } from "../i18n.js";
import { fill, h, lanePill } from "../dom.js";
import { hasRole } from "../session.js";

export const flagged = new Map(); // parcel id -> flag answer, for the confirmations
export const flagging = new Set(); // parcel ids with a flag on its way
// The flag form moves into the current parcel's card, so it is kept by reference.
let flagForm = null;
// The page's hooks (initFlags): redraw after a flag starts, refresh after it ends, the
// waybill of a parcel.
let page = null;

export const form = () => flagForm;

/** Take the page's form; `hooks` are the page's render, refresh and codeOf. */
export function initFlags(formElement, hooks) {
  flagForm = formElement;
  page = hooks;
  flagForm.reason.addEventListener("change", () => {
    const other = flagForm.reason.value === "other";
    flagForm.querySelector(".other-reason").hidden = !other;
    if (other) flagForm.other.focus();
  });
}

function reasonValue() {
  const choice = flagForm.reason.value;
  if (choice === "other") return flagForm.other.value.trim();
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
  // A flag after the release decision: the answer says whether the lane was commanded
  // again or the parcel is intercepted.
  const late = f.answer.late;
  const lateText = late ? h("span", { className: `late late-${late.outcome}`, title: late.message || "" },
    t(`flag_late_${late.outcome}`, late.interception ? late.interception.id : "")) : null;
  return h("div", { className: "flagged", dataset: { parcelId: id, late: late ? late.outcome : "" }, role: "status" },
    h("b", {}, "✔ ", t("flag_done", f.answer.logistics_no || f.code || `#${id}`)),
    h("span", {}, t("flag_by", f.answer.by, f.answer.flag_id)), lateText || h("span", {}, ...outcome));
}

/** The last three confirmations, newest first. */
export function renderFlags() {
  const box = flagForm.querySelector(".flag-result");
  const ids = [...flagged.keys()].slice(-3).reverse();
  fill(box, ids.map(confirmation));
}

/** Flag parcel `id` (the one on screen when F went down, or a strip parcel's button). */
export async function flagParcel(id) {
  const box = flagForm.querySelector(".flag-result");
  if (!id || !hasRole("officer") || flagging.has(id) || flagged.has(id)) return;
  const reason = reasonValue();
  if (reason.length < 2) {
    flagForm.other.focus();
    fill(box, h("p", { className: "error" }, t("flag_reason_needed")));
    return;
  }
  flagging.add(id);
  page.render();
  try {
    const answer = await post(`/api/parcels/${id}/flag`, { reason });
    flagged.set(id, { answer, parcel: null, code: page.codeOf(id) });
    renderFlags();
  } catch (err) {
    fill(box, h("p", { className: "error" }, t("flag_failed", err.message)));
  } finally {
    flagging.delete(id);
    page.refresh();
  }
}

/** A parcel event: a flagged parcel's confirmation learns its lane. Whether it was one. */
export function flaggedParcelMoved(p) {
  if (!flagged.has(p.id)) return false;
  flagged.get(p.id).parcel = p;
  return true;
}
