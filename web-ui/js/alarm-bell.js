// The header's alarms on every page: the count nobody has acknowledged yet (a link to the
// alarm page), a sound when a new alarm comes (muted per user, remembered in this browser),
// and a banner naming it. Reads GET /api/alarms every few seconds and soon after any live
// event that may carry one (line, gate, device, parcel interceptions). An interception
// (a held parcel in a release lane) rings again every RING_AGAIN_MS until someone
// acknowledges it: goods must not leave while nobody has it in hand.
import { get } from "./api.js";
import { t } from "./i18n.js";
import * as live from "./live.js";
import { banner } from "./dom.js";
import { session } from "./session.js";
import { alarmTitle, sourceText } from "./alarm-words.js";

const POLL_MS = 4000;
const RING_AGAIN_MS = 8000;
const INTERCEPTION = "interception";
const $ = (id) => document.getElementById(id);
let seen = null; // ids already known (null before the first answer: no sound for the old)
let timer = null;
let soon = null;
let listeners = new Set();
let last = { unacked: 0, alarms: [] };
let lastRing = 0;

function muteKey() {
  return `alarm-mute:${session.me ? session.me.username : ""}`;
}

/** Whether this user muted the alarm sound. */
export function muted() {
  return localStorage.getItem(muteKey()) === "1";
}

function renderMute() {
  const b = $("alarm-mute");
  b.textContent = muted() ? t("unmute") : t("mute");
  b.classList.toggle("muted", muted());
  b.setAttribute("aria-label", muted() ? t("unmute") : t("mute"));
  b.setAttribute("aria-pressed", String(muted()));
}

/** Play the alarm sound once (unless muted); counted on the element for whoever checks. */
export function ring() {
  if (muted()) return;
  const audio = $("alarm-sound");
  audio.currentTime = 0;
  const played = audio.play();
  if (played && played.catch) played.catch(() => {});
  lastRing = performance.now();
}

/** Interception alarms nobody has acknowledged yet. */
export function unackedInterceptions(answer = last) {
  return answer.alarms.filter((a) => a.kind === INTERCEPTION && !a.acked_by && !a.cleared_at);
}

function render() {
  const bell = $("alarm-bell");
  bell.hidden = !session.me;
  $("alarm-mute").hidden = !session.me;
  bell.querySelector(".bell-count").textContent = String(last.unacked);
  bell.classList.toggle("active", last.unacked > 0);
  bell.title = last.unacked ? t("alarms_header", last.unacked) : t("alarms_none_header");
  bell.setAttribute("aria-label", bell.title);
  renderMute();
}

async function poll() {
  clearTimeout(soon);
  soon = null;
  if (!session.me) return;
  try {
    last = await get("/api/alarms");
  } catch {
    return;
  }
  const fresh = seen ? last.alarms.filter((a) => !seen.has(a.id) && !a.acked_by) : [];
  seen = new Set(last.alarms.map((a) => a.id));
  render();
  if (fresh.length) {
    const a = fresh.find((f) => f.kind === INTERCEPTION) || fresh[0];
    const text = `${alarmTitle(a.kind)} · ${sourceText(a.source)}`;
    banner(a.kind === INTERCEPTION ? t("interception_banner", text) : t("alarm_new_banner", text), "bad");
    ring();
  } else if (unackedInterceptions().length && performance.now() - lastRing >= RING_AGAIN_MS) {
    ring();
  }
  for (const fn of listeners) fn(last);
}

/** Poll soon (a live event may have raised or cleared one). */
export function pollSoon() {
  if (!soon) soon = setTimeout(poll, 600);
}

/** Call `fn(answer)` after every answer of GET /api/alarms. */
export function onAlarms(fn) {
  listeners.add(fn);
  fn(last);
  return () => listeners.delete(fn);
}

/** The newest answer. */
export function current() {
  return last;
}

/** Start with the session (once). */
export function start() {
  if (timer) return;
  seen = null;
  render();
  poll();
  timer = setInterval(poll, POLL_MS);
}

/** Stop at logout. */
export function stop() {
  clearInterval(timer);
  timer = null;
  render();
}

/** Words changed language. */
export function language() {
  render();
}

$("alarm-mute").addEventListener("click", () => {
  localStorage.setItem(muteKey(), muted() ? "0" : "1");
  renderMute();
});
const audio = $("alarm-sound");
audio.addEventListener("playing", () => {
  audio.dataset.plays = String(Number(audio.dataset.plays || 0) + 1);
});
let lastLine = 0;
live.on("line", () => {
  // Belt updates come many times a second: look at most every 2 s for their sake.
  const now = performance.now();
  if (now - lastLine > 2000) {
    lastLine = now;
    pollSoon();
  }
});
live.on("gate", pollSoon);
live.on("device", pollSoon);
live.on("open", pollSoon);
