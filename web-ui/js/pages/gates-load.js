// The load check of the truck at an exit lane, item by item, from the lane's live view
// (`load_check`: the permit, the counts, and up to 50 items, the failed first): each bag,
// waybill or bill its permit names, passed or with the reason it holds the truck
// (含未放行包裹, 包裹未过机, 总包未封包, an interception not yet retrieved, …).
import { getLang, num, t, tOr } from "../i18n.js";
import { fill, h } from "../dom.js";

/** `bag B7` → 总包 B7 (the item's kind in words, its number as it is). */
function itemText(item) {
  const s = String(item || "");
  const space = s.indexOf(" ");
  if (space < 0) return s;
  const kind = s.slice(0, space);
  return tOr(`load_item_${kind}`, `${kind} {0}`).replace("{0}", s.slice(space + 1));
}

/** Why an item failed, in the page's language; the English detail on its tooltip (and
 * after the words in English). An open interception is named, not just "held". */
function failureText(i) {
  const words = getLang() === "zh" ? i.zh || tOr(`g_${i.code}`, i.code) : tOr(`g_${i.code}`, i.code);
  if (getLang() !== "zh") return i.detail ? `${words}: ${i.detail}` : words;
  return /intercepted \(interception/.test(i.detail || "") ? `${words}（${t("load_intercepted")}）` : words;
}

function summary(c) {
  if (c.failed) return t("load_summary", c.permit_no, num(c.items), num(c.failed));
  return c.items ? t("load_all_ok", c.permit_no, num(c.items)) : t("load_no_items", c.permit_no);
}

/** Fill `box` with the lane's load check (empty and hidden when there is none). */
export function renderLoadCheck(box, lane) {
  const c = lane.load_check;
  const key = c ? JSON.stringify([getLang(), c.permit_no, c.items, c.failed, c.listed.length]) : "";
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.hidden = !c;
  if (!c) {
    fill(box);
    return;
  }
  const more = c.items - c.listed.length;
  fill(box,
    h("h4", {}, t("load_title"), " ",
      h("small", { className: c.failed ? "bad" : "ok" },
        summary(c))),
    h("ul", { className: "load-items plain" }, c.listed.map((i) => h("li", {
      className: `load-item ${i.ok ? "ok" : "failed"}`, title: i.detail || "", dataset: { code: i.code || "ok" },
    }, h("span", { className: "mark", "aria-hidden": "true" }, i.ok ? "✓" : "✗"), " ",
    h("span", { className: "mono item" }, itemText(i.item)), " ",
    h("span", { className: "why" }, i.ok ? t("load_ok") : failureText(i))))),
    more > 0 ? h("p", { className: "hint" }, t("load_more", num(more))) : null);
}
