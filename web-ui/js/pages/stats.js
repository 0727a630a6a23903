// Page 6, statistics: KPI tiles and charts over a time range, updated live from the event
// stream (a parcel decided, a truck through a gate; at most every few seconds) and on the
// button; each table has its CSV export. `#/stats/kiosk` is the wall screen: the same
// page filling 1920×1080 with no scrolling and no console around it. Categories keep
// fixed colours (never the lanes'), pie slices carry their labels. Charts use Chart.js 4,
// served by the controller at /vendor/chart.js (from npm, embedded; never a CDN).
// Data: GET /api/stats?from=&to=; GET /api/stats/export/{table}.csv?from=&to=&lang=.
import { get, qs } from "../api.js";
import { beijing, beijingMidnight, countryName, duration, fromBeijingInput, getLang, num, pct, t, toBeijingInput, tradeModeName } from "../i18n.js";
import * as live from "../live.js";
import { fill, h, unavailable } from "../dom.js";

const REFRESH_MS = 30000;
/** Live updates come at most this often (a busy line decides several parcels a second). */
const LIVE_MS = 3000;
/** Fixed colours of the trade modes; none is a lane colour. */
const TRADE_COLORS = { 9610: "#39c5cf", 9710: "#f0883e", 9810: "#db61a2", 1210: "#b5e853" };
/** Colours for other categories (countries, HS chapters), by a hash of the key: the same
 * key keeps its colour from one refresh to the next. None is a lane colour. */
const CATEGORY = ["#39c5cf", "#f0883e", "#db61a2", "#b5e853", "#ff7b72", "#d4a373", "#a5a5ff", "#e6edf3", "#1f9e89", "#bf3989", "#ffa657", "#6cb6ff"];
const COLORS = {
  release: "#2ea043", inspection: "#e3a008", exception: "#8e7cc3", pending: "#58a6ff",
  // Gate verdicts: their own colours, none a lane's.
  in: "#39c5cf", out: "#b5e853", refused: "#ff7b72", override: "#d4a373",
};
const root = () => document.getElementById("page-stats");
const rangeForm = () => document.getElementById("stats-range");
const charts = new Map(); // table -> Chart
let timer = null;
let last = null;
let range = null;
let liveTimer = null;
let lastLoad = 0;

function visible() {
  return !root().hidden;
}

function kiosk() {
  return document.body.classList.contains("kiosk");
}

