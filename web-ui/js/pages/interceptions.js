// Page 9, interceptions: held parcels that dropped into a release lane. Those still to
// retrieve first (staff record the retrieval: a scan of the label or, by hand, a reason),
// then every interception with who retrieved it and how. Data: GET /api/interceptions
// (?all=true) through holds.js; POST /api/interceptions/{id}/retrieval.
import { beijing, t } from "../i18n.js";
import { fill, h, pill, unavailable } from "../dom.js";
import { bagText, causeText, holds, onHolds, reload, retrieveButton, retrievalText } from "../holds.js";

const RELOAD_MS = 5000;
const root = () => document.getElementById("page-interceptions");
let timer = null;

function visible() {
  return !root().hidden;
}

function row(i) {
  return h("tr", { className: i.retrieved_at ? "retrieved" : "open", dataset: { interceptionId: i.id } },
    h("td", {}, beijing(i.opened_at, "short")),
    h("td", {}, h("a", { href: `#/parcels/${i.parcel_id}`, className: "mono" }, i.logistics_no || t("icpt_unread"))),
    h("td", {}, i.line_id), h("td", { className: "num" }, String(i.lane)),
    h("td", {}, i.bag_id != null ? h("a", { href: `#/bag/${i.bag_id}`, className: "mono" }, bagText(i)) : "—"),
    h("td", {}, beijing(i.dropped_at, "short")), h("td", { className: "reason" }, causeText(i.cause)),
    h("td", {}, i.retrieved_at ? pill("ok", t("icpt_state_retrieved")) : pill("down", t("icpt_state_open"))),
    h("td", { className: "retrieval" }, i.retrieved_at ? retrievalText(i) : retrieveButton(i)));
}

function table(list, empty) {
  const body = list.length ? list.map(row) : h("tr", {}, h("td", { colSpan: 9, className: "hint" }, empty));
  return body;
}

function render() {
  if (!visible()) return;
  if (holds.error && !holds.open.length) {
    fill(root().querySelector(".icpt-open tbody"), h("tr", {}, h("td", { colSpan: 9 }, unavailable(holds.error, t("nav_interceptions")))));
    return;
  }
  fill(root().querySelector(".icpt-open tbody"), table(holds.open, t("icpt_none")));
  fill(root().querySelector(".icpt-all tbody"), table(holds.all || [], t("icpt_none_all")));
}

export default {
  init() {
    onHolds(render);
  },
  show() {
    render();
    reload({ all: true });
    clearInterval(timer);
    timer = setInterval(() => reload({ all: true }), RELOAD_MS);
  },
  hide() {
    clearInterval(timer);
  },
};
