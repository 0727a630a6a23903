// The shift handover (交接班), `#/handover`: over a chosen shift (day 08:00–20:00, night
// 20:00–08:00 Beijing time, or from–to), parcels per line and lane, alarms and how many
// still need someone, officer flags, inspection results, gate passes and every manual
// override with who and why; printable. Data: GET /api/handover?from=&to=.
import { get, qs } from "../api.js";
import { beijing, fromBeijingInput, getLang, num, t, tOr, toBeijingInput } from "../i18n.js";
import { facts, fill, h, unavailable } from "../dom.js";
import { alarmTitle } from "../alarm-words.js";

const root = () => document.getElementById("page-handover");
const form = () => document.getElementById("handover-range");

/** The current or last shift of `kind` (`day` 08–20, `night` 20–08), Beijing time. */
function shift(kind, now = new Date()) {
  const bj = new Date(now.getTime() + 8 * 3600000); // Beijing wall clock, in UTC fields
  const day = Date.UTC(bj.getUTCFullYear(), bj.getUTCMonth(), bj.getUTCDate()) - 8 * 3600000;
  const hour = bj.getUTCHours();
  let start;
  if (kind === "day") start = day + 8 * 3600000 - (hour < 8 ? 86400000 : 0);
  else start = day + 20 * 3600000 - (hour < 20 ? 86400000 : 0);
  return { from: new Date(start), to: new Date(Math.min(start + 12 * 3600000, now.getTime())) };
}

function table(head, rows) {
  return h("table", { className: "handover-table" },
    h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}

function render(d) {
  const lines = d.lines || [];
  fill(root().querySelector(".handover"),
    facts([[t("handover_span"), `${beijing(d.from, "full")} — ${beijing(d.to, "full")}`]]),
    h("section", { className: "block" }, h("h3", {}, t("handover_lines")),
      lines.length ? table([t("col_line"), t("count_release"), t("count_inspection"), t("count_exception"), t("count_pending")],
        lines.map((l) => [l.line_id, num(l.release), num(l.inspection), num(l.exception), num(l.pending)])) : h("p", { className: "hint" }, t("none"))),
    h("section", { className: "block" }, h("h3", {}, t("handover_alarms", num(d.alarms_needing_attention))),
      d.alarms.length ? table([t("alarm_what"), t("count")], d.alarms.map((a) => [alarmTitle(a.key), num(a.count)])) : h("p", { className: "hint" }, t("none"))),
    h("section", { className: "block" }, h("h3", {}, t("handover_officer", num(d.flags)), " ",
      h("a", { className: "csv no-print", href: `/api/inspections/export.csv${qs({ from: d.from, to: d.to, lang: getLang() })}`, download: "inspections.csv" }, t("inspections_csv"))),
      d.inspections.length ? table([t("inspection_result"), t("count")], d.inspections.map((i) => [tOr(`result_${i.key}`, i.key), num(i.count)])) : h("p", { className: "hint" }, t("record_none"))),
    h("section", { className: "block" }, h("h3", {}, t("handover_gates")),
      d.gate_passes.length ? table([t("verdict"), t("count")], d.gate_passes.map((g) => [tOr(`verdict_${g.key}`, g.key), num(g.count)])) : h("p", { className: "hint" }, t("none"))),
    h("section", { className: "block" }, h("h3", {}, t("handover_overrides", num(d.overrides.length))),
      d.overrides.length ? table([t("col_time"), t("gate_lane"), t("plate"), t("permit"), t("override_by"), t("col_reason")],
        d.overrides.map((o) => [beijing(o.at, "full"), o.gate_id, o.plate || "—", o.permit_no || "—", o.by || "", o.reason || ""])) : h("p", { className: "hint" }, t("none"))),
    h("div", { className: "record-sign" },
      h("span", {}, `${t("handover_out")}：＿＿＿＿＿＿`), h("span", {}, `${t("handover_in")}：＿＿＿＿＿＿`),
      h("span", {}, `${t("record_printed")}：${beijing(new Date(), "full")}`)));
  root().dataset.ready = "1";
}

async function load() {
  const f = form();
  let range;
  if (f.preset.value === "custom") range = { from: fromBeijingInput(f.from.value), to: fromBeijingInput(f.to.value) };
  else {
    const s = shift(f.preset.value);
    range = { from: s.from.toISOString(), to: s.to.toISOString() };
  }
  delete root().dataset.ready;
  try {
    render(await get(`/api/handover${qs(range)}`));
  } catch (err) {
    fill(root().querySelector(".handover"), unavailable(err, t("handover_title")));
  }
}

export default {
  init() {
    const f = form();
    f.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
    f.preset.addEventListener("change", () => {
      const custom = f.preset.value === "custom";
      for (const l of f.querySelectorAll(".custom")) l.hidden = !custom;
      if (custom && !f.from.value) {
        const s = shift("day");
        f.from.value = toBeijingInput(s.from);
        f.to.value = toBeijingInput(s.to);
      }
      if (!custom) load();
    });
    root().querySelector("button.print").addEventListener("click", () => window.print());
  },
  show() {
    const f = form();
    if (!f.dataset.picked) {
      const hour = (new Date().getUTCHours() + 8) % 24;
      f.preset.value = hour >= 8 && hour < 20 ? "day" : "night";
      f.dataset.picked = "1";
    }
    load();
  },
};
