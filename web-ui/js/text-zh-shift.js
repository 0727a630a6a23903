// Simplified Chinese for the shift features: the header's alarms, the alarm page, the
// judging strip and image tools, the inspection record, the wall screen, the two-person
// override. Merged into the zh table by i18n.js.
export const ZH_SHIFT = {
  nav_alarms: "告警", title_alarms: "告警", alarms_header: "未确认告警 {0} 条", alarms_none_header: "无未确认告警",
  mute: "静音", unmute: "取消静音", muted_hint: "告警提示音（按用户保存）",
  alarms_attention: "待处理告警", alarms_history: "告警历史", alarms_attention_none: "没有待处理的告警。",
  alarm_raised: "发生", alarm_cleared: "解除", alarm_acked: "确认", alarm_source: "来源", alarm_what: "告警",
  alarm_open_state: "未解除", alarm_cleared_unacked: "已解除，待确认", alarm_not_acked: "未确认",
  alarm_tech: "技术详情", alarm_new_banner: "新告警：{0}", interception_banner: "拦截：{0}",
  history_range: "时间范围", history_load: "查询",
  // alarm kinds (codes stay in the technical detail)
  alarm_k_estop: "急停按钮已按下", alarm_k_xray_down: "X光机停止", alarm_k_scale_fault: "动态秤故障",
  "alarm_k_plc_fault:emergency_stop": "PLC 报警：急停", "alarm_k_plc_fault:belt_drive": "PLC 报警：皮带驱动故障",
  "alarm_k_plc_fault:diverter_jam": "PLC 报警：分拣器卡阻", "alarm_k_plc_fault:scale": "PLC 报警：动态秤故障",
  "alarm_k_plc_fault:xray": "PLC 报警：X光机故障", "alarm_k_plc_fault:controller_heartbeat_lost": "PLC 报警：控制器心跳丢失",
  alarm_k_backup_failed: "备份失败", alarm_k_barrier_stuck: "道闸卡滞", alarm_k_barrier_open_unexpectedly: "道闸异常抬起",
  alarm_k_gate_io_link: "卡口 I/O 通信中断", alarm_k_gate_tailgate: "跟车通过", alarm_k_vehicle_not_passed: "车辆未通过",
  alarm_k_weighbridge_link: "地磅通信中断", alarm_k_late_hold: "放行后扣留", alarm_k_interception: "拦截",
  alarm_k_late_flag: "放行后关员标记", alarm_k_plc_down: "PLC 通信中断", alarm_k_camera_down: "摄像机离线",
  alarm_k_unknown: "告警（{0}）",
  src_line: "分拣线 {0}", src_gate: "卡口 {0}", src_controller: "控制器", src_platform: "平台", src_backup: "备份",
  src_plc: "PLC", src_scanner: "扫码器", src_xray: "X光机", src_scale: "动态秤", src_camera: "摄像机",
  // judging
  strip_title: "待判包裹（按皮带顺序）", strip_none: "暂无已出图的待判包裹。", strip_flag: "标记",
  strip_flagged: "已标记", strip_views_waiting: "等待出图", judging_now: "当前",
  note_exception_anyway: "注意：该包裹无论如何都将进入异常道（{0}）。", note_inspection_anyway: "注意：该包裹无论如何都将进入查验道（{0}）。",
  why_no_waybill: "未读到运单号", why_no_declaration: "无申报清单", why_not_released: "海关状态 {0} 未放行",
  why_weight: "重量超出允差", why_instruction: "已有查验指令",
  flag_parcel_detail: "标记查验", flag_detail_done: "已标记查验 {0}",
  // image tools
  tool_zoom_in: "放大", tool_zoom_out: "缩小", tool_reset: "复位", tool_brighter: "增亮", tool_darker: "减暗",
  tool_contrast_up: "对比度+", tool_contrast_down: "对比度−", tool_invert: "反色", tool_palette: "伪彩",
  tool_fullscreen: "全屏", tool_keys: "滚轮/＋− 缩放 · 拖动/方向键 平移 · B/D 亮度 · C/V 对比度 · I 反色 · P 伪彩 · 0 复位",
  palette_gray: "灰度", palette_hot: "热力", palette_rainbow: "彩虹", viewer_title: "X光图像",
  // records
  print_record: "打印查验记录单", record_title: "查验记录单", record_site: "作业场所", record_printed: "打印时间",
  record_parcel: "包裹", record_decision: "分拣结论", record_views: "X光图像", record_frames: "视频截图",
  record_inspection: "查验结果", record_officer: "查验关员", record_sign: "关员签字", record_none: "暂无查验结果",
  record_back: "返回", record_print_now: "打印",
  result_saved: "查验结果已保存（{0}）。", result_already: "该结果已保存，未重复提交。",
  // wall screen
  kiosk: "大屏模式", kiosk_exit: "退出大屏", kiosk_live: "实时", wall_title: "{0} 作业统计",
  dwell_avg: "平均运抵至离场时间",
  // gates
  override_officer_needed: "该车辆核放单缺失或未审批（{0}）：需海关关员现场确认（双人操作）。",
  officer_username: "关员用户名", officer_password: "关员密码", override_confirmed_by: "已由关员 {0} 确认",
  plate_colour: "车牌颜色", plate_yellow: "黄牌", plate_blue: "蓝牌", plate_green: "绿牌（新能源）",
  handover_title: "交接班", handover_shift: "班次", shift_day: "白班 08:00–20:00", shift_night: "夜班 20:00–08:00",
  handover_span: "时段", handover_lines: "各分拣线包裹", handover_alarms: "告警（待处理 {0} 条）",
  handover_officer: "关员标记 {0} 次 · 查验结果", handover_gates: "卡口过车", handover_overrides: "人工抬杆 {0} 次",
  handover_out: "交班人", handover_in: "接班人",
  trucks_at_lanes: "在道车辆", no_trucks: "各通道暂无车辆。", plate_reading: "识别中",
  kpi_avg_lane_dwell: "平均车辆在道时间",
  override_officer_refused: "关员确认未通过：须为启用的海关关员账号且密码正确（不能由操作员本人确认）",
  inspections_csv: "导出查验记录（含商品、清单、关员）CSV",
};
