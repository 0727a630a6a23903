// The JSON API: one fetch wrapper that sends the session's CSRF token on every change and
// sends the person back to the login form when the session has ended (401).

let csrf = null;
let loginRequired = () => {};
let setupRequired = () => {};

/** An answer other than 2xx: `status` and the server's `error` message. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }

  /** The route is not on this server (yet): the page should say so and go on. */
  get missing() {
    return this.status === 404 && !(this.body && this.body.error);
  }
}

/** Remember the session's CSRF token (from the login answer or GET /api/me). */
export function setCsrf(token) {
  csrf = token || null;
}

/** What to do when the server answers 401 (session over) or 409 (setup first). */
export function onAuthLost(login, setup) {
  loginRequired = login;
  setupRequired = setup;
}

/** `{a: 1, b: ""}` → `"?a=1"`: empty values are left out. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Call the API; resolves to the parsed JSON (or text), rejects with an ApiError. */
export async function api(path, { method = "GET", body, signal, quiet = false } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrf) headers["x-csrf-token"] = csrf;
  let res;
  try {
    res = await fetch(path, {
      method, headers, signal, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, e.message || "network error", null);
  }
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json().catch(() => null) : await res.text();
  if (res.ok) return data;
  const json = typeof data === "object" && data ? data : null;
  if (!quiet && res.status === 401 && (!json || json.login_required)) loginRequired(json);
  if (!quiet && res.status === 409 && json && json.setup_required) setupRequired();
  const message = (json && json.error) || (typeof data === "string" && data) || res.statusText;
  throw new ApiError(res.status, message, json);
}

/** GET. */
export const get = (path, opts) => api(path, opts);
/** POST with a JSON body. */
export const post = (path, body = {}) => api(path, { method: "POST", body });
/** PUT with a JSON body. */
export const put = (path, body = {}) => api(path, { method: "PUT", body });
/** DELETE. */
export const del = (path) => api(path, { method: "DELETE" });
