// Page 8, alarms: every alarm that needs someone (open, or cleared but never acknowledged:
// it stays until someone acknowledges it), operators acknowledge them here; and the history
// of every alarm raised, cleared and acknowledged, with who and when, over a chosen range.
// Every alarm in words from its code; the device's own detail on demand.
// Data: GET /api/alarms (through the header's bell), GET /api/alarms/history; POST
// /api/alarms/{id}/ack.
import { get, post, qs } from "../api.js";
import { beijing, beijingMidnight, t } from "../i18n.js";
import { banner, fill, h, pill, unavailable } from "../dom.js";
import { hasRole } from "../session.js";
import { alarmTitle, sourceText } from "../alarm-words.js";
import { current, onAlarms, pollSoon } from "../alarm-bell.js";

const root = () => document.getElementById("page-alarms");

function visible() {
  return !root().hidden;
}

function technical(a) {
  return h("details", { className: "tech" }, h("summary", {}, t("alarm_tech")),
    h("code", {}, `${a.source} · ${a.kind}${a.detail ? ` · ${a.detail}` : ""}`));
}

async function acknowledge(id, button) {
  button.disabled = true;
  try {
    await post(`/api/alarms/${id}/ack`);
    banner(t("alarm_acked_done"), "ok");
    pollSoon();
    loadHistory();
  } catch (err) {
    banner(t("action_failed", t("alarm_ack"), err.message), "bad");
    button.disabled = false;
  }
}

function stateOf(a) {
  if (!a.cleared_at) return pill("down", t("alarm_open_state"));
  if (!a.acked_by) return pill("warn", t("alarm_cleared_unacked"));
  return pill("ok", t("alarm_cleared"));
}

/** Draw what needs attention; true when it changed. */
function renderAttention(answer) {
  if (!visible()) return false;
  const list = root().querySelector(".attention");
  const key = JSON.stringify(answer.alarms.map((a) => [a.id, a.cleared_at, a.acked_by]));
  if (list.dataset.key === key) return false;
  list.dataset.key = key;
  if (!answer.alarms.length) {
    fill(list, h("li", { className: "no-alarm" }, t("alarms_attention_none")));
    return true;
  }
  fill(list, answer.alarms.map((a) => h("li", {
    className: `alarm${a.acked_by ? " acked" : ""}${a.cleared_at ? " cleared" : ""}`, dataset: { alarmId: a.id, kind: a.kind },
  },
  h("time", {}, beijing(a.at, "short")), " ⚠ ", h("b", {}, alarmTitle(a.kind)), " ",
  h("span", { className: "source" }, sourceText(a.source)), " ", stateOf(a), " ",
  a.parcel_id ? h("a", { href: `#/parcels/${a.parcel_id}` }, `#${a.parcel_id}`) : null, " ",
  a.acked_by ? h("small", { className: "acked" }, t("alarm_acked_by", a.acked_by, beijing(a.acked_at, "time")))
    : hasRole("operator", "admin") && a.id > 0
      ? h("button", { type: "button", className: "ack", onclick: (ev) => acknowledge(a.id, ev.currentTarget) }, t("alarm_ack"))
      : null,
  technical(a))));
  return true;
}

function rangeFrom(preset) {
  const now = new Date();
  if (preset === "today") return beijingMidnight(now);
  const days = { "24h": 1, "7d": 7, "30d": 30 }[preset] || 1;
  return new Date(now.getTime() - days * 86400000);
}

async function loadHistory() {
  const body = root().querySelector(".alarm-history tbody");
  const preset = document.getElementById("alarm-range").preset.value;
  try {
    const list = await get(`/api/alarms/history${qs({ from: rangeFrom(preset).toISOString(), limit: 1000 })}`);
    fill(body, list.map((a) => h("tr", { dataset: { alarmId: a.id } },
      h("td", {}, beijing(a.at, "full")), h("td", {}, sourceText(a.source)), h("td", {}, alarmTitle(a.kind)),
      h("td", {}, a.cleared_at ? beijing(a.cleared_at, "full") : pill("down", t("alarm_open_state"))),
      h("td", {}, a.acked_by ? `${a.acked_by} · ${beijing(a.acked_at, "full")}` : pill("warn", t("alarm_not_acked"))),
      h("td", {}, technical(a)))));
  } catch (err) {
    fill(body, h("tr", {}, h("td", { colSpan: 6 }, unavailable(err, t("alarms_history")))));
  }
}

export default {
  init() {
    onAlarms((answer) => {
      // Something changed in what needs attention: the history moved too.
      if (renderAttention(answer)) loadHistory();
    });
    document.getElementById("alarm-range").addEventListener("submit", (ev) => {
      ev.preventDefault();
      loadHistory();
    });
  },
  show() {
    delete root().querySelector(".attention").dataset.key;
    renderAttention(current());
    pollSoon();
    loadHistory();
  },
  language() {
    delete root().querySelector(".attention").dataset.key;
  },
};
