// The printable bag list (总包清单) of one bag, `#/bag/<id>`: its number, line and lane,
// when it was opened and closed and by whom, then every parcel with its declared and
// measured weights and the totals; an intercepted parcel still in it is marked. Printed
// on A4 by the browser (shift.css's print rules). Data: GET /api/bags/{id}.
import { get } from "../api.js";
import { beijing, num, t } from "../i18n.js";
import { facts, fill, h, pill, unavailable } from "../dom.js";
import { kg } from "../holds.js";

const root = () => document.getElementById("page-bag");

function sum(list, key) {
  const known = list.map((p) => p[key]).filter((w) => w != null);
  return known.length ? known.reduce((a, b) => a + b, 0) : null;
}

function render(d) {
  const b = d.bag;
  const parcels = d.parcels || [];
  fill(root().querySelector(".record"),
    h("div", { className: "record-head" },
      facts([
        [t("bag_number"), h("b", { className: "mono bag-number" }, b.bag_no || t("bag_unclosed"))],
        [t("line"), b.line_id], [t("col_lane"), t("bag_lane", b.line_id, b.lane)],
        [t("bag_opened_at"), beijing(b.opened_at, "full")],
        [t("bag_closed_at"), b.closed_at ? beijing(b.closed_at, "full") : t("bag_unclosed")],
        [t("bag_closed_by"), b.closed_by || "—"], [t("bag_parcel_count"), num(parcels.length)],
      ]),
      b.open_interceptions > 0 ? pill("down", t("bag_marked")) : null),
    h("table", { className: "record-results bag-list" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, t("col_waybill")), h("th", {}, t("col_declared_kg")),
        h("th", {}, t("col_measured_kg")), h("th", {}, t("col_dropped")))),
      h("tbody", {}, parcels.map((p, n) => h("tr", { className: p.interception_id != null ? "marked" : "", dataset: { parcelId: p.parcel_id } },
        h("td", { className: "num" }, String(n + 1)),
        h("td", { className: "mono" }, p.logistics_no || t("icpt_unread"), p.interception_id != null ? [" ", pill("down", t("icpt_state_open"))] : null),
        h("td", { className: "num" }, kg(p.declared_kg)), h("td", { className: "num" }, kg(p.measured_kg)),
        h("td", {}, beijing(p.dropped_at, "full"))))),
      h("tfoot", {}, h("tr", {}, h("th", {}, t("bag_total")), h("th", {}, num(parcels.length)),
        h("th", { className: "num" }, kg(sum(parcels, "declared_kg"))), h("th", { className: "num" }, kg(sum(parcels, "measured_kg"))), h("th")))),
    h("div", { className: "record-sign" }, h("span", {}, t("bag_sign")), h("span", {}, t("bag_sign_officer"))));
}

export default {
  init() {
    root().querySelector(".print").addEventListener("click", () => window.print());
  },
  async show(args) {
    const id = Number(args[0]);
    const box = root().querySelector(".record");
    fill(box, h("p", { className: "hint" }, t("loading")));
    try {
      render(await get(`/api/bags/${id}`));
    } catch (err) {
      fill(box, err.status === 404 && !err.missing ? h("p", { className: "hint" }, t("bag_not_found")) : unavailable(err, t("bag_list_title")));
    }
  },
};
