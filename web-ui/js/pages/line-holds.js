// On each line's card of the line page: its open interceptions (waybill, lane, bag, when it
// dropped; staff record the retrieval) and its release lanes' bags (the open bag with its
// count and weight and a close button for operators; the last closed ones with their
// numbers; a bag holding an intercepted parcel marked). Data from holds.js.
import { beijing, num, t } from "../i18n.js";
import { fill, h } from "../dom.js";
import { bagText, causeText, closeButton, holds, kg, retrieveButton } from "../holds.js";

/** Closed bags shown per lane (the bag list has them all). */
const CLOSED_SHOWN = 4;

function interceptionItem(i) {
  return h("li", { className: "alarm interception", dataset: { interceptionId: i.id, parcelId: i.parcel_id } },
    "⚠ ", h("b", { className: "mono" }, i.logistics_no || t("icpt_unread")), " ",
    t("icpt_where", i.line_id, i.lane, bagText(i), beijing(i.dropped_at, "time")),
    " ", h("small", { className: "cause" }, causeText(i.cause)), " ",
    h("a", { href: `#/parcels/${i.parcel_id}` }, `#${i.parcel_id}`), " ", retrieveButton(i));
}

/** The card's interceptions block: hidden when none is open on the line. */
export function renderInterceptions(box, lineId) {
  const open = holds.open.filter((i) => i.line_id === lineId);
  const key = JSON.stringify(open.map((i) => [i.id, i.bag_no]));
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.hidden = !open.length;
  fill(box, open.length ? [
    h("h4", {}, t("icpt_line_title"), " ", h("a", { href: "#/interceptions", className: "all" }, t("icpt_all_link"))),
    h("ul", { className: "interception-list" }, open.map(interceptionItem)),
  ] : []);
}

function bagChip(bag) {
  return h("li", { className: `bag closed${bag.open_interceptions > 0 ? " marked" : ""}`, dataset: { bagId: bag.id } },
    h("b", { className: "mono" }, bag.bag_no), " ", t("bag_parcels_n", num(bag.parcels)), " · ", t("bag_weight_kg", kg(bag.measured_kg)),
    bag.open_interceptions > 0 ? h("span", { className: "pill state-down" }, t("bag_marked")) : null, " ",
    h("a", { href: `#/bag/${bag.id}` }, t("bag_list_link")));
}

function laneBlock(lineId, lane, bags) {
  const open = bags.find((b) => !b.closed_at);
  const closed = bags.filter((b) => b.closed_at).slice(0, CLOSED_SHOWN);
  return h("div", { className: "bag-lane", dataset: { lane } },
    h("h5", {}, t("bag_lane", lineId, lane)),
    open ? h("div", { className: `bag open${open.open_interceptions > 0 ? " marked" : ""}`, dataset: { bagId: open.id } },
      h("small", {}, t("bag_open_now")), " ", h("b", { className: "bag-count" }, t("bag_parcels_n", num(open.parcels))), " · ",
      h("span", { className: "bag-weight" }, t("bag_weight_kg", kg(open.measured_kg))), " ",
      open.open_interceptions > 0 ? h("span", { className: "pill state-down" }, t("bag_marked")) : null, " ",
      h("a", { href: `#/bag/${open.id}` }, t("bag_list_link")), " ", closeButton(open))
      : h("p", { className: "hint" }, t("bag_no_open")),
    closed.length ? h("ul", { className: "bags-closed plain" }, closed.map(bagChip)) : null);
}

/** The card's bags block: one part per release lane that has had a bag. */
export function renderBags(box, lineId) {
  const bags = holds.bags.filter((b) => b.line_id === lineId);
  const key = JSON.stringify(bags.map((b) => [b.id, b.parcels, b.closed_at, b.open_interceptions, b.measured_kg]));
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.hidden = !bags.length;
  const lanes = [...new Set(bags.map((b) => b.lane))].sort((a, b) => a - b);
  fill(box, bags.length ? [h("h4", {}, t("bags_title")),
    h("div", { className: "bag-lanes" }, lanes.map((lane) => laneBlock(lineId, lane, bags.filter((b) => b.lane === lane))))] : []);
}
