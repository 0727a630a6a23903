// Page 7, accounts (administrators only): list, create, change a role, disable or enable,
// reset a password; every live session, revoked at once. Data: GET/POST /api/accounts,
// PUT /api/accounts/{u}/role {role}, POST /api/accounts/{u}/disable|enable,
// POST /api/accounts/{u}/password {password}, GET /api/sessions, DELETE /api/sessions/{id}.
import { del, get, post, put } from "../api.js";
import { beijing, t, tOr } from "../i18n.js";
import { banner, fill, h, openDialog, pill, unavailable } from "../dom.js";
import { hasRole, session } from "../session.js";

const ROLES = ["viewer", "operator", "officer", "admin"];
const root = () => document.getElementById("page-accounts");
let resetUser = null;

function roleOptions(selected) {
  return ROLES.map((r) => h("option", { value: r, selected: r === selected }, tOr(`role_${r}`, r)));
}

function stateCell(a) {
  if (a.disabled) return pill("down", t("account_disabled"));
  if (a.locked_until && new Date(a.locked_until) > new Date()) return pill("warn", t("account_locked", beijing(a.locked_until, "time")));
  return pill("ok", t("account_active"));
}

/** Run an account change; say what was done, or why `action` failed. */
async function act(action, done, call) {
  try {
    await call();
    banner(done, "ok");
  } catch (err) {
    banner(err.missing ? t("api_missing", action) : t("action_failed", action, err.message), "bad");
  }
  load();
}

function row(a) {
  const u = encodeURIComponent(a.username);
  const self = session.me && session.me.username === a.username;
  const select = h("select", { className: "role-select", "aria-label": t("role_of", a.username) }, roleOptions(a.role));
  const change = h("button", { type: "button", onclick: () => act(t("change_role"), t("role_changed", a.username, tOr(`role_${select.value}`, select.value)), () => put(`/api/accounts/${u}/role`, { role: select.value })) }, t("change_role"));
  const toggle = a.disabled
    ? h("button", { type: "button", onclick: () => act(t("enable"), t("enabled_done", a.username), () => post(`/api/accounts/${u}/enable`)) }, t("enable"))
    : h("button", { type: "button", className: "danger", disabled: self, onclick: () => act(t("disable"), t("disabled_done", a.username), () => post(`/api/accounts/${u}/disable`)) }, t("disable"));
  const reset = h("button", { type: "button", onclick: () => askReset(a.username) }, t("reset_password"));
  return h("tr", { dataset: { username: a.username } },
    h("td", { className: "mono" }, a.username, self ? h("small", {}, ` (${t("you")})`) : null),
    h("td", {}, a.display_name || ""),
    h("td", {}, h("span", { className: `pill role role-${a.role}` }, tOr(`role_${a.role}`, a.role))),
    h("td", {}, stateCell(a)),
    h("td", {}, beijing(a.created_at, "full")),
    h("td", { className: "actions" }, h("div", { className: "buttons" }, select, change, toggle, reset)));
}

/** A browser in a few words (`Chrome 131 · Linux`); the whole User-Agent is the tooltip. */
function shortAgent(ua) {
  if (!ua) return "—";
  const browser = [["Edg/", "Edge"], ["Firefox/", "Firefox"], ["Chrome/", "Chrome"], ["Version/", "Safari"]]
    .map(([mark, name]) => { const m = ua.match(new RegExp(`${mark}(\\d+)`)); return m && `${name} ${m[1]}`; })
    .find(Boolean);
  const os = [["Windows", "Windows"], ["Android", "Android"], ["Mac OS", "macOS"], ["Linux", "Linux"]]
    .find(([mark]) => ua.includes(mark));
  return [browser || ua.slice(0, 24), os && os[1]].filter(Boolean).join(" · ");
}

function sessionRow(s) {
  const revoke = h("button", {
    type: "button", className: "danger",
    onclick: () => act(t("session_revoke"), t("session_revoked", s.account), () => del(`/api/sessions/${encodeURIComponent(s.id)}`)),
  }, t("session_revoke"));
  return h("tr", { dataset: { session: s.id, account: s.account } },
    h("td", { className: "mono" }, s.account, s.current ? h("small", {}, ` (${t("session_this")})`) : null),
    h("td", {}, h("span", { className: `pill role role-${s.role}` }, tOr(`role_${s.role}`, s.role))),
    h("td", { className: "mono" }, s.source_ip || "—"),
    h("td", {}, beijing(s.created_at, "full")),
    h("td", {}, beijing(s.last_seen, "full")),
    h("td", {}, beijing(s.expires_at, "full")),
    h("td", { className: "agent", title: s.user_agent || "" }, shortAgent(s.user_agent)),
    h("td", { className: "num" }, String(s.live_streams)),
    h("td", { className: "actions" }, revoke));
}

async function loadSessions() {
  const body = root().querySelector(".sessions tbody");
  try {
    const list = await get("/api/sessions");
    fill(body, list.length ? list.map(sessionRow) : h("tr", {}, h("td", { colSpan: 9 }, t("sessions_none"))));
  } catch (err) {
    fill(body, h("tr", {}, h("td", { colSpan: 9 }, unavailable(err, t("sessions_title")))));
  }
}

async function load() {
  const body = root().querySelector(".accounts tbody");
  loadSessions();
  try {
    const list = await get("/api/accounts");
    fill(body, list.map(row));
  } catch (err) {
    fill(body, h("tr", {}, h("td", { colSpan: 6 }, unavailable(err, t("nav_accounts")))));
  }
}

function askReset(username) {
  resetUser = username;
  const dialog = document.getElementById("reset-dialog");
  dialog.querySelector("form").reset();
  dialog.querySelector(".user-name").textContent = username;
  openDialog(dialog);
}

export default {
  init() {
    const create = document.getElementById("account-create");
    fill(create.querySelector(".role-select"), roleOptions("operator"));
    create.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = create.querySelector(".form-result");
      const body = {
        username: create.username.value.trim(), display_name: create.display_name.value.trim(),
        role: create.role.value, password: create.password.value,
      };
      try {
        await post("/api/accounts", body);
        out.className = "form-result ok";
        out.textContent = t("account_created", body.username);
        create.reset();
        load();
      } catch (err) {
        out.className = "form-result error";
        out.textContent = err.message;
      }
    });
    document.querySelector("#reset-dialog form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const form = ev.target;
      try {
        await post(`/api/accounts/${encodeURIComponent(resetUser)}/password`, { password: form.password.value });
        document.getElementById("reset-dialog").close();
        banner(t("password_reset_done", resetUser), "ok");
        load();
      } catch (err) {
        form.querySelector(".error").textContent = err.missing ? t("api_missing", t("reset_password")) : err.message;
      }
    });
  },
  show() {
    if (!hasRole("admin")) return;
    load();
  },
  language() {
    const create = document.getElementById("account-create");
    const chosen = create.role.value;
    fill(create.querySelector(".role-select"), roleOptions(chosen));
  },
};
