// Page 3, parcel search: by waybill, order, list number or tracking number (`input#search`
// takes any of them), exact fields, and a time range in Beijing time; newest first, a page
// at a time. `#/parcels/<id>` shows one parcel (parcel-detail.js).
// Data: GET /api/parcels/search?q=&waybill=&order_no=&invt_no=&from=&to=&limit=&before_id=
import { get, qs } from "../api.js";
import { beijing, fromBeijingInput, t, tradeModeName } from "../i18n.js";
import { fill, h, lanePill, outcomeCell, reasonsText, unavailable } from "../dom.js";
import * as detail from "./parcel-detail.js";

const PAGE = 50;
const root = () => document.getElementById("page-parcels");
const searchForm = () => document.getElementById("search-form");
let nextBefore = null;
let lastQuery = null;
let results = [];
let error = null;

function query() {
  const f = searchForm();
  return {
    q: f.q.value.trim(),
    waybill: f.waybill.value.trim(),
    order_no: f.order_no.value.trim(),
    invt_no: f.invt_no.value.trim(),
    from: fromBeijingInput(f.from.value),
    to: fromBeijingInput(f.to.value),
    lane_kind: f.lane_kind.value,
  };
}

function row(p) {
  const mode = p.trade_mode ? `${p.trade_mode} ${tradeModeName(p.trade_mode)}` : "";
  return h("tr", { dataset: { id: p.id } },
    h("td", {}, beijing(p.entered_at, "full")),
    h("td", {}, p.line_id),
    h("td", {},
      h("a", { href: `#/parcels/${p.id}`, className: "mono" }, p.logistics_no || t("no_waybill_n", p.tracking_no)),
      p.invt_no || p.order_no ? h("small", { className: "sub" }, [p.order_no, p.invt_no].filter(Boolean).join(" · ")) : null,
      mode || p.country ? h("small", { className: "sub" }, [mode, p.country].filter(Boolean).join(" · ")) : null),
    h("td", {}, lanePill(p.lane_kind, p.lane)),
    h("td", { className: "reason" }, reasonsText(p.reasons)),
    outcomeCell(p));
}

function render() {
  const status = root().querySelector(".search-status");
  const body = root().querySelector(".results tbody");
  if (error) {
    fill(status, unavailable(error, t("nav_parcels")));
    fill(body);
  } else {
    status.textContent = lastQuery ? t("search_found", results.length, nextBefore ? "+" : "") : "";
    fill(body, results.map(row));
  }
  root().querySelector(".more").hidden = !nextBefore;
}

async function search(more = false) {
  if (!more) {
    lastQuery = query();
    results = [];
    nextBefore = null;
  }
  const status = root().querySelector(".search-status");
  status.textContent = t("searching");
  try {
    const page = await get(`/api/parcels/search${qs({ ...lastQuery, limit: PAGE, before_id: more ? nextBefore : "" })}`);
    error = null;
    results = results.concat(page.parcels || []);
    nextBefore = page.next_before_id ?? null;
  } catch (err) {
    error = err;
  }
  render();
  // A field the server could not read is named: put the cursor there.
  const field = error && error.body && error.body.parameter;
  if (field && searchForm()[field]) searchForm()[field].focus();
}

function showSearch() {
  detail.hide();
  root().querySelector(".search-view").hidden = false;
  root().querySelector(".detail-view").hidden = true;
  if (!lastQuery) search();
  else render();
}

export default {
  init() {
    const f = searchForm();
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      search();
    });
    f.addEventListener("reset", () => setTimeout(() => search(), 0));
    root().querySelector(".more").addEventListener("click", () => search(true));
    detail.init();
  },
  show(args) {
    const id = args && args[0];
    if (id) {
      root().querySelector(".search-view").hidden = true;
      root().querySelector(".detail-view").hidden = false;
      detail.show(id);
    } else {
      showSearch();
    }
  },
  hide() {
    detail.hide();
  },
  /** The X-ray tools' keys on a parcel's detail. */
  key(ev) {
    return detail.key(ev);
  },
};
