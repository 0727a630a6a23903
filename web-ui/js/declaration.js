// A declaration list (清单) as officers read it, on the judging page and a parcel's detail:
// trade mode with its name, destination, company, numbers, customs status, and the goods
// with HS codes, quantities in their units and totals in their currencies.
import { countryName, num, statusName, t, tOr, tradeModeName } from "./i18n.js";
import { facts, h } from "./dom.js";

function goodsTable(goods) {
  if (!goods || !goods.length) return h("p", { className: "hint" }, t("no_goods"));
  return h("table", { className: "goods" },
    h("thead", {}, h("tr", {}, h("th", {}, t("goods_name")), h("th", {}, t("hs_code")), h("th", {}, t("qty")), h("th", {}, t("total_price")))),
    h("tbody", {}, goods.map((g) => h("tr", {},
      h("td", {}, g.item_name), h("td", { className: "mono" }, g.gcode || "—"),
      h("td", { className: "num" }, g.qty != null ? `${num(g.qty, g.qty % 1 ? 2 : 0)} ${tOr(`unit_${g.unit}`, g.unit || "")}` : "—"),
      h("td", { className: "num" }, g.total_price != null ? `${num(g.total_price, 2)} ${tOr(`cur_${g.currency}`, g.currency || "")}` : "—")))));
}

/** The declaration as an officer reads it: head facts and the goods lines. */
export function declarationBlock(d) {
  if (!d) return h("p", { className: "bad" }, t("no_declaration"));
  const mode = d.trade_mode ? `${d.trade_mode} ${tradeModeName(d.trade_mode)}`.trim() : "—";
  return h("div", { className: "declaration" },
    facts([
      [t("trade_mode"), h("span", { className: "trade-mode" }, mode)],
      [t("country"), d.country ? `${d.country} ${countryName(d.country)}`.trim() : null],
      [t("ebc_name"), d.ebc_name],
      [t("order_no"), d.order_no],
      [t("invt_no"), d.invt_no],
      [t("customs_status"), d.return_status != null ? `${d.return_status} ${statusName(d.return_status)}` : undefined],
    ]),
    goodsTable(d.goods));
}
