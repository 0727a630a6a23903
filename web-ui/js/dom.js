// Small DOM helpers shared by the pages: element building, state pills, lane pills,
// dialogs, thumbnails and polite "not available" messages.
import { t, tOr, reasonText } from "./i18n.js";

/**
 * Make an element: `h("td", {className: "x", dataset: {id: 1}}, "text", child…)`.
 * Attributes starting with "on" are event listeners; `attrs` keys that are not
 * properties are set as attributes.
 */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "style" && typeof v === "object") Object.assign(e.style, v);
    else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k in e && typeof v !== "string") e[k] = v;
    else if (k === "className" || k === "textContent" || k === "htmlFor") e[k] = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** A coloured pill with words: `pill("ok", "在线")`; the colour comes from `state-<kind>`. */
export function pill(kind, text) {
  return h("span", { className: `pill state-${kind}` }, text);
}

/** A device or link state (`ok`, `degraded`, `down`, `unknown`…) as a pill with its word. */
export function statePill(state) {
  const s = String(state || "unknown").toLowerCase();
  return pill(s, tOr(`state_${s}`, s));
}

/** A lane decision as a pill: release green, inspection amber, exception purple-grey. */
export function lanePill(kind, lane) {
  if (!kind) return h("span", { className: "lane-pill pending" }, t("pending"));
  const label = tOr(`lane_${kind}`, kind);
  return h("span", { className: `lane-pill ${kind}` }, lane ? `${label} · ${lane}` : label);
}

/** Reason codes in words, joined. */
export function reasonsText(codes) {
  return (codes || []).map(reasonText).join(t("list_sep"));
}

/** A parcel's drop outcome in words; lane mismatches and unconfirmed drops marked bad. */
export function outcomeCell(p) {
  const text = tOr(`outcome_${p.outcome}`, p.outcome || "") + (p.dropped_lane ? ` · ${p.dropped_lane}` : "");
  const bad = p.outcome === "lane_mismatch" || p.outcome === "unconfirmed";
  return h("td", { className: bad ? "bad" : "" }, text);
}

/** A message in place of data that could not be loaded (or whose API is not there yet). */
export function unavailable(err, what) {
  const missing = err && err.missing;
  const text = missing ? t("api_missing", what) : t("load_failed", what, err ? err.message : "");
  return h("p", { className: "unavailable", role: "status" }, text);
}

/** Open a `<dialog>` modally, remembering the focus to give back when it closes. */
export function openDialog(dialog) {
  const back = document.activeElement;
  const error = dialog.querySelector(".error");
  if (error) error.textContent = "";
  dialog.addEventListener("close", () => back && back.focus && back.focus(), { once: true });
  dialog.showModal();
  return dialog;
}

/** Show an image full size in the image dialog. */
export function showImage(src, caption = "") {
  const dialog = document.getElementById("image-dialog");
  dialog.querySelector("img").src = src;
  dialog.querySelector("img").alt = caption;
  dialog.querySelector(".caption").textContent = caption;
  openDialog(dialog);
}

/** A clickable evidence thumbnail that opens the full image. */
export function thumb(sha256, caption = "") {
  const img = h("img", {
    src: `/api/evidence/${sha256}/thumb`, alt: caption || t("evidence_image"), loading: "lazy",
  });
  img.addEventListener("error", () => img.replaceWith(h("span", { className: "no-thumb" }, t("no_thumb"))), { once: true });
  return h("button", {
    type: "button", className: "thumb", title: caption, "aria-label": `${t("open_image")} ${caption}`,
    onclick: () => showImage(`/api/evidence/${sha256}`, caption),
  }, img);
}

/** Replace the children of `parent`. */
export function fill(parent, ...children) {
  parent.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

/** A small "label: value" definition list from pairs. */
export function facts(pairs) {
  const dl = h("dl", { className: "facts" });
  for (const [label, value] of pairs) {
    if (value === undefined) continue;
    dl.append(h("dt", {}, label), h("dd", {}, value === null || value === "" ? "—" : value));
  }
  return dl;
}

let bannerTimer = null;
/** A short message across the top of the page (`kind` ok, info or bad). */
export function banner(text, kind = "info") {
  const b = document.getElementById("banner");
  b.textContent = text;
  b.className = `banner ${kind}`;
  b.hidden = false;
  clearTimeout(bannerTimer);
  bannerTimer = setTimeout(() => { b.hidden = true; }, 6000);
}
