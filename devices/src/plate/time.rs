//! Camera time strings to UTC.
//!
//! Hikvision sends ISO 8601 with an offset (`2017-04-22T15:39:01+08:00`); Dahua sends
//! local time without one (`2026-11-27 10:00:00.123`). A time without an offset is the
//! camera's local time, which on this site is Beijing time (UTC+8, no daylight saving).

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};

use super::error::PlateError;

/// Beijing time, UTC+8.
fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("8 h is a valid offset")
}

/// Parses a camera time; `field` names it in the error.
pub(crate) fn camera_time(field: &'static str, text: &str) -> Result<DateTime<Utc>, PlateError> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(at) = DateTime::parse_from_str(t, fmt) {
            return Ok(at.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return beijing()
                .from_local_datetime(&naive)
                .single()
                .map(|at| at.with_timezone(&Utc))
                .ok_or_else(|| PlateError::bad_field(field, text, "time out of range"));
        }
    }
    Err(PlateError::bad_field(
        field,
        text,
        "not a time like 2026-11-27T10:00:00+08:00 or 2026-11-27 10:00:00.123",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn plate_time_with_offset_is_exact() {
        let at = camera_time("t", "2017-04-22T15:39:01+08:00").unwrap();
        assert_eq!(at, utc("2017-04-22T07:39:01Z"));
        let at = camera_time("t", "2017-04-22T15:39:01.250+0800").unwrap();
        assert_eq!(at, utc("2017-04-22T07:39:01.250Z"));
    }

    #[test]
    fn plate_time_without_offset_is_beijing() {
        let at = camera_time("t", "2026-11-27 10:00:00.123").unwrap();
        assert_eq!(at, utc("2026-11-27T02:00:00.123Z"));
        let at = camera_time("t", "2026-11-27 00:30:00").unwrap();
        assert_eq!(at, utc("2026-11-26T16:30:00Z"), "crosses midnight back");
        let at = camera_time("t", "2026-02-06T13:48:24").unwrap();
        assert_eq!(at, utc("2026-02-06T05:48:24Z"));
    }

    #[test]
    fn plate_time_garbage_names_the_field() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01 00:00:00",
            "99999-01-01 00:00:00",
            "2026-11-27",
        ] {
            let err = camera_time("SnapInfo.AccurateTime", bad).unwrap_err();
            assert!(
                err.to_string().contains("SnapInfo.AccurateTime"),
                "{bad}: {err}"
            );
        }
    }
}
