// Alarms in words, from their codes: the kind (`estop`, `plc_fault:xray`, `barrier_stuck`,
// and any kind another part raises, shown by its code when it has no words yet) and the
// source (`line:L1:plc` → 分拣线 L1 · PLC). The device's own detail stays as it came, for
// the technical view.
import { has, t } from "./i18n.js";

/** An alarm's kind in the console's language. */
export function alarmTitle(kind) {
  const k = String(kind || "");
  if (has(`alarm_k_${k}`)) return t(`alarm_k_${k}`);
  const [family] = k.split(":");
  if (has(`alarm_k_${family}`)) return `${t(`alarm_k_${family}`)}（${k.slice(family.length + 1)}）`;
  return t("alarm_k_unknown", k);
}

/** Where an alarm comes from, in words. */
export function sourceText(source) {
  const parts = String(source || "").split(":");
  const out = [];
  for (let i = 0; i < parts.length; i += 1) {
    const p = parts[i];
    if ((p === "line" || p === "gate") && parts[i + 1]) {
      out.push(t(`src_${p}`, parts[i + 1]));
      i += 1;
    } else if (has(`src_${p}`)) {
      out.push(t(`src_${p}`));
    } else if (p) {
      out.push(p);
    }
  }
  return out.join(" · ");
}
