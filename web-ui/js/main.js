// The console: first-start setup and login, the header, the hash router and the keyboard
// shortcuts (1–9 pages, / search, Esc closes dialogs; pages add their own, like F).
import { applyStatic, beijing, getLang, onLanguage, setLang, t, tOr } from "./i18n.js";
import { ApiError, get, onAuthLost, post, setCsrf } from "./api.js";
import * as live from "./live.js";
import { banner, openDialog } from "./dom.js";
import { session } from "./session.js";
import line from "./pages/line.js";
import judging from "./pages/judging.js";
import parcels from "./pages/parcels.js";
import gates from "./pages/gates.js";
import devices from "./pages/devices.js";
import stats from "./pages/stats.js";
import accounts from "./pages/accounts.js";
import alarms from "./pages/alarms.js";
import record from "./pages/record.js";
import handover from "./pages/handover.js";
import interceptions from "./pages/interceptions.js";
import bag from "./pages/bag.js";
import * as bell from "./alarm-bell.js";

const PAGES = { line, judging, parcels, gates, devices, stats, accounts, alarms, record, handover, interceptions, bag };
// Pages by their number key (the record page is reached from a parcel, the bag list from a
// bag, not by a key).
const ORDER = ["line", "judging", "parcels", "gates", "devices", "stats", "accounts", "alarms", "interceptions"];
const $ = (sel) => document.querySelector(sel);

let current = null; // name of the page shown
let setupMode = false;

// ---- login and first-start setup ----

function showLogin(setup, message = "") {
  setupMode = setup;
  live.stop();
  bell.stop();
  if (current) PAGES[current].hide?.();
  current = null;
  session.me = null;
  for (const id of ["content", "nav", "shortcuts", "logout", "who", "my-password"]) document.getElementById(id).hidden = true;
  const form = $("#login");
  form.hidden = false;
  $("#login-title").textContent = t(setup ? "setup_title" : "login_title");
  $("#login-hint").textContent = setup ? t("setup_hint") : message;
  $("#login-display").hidden = !setup;
  form.password.autocomplete = setup ? "new-password" : "current-password";
  form.querySelector("button[type=submit]").textContent = t(setup ? "setup_button" : "login_button");
  form.username.focus();
}

function loginError(err) {
  if (err.status === 423) return t("login_locked", beijing(err.body?.locked_until, "full"));
  if (err.status === 429) return t("login_rate_limited", err.body?.retry_after_s ?? "");
  if (err.status === 401) return t("login_wrong");
  return t("login_failed", err.message);
}

$("#login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const error = $("#login-error");
  error.textContent = "";
  const username = form.username.value.trim();
  const password = form.password.value;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    if (setupMode) {
      await post("/api/setup", { username, password, display_name: form.display_name.value.trim() }).catch((e) => {
        if (e.status !== 409) throw e; // someone else set it up meanwhile: log in
      });
    }
    const me = await post("/api/login", { username, password });
    form.reset();
    enter(me);
  } catch (err) {
    error.textContent = err instanceof ApiError ? loginError(err) : String(err);
  } finally {
    button.disabled = false;
  }
});

// ---- the logged-in console ----

let lastUser = null;

function enter(me) {
  if (lastUser && lastUser !== me.username) {
    // Someone else logs in where a session ended: start from a fresh page.
    location.reload();
    return;
  }
  lastUser = me.username;
  session.me = me;
  localStorage.setItem("had-session", "1");
  setCsrf(me.csrf);
  $("#login").hidden = true;
  for (const id of ["content", "nav", "shortcuts", "logout", "who", "my-password"]) document.getElementById(id).hidden = false;
  $("#my-password").hidden = me.via === "bearer";
  renderWho();
  $('#nav a[data-page="accounts"]').hidden = me.role !== "admin";
  get("/api/site").then((s) => { $("#site").textContent = `${s.name} · ${s.code}`; }).catch(() => {});
  live.start(sessionStillValid);
  bell.start();
  const route = parseHash();
  if (!route.page || !allowed(route.page)) location.hash = `#/${defaultPage(me.role)}`;
  else route_();
}

function renderWho() {
  const me = session.me;
  if (!me) return;
  $("#who-name").textContent = me.display_name || me.username;
  const role = $("#who-role");
  role.textContent = tOr(`role_${me.role}`, me.role);
  role.className = `pill role role-${me.role}`;
}

/** The page each role starts on. */
function defaultPage(role) {
  return { viewer: "stats", officer: "judging" }[role] || "line";
}

function allowed(page) {
  return page in PAGES && (page !== "accounts" || session.me?.role === "admin");
}

async function sessionStillValid() {
  try {
    await get("/api/me");
    return true;
  } catch (e) {
    return !(e instanceof ApiError && (e.status === 401 || e.status === 409));
  }
}

