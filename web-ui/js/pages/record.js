// The printable inspection record (查验记录单) of one parcel, `#/record/<id>`: the site, the
// declaration with its goods, the parcel's reads and decision with its reasons, its X-ray
// views and camera frames, officer flags, the inspection results with officer and time,
// and a line for the officer's signature. The print stylesheet (style.css, @media print)
// leaves out the console around it. Data: GET /api/parcels/{id}, GET /api/site.
import { get } from "../api.js";
import { beijing, num, reasonText, t, tOr } from "../i18n.js";
import { facts, fill, h, lanePill, unavailable } from "../dom.js";
import { declarationBlock } from "../declaration.js";

const root = () => document.getElementById("page-record");
let shownId = null;
let site = null;

function image(e, caption) {
  return h("figure", { className: "record-image" },
    h("img", { src: `/api/evidence/${e.sha256}`, alt: caption }),
    h("figcaption", {}, caption));
}

function render(d) {
  const p = d.parcel;
  const evidence = (d.evidence || []).filter((e) => e.decoded);
  const views = evidence.filter((e) => e.kind === "xray_view");
  const frames = evidence.filter((e) => e.kind !== "xray_view");
  const results = d.inspections || [];
  const last = results[results.length - 1];
  const decision = (d.timeline || []).find((ev) => ev.kind === "decision");
  fill(root().querySelector(".record"),
    h("div", { className: "record-head" },
      facts([
        [t("record_site"), site ? `${site.name} · ${site.code}` : ""],
        [t("col_waybill"), h("b", { className: "mono record-waybill" }, p.logistics_no || t("no_waybill"))],
        [t("record_parcel"), `#${p.id} · ${p.line_id} · ${t("col_tracking")} ${p.tracking_no}`],
        [t("entered_at"), beijing(p.entered_at, "full")],
        [t("record_decision"), h("span", {}, lanePill(p.lane_kind, p.lane), " ", decision ? beijing(decision.at, "full") : "")],
        [t("decision_reasons"), (p.reasons || []).map(reasonText).join(t("list_sep")) || "—"],
        [t("measured_weight"), d.measured_weight_kg != null ? `${num(d.measured_weight_kg, 3)} kg` : null],
      ])),
    h("section", { className: "block" }, h("h3", {}, t("declaration")), declarationBlock(d.declaration)),
    h("section", { className: "block" }, h("h3", {}, t("record_views")),
      views.length ? h("div", { className: "record-images" }, views.map((e, i) => image(e, `${t("xray_view_n", i + 1)} · ${beijing(e.produced_at, "full")}`)))
        : h("p", { className: "hint" }, t("none"))),
    h("section", { className: "block" }, h("h3", {}, t("record_frames")),
      frames.length ? h("div", { className: "record-images" }, frames.map((e) => image(e, `${tOr(`evidence_${e.kind}`, e.kind)} ${e.role || ""} · ${beijing(e.produced_at, "full")}`)))
        : h("p", { className: "hint" }, t("none"))),
    h("section", { className: "block" }, h("h3", {}, t("officer_flags")),
      d.flags && d.flags.length ? h("ul", { className: "plain" }, d.flags.map((f) => h("li", {}, beijing(f.at, "full"), " ", t("flag_line", f.officer, f.reason))))
        : h("p", { className: "hint" }, t("none"))),
    h("section", { className: "block" }, h("h3", {}, t("record_inspection")),
      results.length ? h("table", { className: "record-results" },
        h("thead", {}, h("tr", {}, h("th", {}, t("col_time")), h("th", {}, t("inspection_result")), h("th", {}, t("findings")), h("th", {}, t("record_officer")))),
        h("tbody", {}, results.map((r) => h("tr", {}, h("td", {}, beijing(r.at, "full")), h("td", {}, tOr(`result_${r.result}`, r.result)), h("td", {}, r.findings), h("td", {}, r.officer)))))
        : h("p", { className: "hint" }, t("record_none"))),
    h("div", { className: "record-sign" },
      h("span", {}, `${t("record_officer")}：${last ? last.officer : ""}`),
      h("span", {}, `${t("record_sign")}：＿＿＿＿＿＿＿＿`),
      h("span", {}, `${t("record_printed")}：${beijing(new Date(), "full")}`)));
  root().querySelector(".back").href = `#/parcels/${p.id}`;
  document.title = `${t("record_title")} ${p.logistics_no || `#${p.id}`}`;
}

async function load(id) {
  try {
    if (!site) site = await get("/api/site").catch(() => null);
    const d = await get(`/api/parcels/${encodeURIComponent(id)}`);
    if (String(id) !== String(shownId)) return;
    render(d);
    root().dataset.ready = String(id);
  } catch (err) {
    fill(root().querySelector(".record"), unavailable(err, t("record_title")));
  }
}

export default {
  init() {
    root().querySelector("button.print").addEventListener("click", () => window.print());
  },
  show(args) {
    const id = args && args[0];
    shownId = id;
    delete root().dataset.ready;
    fill(root().querySelector(".record"), h("p", { className: "hint" }, t("loading")));
    if (id) load(id);
  },
  hide() {
    shownId = null;
    document.title = t("app_title");
  },
};