/** A category's fixed colour. */
function categoryColor(key) {
  if (!key || key === "unknown") return "#6e7681";
  if (TRADE_COLORS[key]) return TRADE_COLORS[key];
  let hash = 0;
  for (const ch of String(key)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return CATEGORY[hash % CATEGORY.length];
}

/** Reload soon after a live event, at most every LIVE_MS. */
function liveUpdate() {
  if (!visible() || liveTimer) return;
  const wait = Math.max(0, LIVE_MS - (performance.now() - lastLoad));
  liveTimer = setTimeout(() => {
    liveTimer = null;
    load();
  }, wait);
}

/** Pie slices labelled on the chart: name and share, where the slice is big enough. */
const sliceLabels = {
  id: "sliceLabels",
  afterDatasetsDraw(chart) {
    if (chart.config.type !== "doughnut") return;
    const { ctx } = chart;
    const meta = chart.getDatasetMeta(0);
    const values = chart.data.datasets[0].data;
    const total = values.reduce((a, b) => a + (b || 0), 0);
    if (!total) return;
    ctx.save();
    ctx.font = `bold ${kiosk() ? 16 : 13}px ${getComputedStyle(document.body).fontFamily}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    meta.data.forEach((arc, i) => {
      const share = (values[i] || 0) / total;
      if (share < 0.04) return;
      const { x, y } = arc.tooltipPosition();
      const label = `${chart.data.labels[i]} ${Math.round(share * 100)}%`;
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(0,0,0,.75)";
      ctx.strokeText(label, x, y);
      ctx.fillStyle = "#fff";
      ctx.fillText(label, x, y);
    });
    ctx.restore();
  },
};

function chartLib() {
  return window.Chart || null;
}

function currentRange() {
  const f = rangeForm();
  const now = new Date();
  const ago = (hours) => new Date(now.getTime() - hours * 3600 * 1000);
  switch (f.preset.value) {
    case "24h": return { from: ago(24).toISOString(), to: now.toISOString() };
    case "7d": return { from: ago(24 * 7).toISOString(), to: now.toISOString() };
    case "30d": return { from: ago(24 * 30).toISOString(), to: now.toISOString() };
    case "custom": return { from: fromBeijingInput(f.from.value), to: fromBeijingInput(f.to.value) };
    default: return { from: beijingMidnight(now).toISOString(), to: now.toISOString() };
  }
}

async function load() {
  lastLoad = performance.now();
  range = currentRange();
  const status = root().querySelector(".stats-status");
  try {
    last = await get(`/api/stats${qs(range)}`);
    fill(status, t("stats_updated", beijing(new Date(), "time"), beijing(last.from || range.from, "full"), beijing(last.to || range.to, "full")),
      " · ", h("a", { className: "csv", href: `/api/stats/export/parcels.csv${qs({ ...range, lang: getLang() })}`, download: "parcels.csv" }, t("csv_parcels")),
      kiosk() ? [" · ", h("span", { className: "pill state-ok" }, t("kiosk_live"))] : null);
    render();
  } catch (err) {
    fill(status, unavailable(err, t("nav_stats")));
  }
}

// ---- KPI tiles ----

function tile(key, value, kind = "") {
  return h("div", { className: `kpi ${kind}`, dataset: { kpi: key } }, h("b", {}, value), h("span", {}, t(`kpi_${key}`)));
}

function renderKpis(s) {
  const lanes = s.lanes || {};
  fill(root().querySelector(".kpis"),
    tile("parcels", num(s.parcels)),
    tile("release", num(lanes.release), "release"),
    tile("inspection", num(lanes.inspection), "inspection"),
    tile("exception", num(lanes.exception), "exception"),
    tile("inspection_rate", pct(s.inspection_rate), "inspection"),
    tile("exception_rate", pct(s.exception_rate), "exception"),
    tile("weight_mismatch_rate", pct(s.weight_mismatch_rate)),
    // A site with exit lanes only pairs no entry with an exit: the lane dwell says how
    // long trucks stay instead.
    s.avg_arrival_to_departure_s != null || s.avg_lane_dwell_s == null
      ? tile("avg_arrival_to_departure", duration(s.avg_arrival_to_departure_s), "text")
      : tile("avg_lane_dwell", duration(s.avg_lane_dwell_s), "text"));
}

// ---- charts and their tables ----

function csvLink(table) {
  return h("a", { className: "csv", href: `/api/stats/export/${table}.csv${qs({ ...(range || {}), lang: getLang() })}`, download: `${table}.csv` }, t("csv_download"));
}

/** A chart's panel; `table` names its CSV export (null: the server exports no such table). */
function panel(table, titleKey, wide = false, csv = true) {
  let p = root().querySelector(`.chart-panel[data-table="${table}"]`);
  if (!p) {
    p = h("figure", { className: `chart-panel card${wide ? " wide" : ""}`, dataset: { table } },
      h("figcaption", {}, h("h3", {}), h("span", { className: "csv-slot" })),
      h("div", { className: "chart-box" }, h("canvas", { role: "img" })),
      h("details", { className: "data-table" }, h("summary", {}), h("div", { className: "table-wrap" })));
    root().querySelector(".charts").append(p);
  }
  p.querySelector("h3").textContent = t(titleKey);
  p.querySelector("canvas")?.setAttribute("aria-label", t(titleKey));
  p.querySelector("summary").textContent = t("show_table");
  fill(p.querySelector(".csv-slot"), csv ? csvLink(table) : null);
  return p;
}

function dataTable(p, head, rows) {
  fill(p.querySelector(".table-wrap"), h("table", {},
    h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { className: i ? "num" : "" }, c)))))));
}

function draw(p, table, config) {
  const Chart = chartLib();
  const box = p.querySelector(".chart-box");
  if (!Chart) {
    fill(box, h("p", { className: "unavailable" }, t("chart_missing")));
    return;
  }
  const existing = charts.get(table);
  if (existing && existing.config.type === config.type) {
    existing.data = config.data;
    existing.update("none");
    return;
  }
  if (existing) existing.destroy();
  charts.set(table, new Chart(box.querySelector("canvas"), config));
}

function bar(labels, datasets, { horizontal = false, stacked = false } = {}) {
  return {
    type: "bar",
    data: { labels, datasets },
    options: {
      indexAxis: horizontal ? "y" : "x", maintainAspectRatio: false, animation: false,
      scales: { x: { stacked, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { display: datasets.length > 1 } },
    },
  };
}

function doughnut(labels, data, colors) {
  return {
    type: "doughnut",
    data: { labels, datasets: [{ data, backgroundColor: colors, borderWidth: 0 }] },
    options: { maintainAspectRatio: false, animation: false, plugins: { legend: { position: kiosk() ? "right" : "bottom" } } },
  };
}

/** `[label, count]` rows of a breakdown; the `unknown` key in words. */
function keyed(list, label) {
  return (list || []).map((r) => [r.key && r.key !== "unknown" ? label(r.key) : t("unknown"), r.count]);
}

/** Each breakdown row's fixed colour, grey for `unknown`. */
function colorsFor(list) {
  return (list || []).map((r) => categoryColor(r.key));
}

function renderCharts(s) {
  const hours = s.parcels_per_hour || [];
  let p = panel("parcels_per_hour", "chart_parcels_per_hour", true);
  draw(p, "parcels_per_hour", bar(hours.map((r) => beijing(r.hour, "hour")), [{ label: t("kpi_parcels"), data: hours.map((r) => r.count), backgroundColor: COLORS.pending }]));
  dataTable(p, [t("hour_bj"), t("count")], hours.map((r) => [beijing(r.hour, "hour"), num(r.count)]));

  const lanes = s.lanes || {};
  const laneKeys = ["release", "inspection", "exception", "pending"];
  p = panel("lanes", "chart_lanes", false, false);
  draw(p, "lanes", doughnut(laneKeys.map((k) => t(`count_${k}`)), laneKeys.map((k) => lanes[k] || 0), laneKeys.map((k) => COLORS[k])));
  dataTable(p, [t("col_lane"), t("count")], laneKeys.map((k) => [t(`count_${k}`), num(lanes[k] || 0)]));

  const modes = keyed(s.by_trade_mode, (k) => `${k} ${tradeModeName(k)}`.trim());
  p = panel("by_trade_mode", "chart_by_trade_mode");
  draw(p, "by_trade_mode", doughnut(modes.map((r) => r[0]), modes.map((r) => r[1]), colorsFor(s.by_trade_mode)));
  dataTable(p, [t("trade_mode"), t("count")], modes.map(([k, c]) => [k, num(c)]));

  const countries = keyed(s.by_country, (k) => `${k} ${countryName(k)}`.trim());
  p = panel("by_country", "chart_by_country");
  draw(p, "by_country", bar(countries.slice(0, 12).map((r) => r[0]), [{ label: t("count"), data: countries.slice(0, 12).map((r) => r[1]), backgroundColor: colorsFor(s.by_country).slice(0, 12) }], { horizontal: true }));
  dataTable(p, [t("country"), t("count")], countries.map(([k, c]) => [k, num(c)]));

  const chapters = keyed(s.by_hs_chapter, (k) => t("hs_chapter", k));
  p = panel("by_hs_chapter", "chart_by_hs_chapter");
  draw(p, "by_hs_chapter", bar(chapters.slice(0, 12).map((r) => r[0]), [{ label: t("count"), data: chapters.slice(0, 12).map((r) => r[1]), backgroundColor: colorsFor(s.by_hs_chapter).slice(0, 12) }], { horizontal: true }));
  dataTable(p, [t("hs_chapter_col"), t("count")], chapters.map(([k, c]) => [k, num(c)]));

  const gates = s.gate_passes_per_hour || [];
  const kinds = ["in", "out", "refused", "override"];
  p = panel("gate_passes_per_hour", "chart_gate_passes_per_hour", true);
  draw(p, "gate_passes_per_hour", bar(gates.map((r) => beijing(r.hour, "hour")),
    kinds.map((k) => ({ label: t(`gp_${k}`), data: gates.map((r) => r[k] || 0), backgroundColor: COLORS[k] })), { stacked: true }));
  dataTable(p, [t("hour_bj"), ...kinds.map((k) => t(`gp_${k}`))], gates.map((r) => [beijing(r.hour, "hour"), ...kinds.map((k) => num(r[k] || 0))]));
}

function render() {
  if (!last) return;
  renderKpis(last);
  renderCharts(last);
}

function themeCharts() {
  const Chart = chartLib();
  if (!Chart) return;
  Chart.register(sliceLabels);
  Chart.defaults.color = "#c9d4df";
  Chart.defaults.borderColor = "#2a3644";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 14;
}

function fullscreen() {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen?.().catch(() => {});
  document.body.classList.toggle("bigscreen", !document.fullscreenElement);
}

export default {
  init() {
    themeCharts();
    const f = rangeForm();
    f.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
    f.preset.addEventListener("change", () => {
      const custom = f.preset.value === "custom";
      for (const l of f.querySelectorAll(".custom")) l.hidden = !custom;
      if (custom && !f.from.value) {
        f.from.value = toBeijingInput(beijingMidnight());
        f.to.value = toBeijingInput(new Date());
      }
      if (!custom) load();
    });
    f.querySelector(".fullscreen").addEventListener("click", fullscreen);
    f.querySelector(".kiosk-toggle").addEventListener("click", () => {
      location.hash = kiosk() ? "#/stats" : "#/stats/kiosk";
    });
    live.on("parcel", (p) => { if (p.lane_kind) liveUpdate(); });
    live.on("gate", liveUpdate);
    document.addEventListener("fullscreenchange", () => document.body.classList.toggle("bigscreen", Boolean(document.fullscreenElement)));
  },
  show(args) {
    const wall = Boolean(args && args[0] === "kiosk");
    if (wall !== kiosk()) {
      document.body.classList.toggle("kiosk", wall);
      for (const c of charts.values()) c.destroy();
      charts.clear();
      root().querySelector(".charts").replaceChildren();
    }
    rangeForm().querySelector(".kiosk-toggle").textContent = t(wall ? "kiosk_exit" : "kiosk");
    load();
    clearInterval(timer);
    timer = setInterval(load, REFRESH_MS);
  },
  hide() {
    clearInterval(timer);
    clearTimeout(liveTimer);
    liveTimer = null;
    if (kiosk()) {
      document.body.classList.remove("kiosk");
      for (const c of charts.values()) c.destroy();
      charts.clear();
      root().querySelector(".charts").replaceChildren();
    }
  },
  language() {
    for (const c of charts.values()) c.destroy();
    charts.clear();
    root().querySelector(".charts").replaceChildren();
  },
};