$("#logout").addEventListener("click", async () => {
  try {
    await post("/api/logout");
  } catch {
    // Logged out either way.
  }
  setCsrf(null);
  localStorage.removeItem("had-session");
  // A fresh page: nothing of this person's session stays in memory for the next one.
  sessionStorage.setItem("logged-out", "1");
  location.replace(location.pathname);
});

onAuthLost(
  () => { if (session.me) showLogin(false, t("session_ended")); },
  () => showLogin(true),
);

// ---- router ----

function parseHash() {
  const [page, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  return { page: page || null, args: rest.map(decodeURIComponent) };
}

function route_() {
  if (!session.me) return;
  const { page, args } = parseHash();
  if (!allowed(page)) {
    location.hash = `#/${defaultPage(session.me.role)}`;
    return;
  }
  if (current !== page) {
    if (current) PAGES[current].hide?.();
    for (const s of document.querySelectorAll("section.page")) s.hidden = s.id !== `page-${page}`;
    for (const a of document.querySelectorAll("#nav a[data-page]")) {
      if (a.dataset.page === page) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    current = page;
  }
  PAGES[page].show(args);
}

window.addEventListener("hashchange", route_);

// ---- keyboard ----

function typing(target) {
  const tag = target && target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
}

document.addEventListener("keydown", (ev) => {
  if (!session.me || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (document.querySelector("dialog[open]")) return; // the dialog has the keyboard; Esc closes it
  // Form fields keep their keys, except those marked data-keys (the flag reason select).
  if (typing(ev.target) && !ev.target.closest("[data-keys]")) return;
  if (PAGES[current]?.key?.(ev)) {
    ev.preventDefault();
    return;
  }
  if (ev.key >= "1" && ev.key <= "9") {
    const page = ORDER[Number(ev.key) - 1];
    if (allowed(page)) {
      ev.preventDefault();
      location.hash = `#/${page}`;
    }
  } else if (ev.key === "/") {
    ev.preventDefault();
    if (current !== "parcels" || parseHash().args.length) location.hash = "#/parcels";
    setTimeout(() => $("#search").focus(), 0);
  }
});

// Every dialog's Cancel button closes it (Esc does so natively).
for (const d of document.querySelectorAll("dialog")) {
  d.querySelector("button.cancel")?.addEventListener("click", () => d.close());
}

// ---- change my password (every user) ----

$("#my-password").addEventListener("click", () => {
  const dialog = $("#password-dialog");
  dialog.querySelector("form").reset();
  openDialog(dialog);
});

$("#password-dialog form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const error = form.querySelector(".error");
  if (form.new.value !== form.repeat.value) {
    error.textContent = t("passwords_differ");
    return;
  }
  try {
    await post("/api/me/password", { current: form.current.value, new: form.new.value });
    $("#password-dialog").close();
    banner(t("password_changed"), "ok");
  } catch (err) {
    error.textContent = err.missing ? t("api_missing", t("change_my_password")) : err.message;
  }
});

// ---- language, live pill, banner ----

$("#lang").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));

function relabelHeader() {
  $("#lang").textContent = t("lang_switch");
  setLivePill(live.isUp());
  renderWho();
  if (!$("#login").hidden) showLogin(setupMode);
}

function setLivePill(up) {
  const p = $("#live");
  p.className = `pill ${up ? "state-ok" : "state-down"}`;
  p.textContent = t(up ? "live_up" : "live_down");
}

live.onState(setLivePill);

onLanguage(() => {
  relabelHeader();
  for (const name of Object.keys(PAGES)) PAGES[name].language?.();
  bell.language();
  if (current) PAGES[current].show(parseHash().args);
});

// ---- start ----

async function start() {
  applyStatic();
  relabelHeader();
  for (const name of Object.keys(PAGES)) PAGES[name].init?.();
  try {
    const setup = await get("/api/setup", { quiet: true });
    if (setup.required) return showLogin(true);
  } catch {
    // An older server without /api/setup: go on to the login.
  }
  // A browser that never logged in (or logged out) has no session to ask about: the login
  // form at once, without a 401 in the console.
  if (!localStorage.getItem("had-session")) {
    const bye = sessionStorage.getItem("logged-out") ? t("logged_out") : "";
    sessionStorage.removeItem("logged-out");
    return showLogin(false, bye);
  }
  try {
    enter(await get("/api/me", { quiet: true }));
  } catch (err) {
    localStorage.removeItem("had-session");
    const bye = sessionStorage.getItem("logged-out") ? t("logged_out") : "";
    sessionStorage.removeItem("logged-out");
    if (err.status === 409) showLogin(true);
    else showLogin(false, bye);
  }
}

start();
