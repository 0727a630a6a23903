// English for interceptions, bags and the gate's load check (the twin of
// text-zh-holds.js). Merged into the en table by i18n.js.
export const EN_HOLDS = {
  // ---- interceptions ----
  nav_interceptions: "Interceptions", title_interceptions: "Intercepted parcels",
  icpt_open_list: "To retrieve", icpt_history: "All interceptions (retrieved too)", icpt_none: "No intercepted parcel waits for retrieval.",
  icpt_none_all: "No interceptions.", icpt_line_title: "Interceptions: held parcels in a release lane",
  icpt_item: "Waybill {0} · line {1} · release lane {2} · bag {3} · dropped {4}",
  icpt_where: "line {0} · release lane {1} · bag {2} · dropped {3}",
  icpt_bag_open: "open bag #{0}", icpt_unread: "unread",
  col_bag: "Bag", col_dropped: "Dropped", col_cause: "Held because", col_opened: "Intercepted",
  col_state: "State", col_retrieval: "Retrieval",
  icpt_state_open: "To retrieve", icpt_state_retrieved: "Retrieved",
  icpt_by_scan: "{0}, label scanned ({1})", icpt_by_hand: "{0}, by hand: {1}",
  icpt_record: "Record retrieval", icpt_dialog_title: "Record the retrieval of an intercepted parcel",
  icpt_dialog_hint: "Once the parcel is out of the release lane or its bag: scan its label, or without a scanner give the reason. Audited and sent to the platform.",
  icpt_scan: "Scan the parcel's label (waybill)", icpt_reason: "Reason, when recorded by hand (required without a scan)",
  icpt_need_scan_or_reason: "Scan the parcel's label, or give the reason for recording by hand.",
  icpt_recorded: "Retrieval recorded: waybill {0}", icpt_all_link: "All interceptions",
  cause_status: "list status changed to {0}", cause_instruction_inspect: "platform instruction: inspect", cause_instruction_hold: "platform instruction: hold",
  cause_officer_flag: "officer's flag (#{0})", cause_decided: "not decided for release ({0})", cause_undecided: "undecided",

  // ---- bags ----
  bags_title: "Bags (release lanes)", bag_lane: "Line {0} · release lane {1}", bag_open_now: "Open bag",
  bag_no_open: "No open bag", bag_parcels_n: "{0} parcels", bag_weight_kg: "{0} kg",
  bag_marked: "Holds an intercepted parcel", bag_closed_list: "Closed bags", bag_close: "Close bag", bag_list_link: "List",
  bag_close_title: "Close the bag of line {0} · release lane {1}", bag_no: "Bag number (totalPackageNo)",
  bag_close_hint: "The lane's next parcel goes into a new bag; closing is audited and sent to the platform.",
  bag_closed_done: "Bag closed: {0}", bag_no_empty: "Enter the bag number.",
  bag_list_title: "Bag list", bag_number: "Bag number", bag_unclosed: "(not closed)", bag_opened_at: "Opened",
  bag_closed_at: "Closed", bag_closed_by: "Closed by", bag_parcel_count: "Parcels", bag_total: "Total",
  col_declared_kg: "Declared gross (kg)", col_measured_kg: "Measured (kg)", bag_sign: "Closed by (signature):",
  bag_sign_officer: "Officer (signature):", bag_back: "Back", bag_not_found: "No such bag.",

  // ---- a late flag's answer ----
  flag_late_recommanded: "Flag after the release decision: commanded again before the diverter, it goes to inspection",
  flag_late_intercepted: "Too late: the parcel dropped into the release lane; interception #{0} is open, retrieve it",
  flag_late_pending: "Flag after the release decision: waiting for the line to confirm; if it drops into release it is intercepted",

  // ---- the gate's load check ----
  load_title: "Load check", load_summary: "Permit {0}: {1} items, {2} failed",
  load_all_ok: "Permit {0}: {1} items, all passed", load_no_items: "Permit {0} lists no items (this lane releases such permits)", load_ok: "OK", load_more: "{0} more not listed",
  load_item_bag: "Bag {0}", load_item_waybill: "Waybill {0}", load_item_bill: "Bill {0}", load_item_permit: "Permit {0}",
  load_intercepted: "interception open", load_not_closed: "bag not closed",
};
