// 简体中文：拦截、总包和卡口装载核验。Every key here has its English twin in
// text-en-holds.js. Merged into the zh table by i18n.js.
export const ZH_HOLDS = {
  // ---- interceptions ----
  nav_interceptions: "拦截", title_interceptions: "拦截包裹",
  icpt_open_list: "待取回", icpt_history: "全部拦截（含已取回）", icpt_none: "没有待取回的拦截包裹。",
  icpt_none_all: "没有拦截记录。", icpt_line_title: "拦截：扣留包裹已落放行道",
  icpt_item: "运单 {0} · 分拣线 {1} · 放行道 {2} · 总包 {3} · {4} 落格",
  icpt_where: "分拣线 {0} · 放行道 {1} · 总包 {2} · {3} 落格",
  icpt_bag_open: "未封总包 #{0}", icpt_unread: "未识读",
  col_bag: "总包", col_dropped: "落格时间", col_cause: "扣留原因", col_opened: "拦截时间",
  col_state: "状态", col_retrieval: "取回记录",
  icpt_state_open: "待取回", icpt_state_retrieved: "已取回",
  icpt_by_scan: "{0} 扫描面单取回（{1}）", icpt_by_hand: "{0} 人工记录取回：{1}",
  icpt_record: "记录取回", icpt_dialog_title: "记录拦截包裹取回",
  icpt_dialog_hint: "从放行道或总包中取出该包裹后记录：扫描包裹面单，或无扫描枪时填写原因人工记录。记录写入审计日志并上报平台。",
  icpt_scan: "扫描包裹面单（运单号）", icpt_reason: "人工记录原因（无扫描时必填）",
  icpt_need_scan_or_reason: "请扫描包裹面单，或填写人工记录原因。",
  icpt_recorded: "已记录取回：运单 {0}", icpt_all_link: "查看全部拦截",
  cause_status: "清单状态变为 {0}", cause_instruction_inspect: "平台指令查验", cause_instruction_hold: "平台指令扣留",
  cause_officer_flag: "关员标记查验（#{0}）", cause_decided: "未判定放行（{0}）", cause_undecided: "未判定",

  // ---- bags ----
  bags_title: "总包（放行道）", bag_lane: "分拣线 {0} · 放行道 {1}", bag_open_now: "当前总包",
  bag_no_open: "暂无未封总包", bag_parcels_n: "{0} 件", bag_weight_kg: "{0} kg",
  bag_marked: "含拦截包裹", bag_closed_list: "已封总包", bag_close: "封包", bag_list_link: "清单",
  bag_close_title: "封包：分拣线 {0} · 放行道 {1}", bag_no: "总包号（totalPackageNo）",
  bag_close_hint: "封包后该道口的下一件包裹进入新总包；封包记录写入审计日志并上报平台。",
  bag_closed_done: "已封包：{0}", bag_no_empty: "请输入总包号。",
  bag_list_title: "总包清单", bag_number: "总包号", bag_unclosed: "（未封包）", bag_opened_at: "开包时间",
  bag_closed_at: "封包时间", bag_closed_by: "封包人", bag_parcel_count: "包裹数", bag_total: "合计",
  col_declared_kg: "申报毛重（kg）", col_measured_kg: "实测重量（kg）", bag_sign: "封包人签字：",
  bag_sign_officer: "关员签字：", bag_back: "返回", bag_not_found: "没有这个总包。",

  // ---- a late flag's answer ----
  flag_late_recommanded: "标记晚于放行判定：包裹未到分拣口，已重新下发改走查验道",
  flag_late_intercepted: "标记过晚：包裹已落放行道，已拦截（#{0}），请取回并记录",
  flag_late_pending: "标记晚于放行判定：等待分拣线确认改道；若落入放行道将自动拦截",

  // ---- the gate's load check ----
  load_title: "装载核验", load_summary: "核放单 {0}：共 {1} 项，{2} 项未通过",
  load_all_ok: "核放单 {0}：共 {1} 项，全部通过", load_no_items: "核放单 {0} 未列货物明细（本通道设置为放行）", load_ok: "通过", load_more: "另有 {0} 项未列出",
  load_item_bag: "总包 {0}", load_item_waybill: "运单 {0}", load_item_bill: "清单 {0}", load_item_permit: "核放单 {0}",
  load_intercepted: "拦截未取回", load_not_closed: "总包未封包",
};
