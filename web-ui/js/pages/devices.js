// Page 5, devices: every PLC, scanner, X-ray feed, camera and gate device with its state,
// since when, last seen, reconnects and errors; a camera row opens its live view (MJPEG);
// and the platform link. Data: GET /api/devices, GET /api/sync (GET /healthz when the
// device list is not available).
import { get } from "../api.js";
import { beijing, num, t, tOr } from "../i18n.js";
import { facts, fill, h, openDialog, pill, statePill, unavailable } from "../dom.js";
import { deviceText } from "../device-words.js";

const root = () => document.getElementById("page-devices");
let timer = null;

function cameraCell(d) {
  if (d.kind !== "camera") return deviceText(d.name || d.id);
  return h("button", { type: "button", className: "link camera-open", dataset: { camera: d.id }, onclick: () => openCamera(d) },
    "▶ ", d.name || d.id);
}

function deviceRow(d) {
  return h("tr", { dataset: { device: d.id, kind: d.kind } },
    h("td", {}, tOr(`kind_${d.kind}`, d.kind)),
    h("td", {}, cameraCell(d)),
    h("td", {}, d.line_or_gate || "—"),
    h("td", {}, statePill(d.state)),
    h("td", {}, beijing(d.since, "short") || "—"),
    h("td", {}, beijing(d.last_seen, "short") || "—"),
    h("td", { className: "num" }, num(d.reconnects ?? null)),
    h("td", { className: `num${d.errors ? " bad" : ""}` }, num(d.errors ?? null)),
    h("td", { className: "reason", title: d.detail || "" }, deviceText(d.detail || "")));
}

/** Rows made from /healthz subsystems when GET /api/devices is not there. */
async function fromHealth() {
  const res = await fetch("/healthz");
  const body = await res.json();
  return Object.entries(body.subsystems || {}).map(([name, s]) => ({
    id: name, kind: name.split(/[.:/]/)[0], name, line_or_gate: "", state: s.state, detail: s.detail,
  }));
}

async function loadDevices() {
  const body = root().querySelector(".devices tbody");
  let rows;
  let note = null;
  try {
    const answer = await get("/api/devices");
    rows = Array.isArray(answer) ? answer : answer.devices || [];
  } catch (err) {
    try {
      rows = await fromHealth();
      note = h("tr", {}, h("td", { colSpan: 9 }, unavailable(err, t("nav_devices")), h("small", {}, t("devices_from_health"))));
    } catch {
      fill(body, h("tr", {}, h("td", { colSpan: 9 }, unavailable(err, t("nav_devices")))));
      return;
    }
  }
  fill(body, note, rows.map(deviceRow));
}

async function loadSync() {
  const box = root().querySelector(".sync");
  try {
    const s = await get("/api/sync");
    if (!s.configured) return fill(box, h("p", { className: "hint" }, t("sync_not_configured")));
    const link = s.link || {};
    const streams = s.streams || [];
    fill(box,
      h("div", { className: "sync-head" }, pill(link.connected ? "ok" : "down", t(link.connected ? "sync_up" : "sync_down"))),
      facts([
        [t("sync_connects"), num(link.connects)], [t("sync_published"), num(link.published)],
        [t("sync_resent"), num(link.resent)], [t("sync_acks"), num(link.acks)],
        [t("sync_applied"), num(link.applied)], [t("sync_dead_letters"), num(link.dead_letters)],
      ]),
      h("table", { className: "streams" },
        h("thead", {}, h("tr", {}, ["sync_stream", "sync_last_seq", "sync_acked_seq", "sync_pending", "sync_pending_bytes", "sync_suppressed"].map((k) => h("th", {}, t(k))))),
        h("tbody", {}, streams.map((st) => h("tr", {},
          h("td", {}, st.stream), h("td", { className: "num" }, num(st.last_seq)), h("td", { className: "num" }, num(st.acked_seq)),
          h("td", { className: `num${st.pending_rows ? " warn" : ""}` }, num(st.pending_rows)),
          h("td", { className: "num" }, num(st.pending_bytes)), h("td", { className: "num" }, num(st.suppressed)))))),
      (s.dead_letters || []).length ? h("details", {}, h("summary", {}, t("sync_dead_letter_list", s.dead_letters.length)),
        h("ul", { className: "plain" }, s.dead_letters.map((d) => h("li", {}, h("time", {}, beijing(d.received_at, "full")), ` ${d.topic} · ${d.reason}: ${d.detail}`)))) : null);
  } catch (err) {
    fill(box, unavailable(err, t("platform_link")));
  }
}

function openCamera(d) {
  const dialog = document.getElementById("camera-dialog");
  const img = dialog.querySelector("img");
  dialog.querySelector("#camera-title").textContent = `${t("camera_live")} · ${d.name || d.id}`;
  dialog.querySelector(".error").textContent = "";
  img.onerror = () => { dialog.querySelector(".error").textContent = t("camera_failed"); };
  img.alt = d.name || d.id;
  const camera = d.id.startsWith("camera:") ? d.id.slice("camera:".length) : d.id;
  img.src = `/api/cameras/${encodeURIComponent(camera)}/live`;
  // Closing ends the stream: the browser drops the MJPEG connection with the src.
  dialog.addEventListener("close", () => { img.removeAttribute("src"); }, { once: true });
  openDialog(dialog);
}

function refresh() {
  loadDevices();
  loadSync();
}

export default {
  show() {
    refresh();
    clearInterval(timer);
    timer = setInterval(refresh, 5000);
  },
  hide() {
    clearInterval(timer);
  },
};
