// The judging page in full screen (the viewer's ⛶): the current parcel's view large, its
// waybill and declaration, its countdown, and F flagging the parcel shown.
import { t } from "../i18n.js";
import { fill, h, pill } from "../dom.js";
import { declarationBlock } from "../declaration.js";
import { hasRole } from "../session.js";
import { XrayViewer } from "../xray-viewer.js";
import { fateNote } from "../fate.js";
import { flagged, flagParcel } from "./judging-flag.js";

let bigViewer = null;

const dialog = () => document.getElementById("xray-dialog");

/** Open the full screen on parcel `p` (the page's current one), its view `viewIndex`. */
export function openFullscreen(p, viewIndex) {
  const d = dialog();
  if (!bigViewer) {
    bigViewer = new XrayViewer();
    d.querySelector(".xray-big").append(bigViewer.element);
  }
  d.dataset.mode = "judging";
  d.showModal();
  renderFullscreen(p, viewIndex);
  bigViewer.draw();
}

/** Show parcel `p` (or none) in the full screen, when it is open on the judging page. */
export function renderFullscreen(p, viewIndex) {
  const d = dialog();
  if (!d.open || d.dataset.mode !== "judging" || !bigViewer) return;
  const info = d.querySelector(".xray-info");
  const id = p ? String(p.id) : "";
  if (info.dataset.parcelId !== id) {
    info.dataset.parcelId = id;
    const flashed = d.querySelector(".xray-big");
    flashed.classList.remove("switched");
    void flashed.offsetWidth; // restart the animation
    flashed.classList.add("switched");
  }
  if (!p) {
    fill(info, h("p", { className: "big-hint" }, t("judging_none")));
    return;
  }
  const views = p.xray_views || [];
  if (views.length) bigViewer.setImage(`/api/evidence/${views[Math.min(viewIndex, views.length - 1)]}`);
  const note = fateNote(p.logistics_no, p.declaration ? p.declaration.return_status : null, Boolean(p.declaration),
    p.declared_weight_kg, p.measured_weight_kg);
  fill(info,
    h("div", { className: "countdown" }, h("b"), h("small")),
    h("div", { className: "ident" },
      h("div", {}, h("small", {}, t("col_waybill")), h("b", { className: "mono" }, p.logistics_no || t("waybill_pending"))),
      p.flagged || flagged.has(p.id) ? pill("warn", t("already_flagged")) : null),
    note ? h("p", { className: "fate-note" }, note) : null,
    p.declaration ? declarationBlock(p.declaration) : null,
    hasRole("officer") ? h("p", { className: "hint" }, h("kbd", {}, "F"), " ", t("flag_button")) : null);
}

/** The full screen's keys: F flags the parcel shown (officers), the rest go to the viewer. */
export function initFullscreen() {
  const d = dialog();
  d.addEventListener("keydown", (ev) => {
    if (d.dataset.mode !== "judging" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "f" || ev.key === "F") {
      ev.preventDefault();
      const id = Number(d.querySelector(".xray-info").dataset.parcelId);
      if (id && hasRole("officer")) flagParcel(id);
    } else if (bigViewer && bigViewer.key(ev)) {
      ev.preventDefault();
    }
  });
  d.addEventListener("close", () => { delete d.dataset.mode; });
}
