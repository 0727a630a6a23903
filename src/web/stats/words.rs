//! The CSV exports in Chinese (`?lang=zh`, as the console asks when it speaks Chinese):
//! Chinese column headers, lane kinds, outcomes and decision reasons in words; and codes
//! kept as text, so that a spreadsheet shows HS chapter `09` as `09`, not 9, and a long
//! numeric waybill whole, not in scientific notation.

/// A column header in Chinese; the code itself when there are no words for it.
pub(super) fn header(code: &str) -> &str {
    match code {
        "hour" => "小时（北京时间）",
        "parcels" => "包裹数",
        "in" => "入区",
        "out" => "出区",
        "refused" => "拒绝放行",
        "override" => "人工放行",
        "trade_mode" => "贸易方式",
        "country" => "目的国",
        "hs_chapter" => "HS 章",
        "time_beijing" => "时间（北京时间）",
        "line" => "分拣线",
        "waybill" => "运单号",
        "lane_kind" => "分拣结论",
        "lane" => "道口",
        "reasons" => "原因",
        "outcome" => "落格",
        other => other,
    }
}

/// A value in Chinese: lane kinds, outcomes, `unknown`; other values as they are.
pub(super) fn value(v: &str) -> &str {
    match v {
        "release" => "放行",
        "inspection" => "查验",
        "exception" => "异常",
        "pending" => "待定",
        "unknown" => "未知",
        "sorted" => "已落格",
        "in_flight" => "在线上",
        "lane_mismatch" => "落错道口",
        "unconfirmed" => "未确认落格",
        "interrupted" => "中断",
        other => other,
    }
}

/// A decision reason (`status_not_released:300`) in Chinese, its argument kept.
pub(super) fn reason(code: &str) -> String {
    let (name, arg) = code.split_once(':').unwrap_or((code, ""));
    let words = match name {
        "released" => "放行",
        "no_scan" => "未扫码",
        "no_read" => "扫码未读出",
        "read_conflict" => "扫码冲突",
        "manifest_not_found" => "无申报清单",
        "status_not_released" => "海关状态未放行",
        "status_inspection" => "海关状态为查验",
        "instruction_inspect" => "查验指令",
        "instruction_hold" => "扣留指令",
        "officer_flag" => "关员标记查验",
        "weight_out_of_tolerance" => "重量超出允差",
        "weight_unstable" => "称重不稳定",
        "weight_missing" => "无称重",
        "declared_weight_missing" => "无申报重量",
        "xray_missing" => "无X光图像",
        "xray_views_mismatch" => "X光图像数不符",
        "duplicate_waybill" => "运单号重复",
        "tracking_lost" => "跟踪丢失",
        _ => return code.to_owned(),
    };
    if arg.is_empty() {
        words.to_owned()
    } else {
        format!("{words}（{arg}）")
    }
}

/// Whether a spreadsheet would change this code by reading it as a number: digits with a
/// leading zero, or more digits than it keeps exactly.
pub(super) fn needs_text_guard(v: &str) -> bool {
    !v.is_empty()
        && v.bytes().all(|b| b.is_ascii_digit())
        && ((v.len() > 1 && v.starts_with('0')) || v.len() > 11)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_that_a_spreadsheet_would_change_are_kept_as_text() {
        assert!(needs_text_guard("09"));
        assert!(needs_text_guard("123456789012"));
        assert!(!needs_text_guard("85"));
        assert!(!needs_text_guard("9610"));
        assert!(!needs_text_guard("0"));
        assert!(!needs_text_guard("闽G12345"));
    }

    #[test]
    fn reasons_lanes_and_headers_read_in_chinese() {
        assert_eq!(reason("status_not_released:300"), "海关状态未放行（300）");
        assert_eq!(reason("officer_flag"), "关员标记查验");
        assert_eq!(reason("late_hold"), "late_hold", "an unknown code stays");
        assert_eq!(value("inspection"), "查验");
        assert_eq!(header("hs_chapter"), "HS 章");
    }
}
