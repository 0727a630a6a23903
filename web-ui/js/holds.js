// Interceptions and bags, shared by the line page, the interception list and the bag list:
// the data (GET /api/interceptions, GET /api/bags, reloaded together and on demand), the
// words for a hold's cause, and the two dialogs (record a retrieval: POST
// /api/interceptions/{id}/retrieval {scan | reason}; close a bag: POST /api/bags/close
// {line, lane, bag_no}). The server checks the roles; the buttons show only for them.
import { get, post } from "./api.js";
import { beijing, has, num, t } from "./i18n.js";
import { banner, h, openDialog } from "./dom.js";
import { hasRole } from "./session.js";
import { onAlarms, pollSoon } from "./alarm-bell.js";

const listeners = new Set();
/** The newest answers: `open` interceptions, `all` (when asked for), `bags`. */
export const holds = { open: [], all: null, bags: [], error: null };
let loading = null;
let wantAll = false;
let retrieving = null; // the interception the dialog is for
let closing = null; // {line, lane} the bag dialog is for

/** Call `fn()` after every reload. */
export function onHolds(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Reload interceptions and bags (`all`: the retrieved interceptions too, from now on). */
export function reload({ all = false } = {}) {
  wantAll = wantAll || all;
  if (loading) return loading;
  loading = (async () => {
    try {
      const [open, bags, every] = await Promise.all([
        get("/api/interceptions"), get("/api/bags"), wantAll ? get("/api/interceptions?all=true") : null,
      ]);
      Object.assign(holds, { open, bags, error: null });
      if (every) holds.all = every;
    } catch (err) {
      holds.error = err;
    }
    loading = null;
    for (const fn of listeners) fn();
  })();
  return loading;
}

// A new or acknowledged interception alarm: look again soon.
let alarmKey = "";
onAlarms((answer) => {
  const key = answer.alarms.filter((a) => a.kind === "interception").map((a) => a.id).join(",");
  if (key !== alarmKey) {
    alarmKey = key;
    reload();
  }
});

// ---- words ----

/** A hold's cause (`status:500`, `instruction:inspect`, `officer_flag:7`, `decided:exception`)
 * in words. */
export function causeText(cause) {
  const c = String(cause || "");
  const [family, rest = ""] = c.split(":");
  const tail = rest.replace(/ \(while deciding\)$/, "");
  if (family === "status") return t("cause_status", tail);
  if (family === "instruction") return has(`cause_instruction_${tail}`) ? t(`cause_instruction_${tail}`) : c;
  if (family === "officer_flag") return t("cause_officer_flag", tail);
  if (family === "decided") return t("cause_decided", tail);
  if (family === "undecided") return t("cause_undecided");
  return c;
}

/** The bag an interception's parcel went into, as shown. */
export function bagText(i) {
  if (i.bag_no) return i.bag_no;
  return i.bag_id != null ? t("icpt_bag_open", i.bag_id) : "—";
}

/** How a retrieval was recorded, in words. */
export function retrievalText(i) {
  if (!i.retrieved_at) return "";
  const who = `${i.retrieved_by || "?"} · ${beijing(i.retrieved_at, "short")}`;
  return i.retrieval_scan ? t("icpt_by_scan", who, i.retrieval_scan) : t("icpt_by_hand", who, i.retrieval_reason || "");
}

/** A weight in kg with three decimals, or a dash. */
export function kg(w) {
  return w == null ? "—" : num(w, 3);
}

// ---- recording a retrieval ----

/** The "record retrieval" button for an open interception (staff only). */
export function retrieveButton(i) {
  if (i.retrieved_at || !hasRole("operator", "officer", "admin")) return null;
  return h("button", { type: "button", className: "retrieve danger", dataset: { interceptionId: i.id }, onclick: () => askRetrieval(i) }, t("icpt_record"));
}

function askRetrieval(i) {
  retrieving = i;
  const dialog = document.getElementById("retrieval-dialog");
  dialog.querySelector("form").reset();
  dialog.querySelector(".what").textContent = t("icpt_item", i.logistics_no || t("icpt_unread"), i.line_id, i.lane,
    bagText(i), beijing(i.dropped_at, "short"));
  openDialog(dialog);
  dialog.querySelector("input[name=scan]").focus();
}

async function submitRetrieval(ev) {
  ev.preventDefault();
  const form = ev.target;
  const error = form.querySelector(".error");
  const scan = form.scan.value.trim();
  const reason = form.reason.value.trim();
  if (!scan && !reason) {
    error.textContent = t("icpt_need_scan_or_reason");
    form.reason.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const body = scan ? { scan } : { reason };
    if (scan && reason) body.reason = reason;
    const done = await post(`/api/interceptions/${retrieving.id}/retrieval`, body);
    document.getElementById("retrieval-dialog").close();
    banner(t("icpt_recorded", done.logistics_no || t("icpt_unread")), "ok");
    pollSoon();
    reload();
  } catch (err) {
    error.textContent = t("action_failed", t("icpt_record"), err.message);
  } finally {
    button.disabled = false;
  }
}

// ---- closing a bag ----

/** The "close bag" button for a lane's open bag (operators and administrators, as the
 * API requires). */
export function closeButton(bag) {
  if (!hasRole("operator", "admin")) return null;
  return h("button", { type: "button", className: "close-bag", dataset: { line: bag.line_id, lane: bag.lane }, onclick: () => askClose(bag) }, t("bag_close"));
}

function askClose(bag) {
  closing = { line: bag.line_id, lane: bag.lane };
  const dialog = document.getElementById("bag-close-dialog");
  dialog.querySelector("form").reset();
  dialog.querySelector(".what").textContent = t("bag_close_title", bag.line_id, bag.lane);
  dialog.querySelector(".count").textContent = `${t("bag_parcels_n", num(bag.parcels))} · ${t("bag_weight_kg", kg(bag.measured_kg))}`;
  openDialog(dialog);
  dialog.querySelector("input[name=bag_no]").focus();
}

async function submitClose(ev) {
  ev.preventDefault();
  const form = ev.target;
  const error = form.querySelector(".error");
  const bagNo = form.bag_no.value.trim();
  if (!bagNo) {
    error.textContent = t("bag_no_empty");
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await post("/api/bags/close", { line: closing.line, lane: Number(closing.lane), bag_no: bagNo });
    document.getElementById("bag-close-dialog").close();
    banner(t("bag_closed_done", bagNo), "ok");
    reload();
  } catch (err) {
    error.textContent = t("action_failed", t("bag_close"), err.message);
  } finally {
    button.disabled = false;
  }
}

document.querySelector("#retrieval-dialog form").addEventListener("submit", submitRetrieval);
document.querySelector("#bag-close-dialog form").addEventListener("submit", submitClose);
