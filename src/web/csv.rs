//! CSV for the consoles' exports: RFC 4180 fields, CRLF lines, a byte-order mark so
//! spreadsheets read UTF-8, and cells a spreadsheet would run as a formula kept as text.

use axum::http::header;
use axum::response::{IntoResponse as _, Response};

/// Append `value` as one field: quoted when it must be; a cell that starts like a formula
/// (a waybill comes off a label anyone can print) is quoted with a leading `'`.
pub(super) fn push_field(out: &mut String, value: &str) {
    let guard = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = guard
        || value.contains([',', '"', '\r', '\n'])
        || value.starts_with(' ')
        || value.ends_with(' ');
    if !quote {
        out.push_str(value);
        return;
    }
    out.push('"');
    if guard {
        out.push('\'');
    }
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

/// `body` as a CSV download named `filename`, never cached.
pub(super) fn attachment(filename: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}
