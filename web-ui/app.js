// Line monitor: recent parcels with their lanes and reasons, updated live over SSE.
"use strict";

const TEXT = {
  zh: {
    title: "分拣线监控", offline: "未连接", online: "实时", lane_release: "放行道", lane_inspection: "查验道",
    lane_exception: "异常道", in_flight: "线上包裹", col_time: "时间", col_line: "线", col_tracking: "跟踪号",
    col_waybill: "运单号", col_lane: "分拣道口", col_reason: "原因", col_outcome: "落格",
    hint: "所有时间为北京时间（UTC+8）。", lang_switch: "English", pending: "待判定",
    release: "放行", inspection: "查验", exception: "异常",
    outcome_in_flight: "线上", outcome_sorted: "已落格", outcome_lane_mismatch: "落错道口",
    outcome_unconfirmed: "未确认落格", outcome_interrupted: "重启中断",
    r_released: "海关已放行", r_no_scan: "未扫描到条码", r_no_read: "条码无法识读", r_read_conflict: "多个条码不一致",
    r_manifest_not_found: "无清单数据", r_status_not_released: "清单未放行（状态 {0}）",
    no_waybill: "（无）", logout: "退出", login_title: "登录", setup_title: "创建管理员账号",
    setup_hint: "首次启动：请创建管理员账号（密码至少 10 位）。", username: "用户名", password: "密码",
    login_button: "登录", setup_button: "创建并登录", login_failed: "登录失败：{0}",
  },
  en: {
    title: "Sorting line monitor", offline: "offline", online: "live", lane_release: "Release lane",
    lane_inspection: "Inspection lane", lane_exception: "Exception lane", in_flight: "On the belt",
    col_time: "Time", col_line: "Line", col_tracking: "Tracking", col_waybill: "Waybill", col_lane: "Lane",
    col_reason: "Reason", col_outcome: "Dropped", hint: "All times are Beijing time (UTC+8).",
    lang_switch: "中文", pending: "pending", release: "release", inspection: "inspection", exception: "exception",
    outcome_in_flight: "on belt", outcome_sorted: "sorted", outcome_lane_mismatch: "wrong lane",
    outcome_unconfirmed: "drop unconfirmed", outcome_interrupted: "interrupted by restart",
    r_released: "released by customs", r_no_scan: "no barcode scanned", r_no_read: "barcode unreadable",
    r_read_conflict: "conflicting barcodes", r_manifest_not_found: "no declaration list",
    r_status_not_released: "list not released (status {0})", no_waybill: "(none)",
    logout: "Log out", login_title: "Log in", setup_title: "Create the administrator",
    setup_hint: "First start: create the administrator account (password at least 10 characters).",
    username: "User name", password: "Password", login_button: "Log in", setup_button: "Create and log in",
    login_failed: "Login failed: {0}",
  },
};

let lang = localStorage.getItem("lang") || "zh";
const parcels = new Map(); // id -> parcel, newest kept
const MAX_ROWS = 200;

function t(key, arg) {
  const s = TEXT[lang][key] ?? key;
  return arg === undefined ? s : s.replace("{0}", arg);
}

function reasonText(code) {
  const [name, arg] = code.split(":");
  return t("r_" + name, arg);
}

function beijingTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", {
    timeZone: "Asia/Shanghai", hour12: false, month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  Object.assign(e, attrs || {});
  if (text !== undefined) e.textContent = text;
  return e;
}

function row(p, fresh) {
  const tr = el("tr", { className: fresh ? "fresh" : "" });
  tr.dataset.id = p.id;
  tr.append(el("td", {}, beijingTime(p.entered_at)), el("td", {}, p.line_id), el("td", {}, String(p.tracking_no)),
            el("td", {}, p.logistics_no || t("no_waybill")));
  const lane = el("td");
  if (p.lane_kind) lane.append(el("span", { className: "lane " + p.lane_kind }, `${t(p.lane_kind)} · ${p.lane}`));
  else lane.textContent = t("pending");
  tr.append(lane, el("td", { className: "reason" }, p.reasons.map(reasonText).join("；")));
  const outcome = el("td", {}, t("outcome_" + p.outcome) + (p.dropped_lane ? ` · ${p.dropped_lane}` : ""));
  if (p.outcome === "lane_mismatch" || p.outcome === "unconfirmed") outcome.className = "bad";
  tr.append(outcome);
  return tr;
}

