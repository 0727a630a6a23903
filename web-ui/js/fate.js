// What happens to an undecided parcel whatever the officer does, from what the console
// knows before the decision (the rules are src/sorting/decision.rs): no waybill read, no
// declaration list, a status other than 800 send it to the exception lane; status 500
// (inspection) or a weight out of tolerance send it to inspection. An officer's flag
// still sends any parcel to inspection; the note only says the release was never on.
import { statusName, t } from "./i18n.js";

/** The demo's and the default tolerance: the larger of 0.1 kg and 5 % of the declared. */
const TOLERANCE_KG = 0.1;
const TOLERANCE_PCT = 5;

/** Whether a measured weight is out of tolerance of the declared one. */
export function weightOff(declared, measured) {
  if (declared == null || measured == null) return false;
  return Math.abs(measured - declared) > Math.max(TOLERANCE_KG, (declared * TOLERANCE_PCT) / 100);
}

/** A note saying where the parcel goes anyway and why, or null when it may be released. */
export function fateNote(code, status, hasList, declared, measured) {
  if (!code) return t("note_exception_anyway", t("why_no_waybill"));
  if (!hasList) return t("note_exception_anyway", t("why_no_declaration"));
  if (Number(status) === 500) return t("note_inspection_anyway", `${status} ${statusName(status)}`);
  if (weightOff(declared, measured)) return t("note_inspection_anyway", t("why_weight"));
  if (status != null && Number(status) !== 800) {
    return t("note_exception_anyway", t("why_not_released", `${status} ${statusName(status)}`));
  }
  return null;
}
