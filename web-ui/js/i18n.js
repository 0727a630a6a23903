// Every word on the pages comes from the TEXT tables (Simplified Chinese by default,
// English as a switch); every time is shown in Beijing time (Asia/Shanghai).
import { ZH } from "./text-zh.js";
import { EN } from "./text-en.js";
import { ZH_SHIFT } from "./text-zh-shift.js";
import { EN_SHIFT } from "./text-en-shift.js";
import { ZH_HOLDS } from "./text-zh-holds.js";
import { EN_HOLDS } from "./text-en-holds.js";

/** The text tables, by language. */
export const TEXT = { zh: { ...ZH, ...ZH_SHIFT, ...ZH_HOLDS }, en: { ...EN, ...EN_SHIFT, ...EN_HOLDS } };

let lang = localStorage.getItem("lang") === "en" ? "en" : "zh";
const listeners = new Set();

/** The language in use: "zh" or "en". */
export function getLang() {
  return lang;
}

/** Text for `key` with `{0}`, `{1}`… replaced by `args`; the key itself when missing. */
export function t(key, ...args) {
  let s = TEXT[lang][key] ?? TEXT.zh[key] ?? key;
  args.forEach((a, i) => { s = s.replaceAll(`{${i}}`, a ?? ""); });
  return s;
}

/** Whether a text key exists. */
export function has(key) {
  return key in TEXT[lang] || key in TEXT.zh;
}

/** Switch language, remember it, relabel the page and tell the listeners. */
export function setLang(next) {
  lang = next === "en" ? "en" : "zh";
  localStorage.setItem("lang", lang);
  applyStatic();
  for (const fn of listeners) fn(lang);
}

/** Call `fn` after each language switch. */
export function onLanguage(fn) {
  listeners.add(fn);
}

/** Relabel every element with a data-i18n attribute; set `<html lang>`. */
export function applyStatic(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("app_title");
  for (const e of root.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  for (const e of root.querySelectorAll("[data-i18n-title]")) e.title = t(e.dataset.i18nTitle);
  for (const e of root.querySelectorAll("[data-i18n-placeholder]")) e.placeholder = t(e.dataset.i18nPlaceholder);
  for (const e of root.querySelectorAll("[data-i18n-label]")) e.setAttribute("aria-label", t(e.dataset.i18nLabel));
}

const BJ = "Asia/Shanghai";
const partsFormat = new Intl.DateTimeFormat("en-CA", {
  timeZone: BJ, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit",
});

function bjParts(date) {
  const p = {};
  for (const { type, value } of partsFormat.formatToParts(date)) p[type] = value;
  return p;
}

/**
 * A UTC timestamp shown in Beijing time: "2025-05-01 14:03:22" (`style` "full"),
 * "05-01 14:03:22" ("short"), "14:03:22" ("time") or "05-01 14:00" ("hour").
 */
export function beijing(iso, style = "short") {
  if (!iso) return "";
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = bjParts(d);
  const time = `${p.hour}:${p.minute}:${p.second}`;
  if (style === "time") return time;
  if (style === "hour") return `${p.month}-${p.day} ${p.hour}:00`;
  if (style === "full") return `${p.year}-${p.month}-${p.day} ${time}`;
  return `${p.month}-${p.day} ${time}`;
}

/** A `datetime-local` value (entered as Beijing time) as an RFC 3339 UTC timestamp. */
export function fromBeijingInput(value) {
  if (!value) return "";
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  const d = new Date(`${withSeconds}+08:00`);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/** A moment as a `datetime-local` value in Beijing time. */
export function toBeijingInput(date) {
  const p = bjParts(date);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** Midnight today in Beijing, as a Date. */
export function beijingMidnight(now = new Date()) {
  const p = bjParts(now);
  return new Date(`${p.year}-${p.month}-${p.day}T00:00:00+08:00`);
}

/** A number with the language's grouping; "—" for null. */
export function num(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  return Number(n).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  });
}

/** A rate 0…1 as a percentage; "—" for null. */
export function pct(rate, digits = 1) {
  if (rate === null || rate === undefined) return "—";
  return `${num(rate * 100, digits)} %`;
}

/** Seconds as "1 h 05 min", "3 min 20 s" or "12 s" (in the language's units). */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h) return t("dur_hm", h, String(m).padStart(2, "0"));
  if (m) return t("dur_ms", m, String(r).padStart(2, "0"));
  return t("dur_s", r);
}

/** Grams as kilograms with three decimals. */
export function kgFromGrams(g) {
  return num(g / 1000, 3);
}

/**
 * A decision reason code in words: `status_not_released:300`,
 * `weight_out_of_tolerance:1234/1000` (grams), `xray_views_mismatch:1/2`,
 * `duplicate_waybill:17`.
 */
export function reasonText(code) {
  const [name, arg = ""] = String(code).split(":");
  const key = `r_${name}`;
  if (!has(key)) return code;
  if (name === "status_not_released") return t(key, arg, statusName(arg));
  if (name === "weight_out_of_tolerance") {
    const [measured, declared] = arg.split("/").map(Number);
    return t(key, kgFromGrams(measured), kgFromGrams(declared));
  }
  const [a, b] = arg.split("/");
  return t(key, a, b);
}

/** The name of a customs status (returnStatus). */
export function statusName(code) {
  const key = `status_${code}`;
  return has(key) ? t(key) : String(code);
}

/** The name of a trade mode: 9610 → "B2C 直接出口". */
export function tradeModeName(code) {
  const key = `trade_${code}`;
  return has(key) ? t(key) : "";
}

// ISO 3166 alpha-3 codes of likely destinations, for the browser's own country names.
const ALPHA3 = {
  USA: "US", GBR: "GB", DEU: "DE", FRA: "FR", ITA: "IT", ESP: "ES", NLD: "NL", BEL: "BE", POL: "PL", RUS: "RU",
  JPN: "JP", KOR: "KR", SGP: "SG", MYS: "MY", THA: "TH", VNM: "VN", IDN: "ID", PHL: "PH", IND: "IN", PAK: "PK",
  AUS: "AU", NZL: "NZ", CAN: "CA", MEX: "MX", BRA: "BR", CHL: "CL", ARE: "AE", SAU: "SA", TUR: "TR", ISR: "IL",
  KAZ: "KZ", UZB: "UZ", MNG: "MN", HKG: "HK", MAC: "MO", TWN: "TW", ZAF: "ZA", EGY: "EG", NGA: "NG", UKR: "UA",
};

/** A destination country code (alpha-2 or alpha-3) as the browser names it; "" when unsure. */
export function countryName(code) {
  const c = String(code || "").toUpperCase();
  const alpha2 = /^[A-Z]{2}$/.test(c) ? c : ALPHA3[c];
  if (!alpha2 || typeof Intl.DisplayNames !== "function") return "";
  try {
    return new Intl.DisplayNames([lang === "zh" ? "zh-CN" : "en"], { type: "region" }).of(alpha2) || "";
  } catch {
    return "";
  }
}

/** The text of a key when it exists, else `fallback`. */
export function tOr(key, fallback) {
  return has(key) ? t(key) : fallback;
}