function render(freshId) {
  const body = document.querySelector("#parcels tbody");
  const sorted = [...parcels.values()].sort((a, b) => b.id - a.id).slice(0, MAX_ROWS);
  body.replaceChildren(...sorted.map((p) => row(p, p.id === freshId)));
  const counts = { release: 0, inspection: 0, exception: 0 };
  let flight = 0;
  for (const p of parcels.values()) {
    if (p.outcome === "in_flight") flight++;
    if (p.lane_kind in counts) counts[p.lane_kind]++;
  }
  for (const k in counts) document.getElementById("count-" + k).textContent = counts[k];
  document.getElementById("count-flight").textContent = flight;
}

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  document.getElementById("lang").textContent = t("lang_switch");
  setLive(live);
  if (!document.getElementById("login").hidden) showLogin(setupRequired);
  render();
}

let live = false;
function setLive(up) {
  live = up;
  const pill = document.getElementById("live");
  pill.className = "pill " + (up ? "up" : "down");
  pill.textContent = t(up ? "online" : "offline");
}

async function loadRecent() {
  const res = await fetch("/api/parcels?limit=" + MAX_ROWS);
  if (!res.ok) return;
  parcels.clear();
  for (const p of await res.json()) parcels.set(p.id, p);
  render();
}

function connect() {
  const source = new EventSource("/api/events");
  source.onopen = () => { setLive(true); loadRecent(); };
  source.onerror = () => setLive(false);
  source.addEventListener("parcel", (ev) => {
    const p = JSON.parse(ev.data);
    parcels.set(p.id, p);
    if (parcels.size > MAX_ROWS * 2) {
      const oldest = [...parcels.keys()].sort((a, b) => a - b).slice(0, parcels.size - MAX_ROWS);
      for (const id of oldest) parcels.delete(id);
    }
    render(p.id);
  });
  source.addEventListener("resync", loadRecent);
}

document.getElementById("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("lang", lang);
  applyLanguage();
});

// Sessions: the cookie is HttpOnly; state-changing requests carry the CSRF token.
let csrf = null;
let setupRequired = false;

function showLogin(required) {
  setupRequired = required;
  document.getElementById("monitor").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  document.getElementById("login").hidden = false;
  document.getElementById("login-title").textContent = t(required ? "setup_title" : "login_title");
  document.getElementById("login-hint").textContent = required ? t("setup_hint") : "";
  document.querySelector("#login button[type=submit]").textContent = t(required ? "setup_button" : "login_button");
}

function showMonitor(me) {
  csrf = me.csrf;
  document.getElementById("login").hidden = true;
  document.getElementById("monitor").hidden = false;
  document.getElementById("logout").hidden = false;
  document.getElementById("who").textContent = `${me.display_name || me.username} · ${me.role}`;
  fetch("/api/site").then((r) => r.json()).then((s) => {
    document.getElementById("site").textContent = `${s.name} · ${s.code}`;
  });
  loadRecent();
  connect();
}

async function start() {
  const setup = await fetch("/api/setup").then((r) => r.json()).catch(() => ({ required: false }));
  if (setup.required) return showLogin(true);
  const me = await fetch("/api/me");
  if (me.ok) showMonitor(await me.json());
  else showLogin(false);
}

document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const body = JSON.stringify({ username: form.get("username"), password: form.get("password") });
  const headers = { "content-type": "application/json" };
  const error = document.getElementById("login-error");
  error.textContent = "";
  if (setupRequired) {
    const made = await fetch("/api/setup", { method: "POST", headers, body });
    if (!made.ok) {
      error.textContent = t("login_failed", (await made.json().catch(() => ({}))).error || made.status);
      return;
    }
  }
  const res = await fetch("/api/login", { method: "POST", headers, body });
  if (!res.ok) {
    error.textContent = t("login_failed", (await res.json().catch(() => ({}))).error || res.status);
    return;
  }
  const me = await fetch("/api/me");
  if (me.ok) showMonitor(await me.json());
});

document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/api/logout", { method: "POST", headers: { "x-csrf-token": csrf || "" } });
  location.reload();
});

applyLanguage();
start();
