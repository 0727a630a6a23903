//! The system clock: every record's time comes from it, and evidence times are legal
//! records. Whether the host says it is synchronised, asked the ways Debian hosts answer:
//! systemd's `timedatectl`, timesyncd's flag file, chrony, ntpd. A host that answers none
//! of them is "unknown" — a warning, not a failure; a host that says it is not
//! synchronised fails.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

use super::Row;

const SUBJECT: &str = "system clock";
const CHECK: &str = "ntp sync";
/// timesyncd touches this file once it has synchronised.
const TIMESYNC_FLAG: &str = "/run/systemd/timesync/synchronized";

/// What the host says.
pub(super) async fn check() -> Vec<Row> {
    if let Some(out) = run("timedatectl", &["show", "-p", "NTPSynchronized", "--value"]).await {
        match out.trim() {
            "yes" => return vec![Row::ok(SUBJECT, CHECK, "synchronised (timedatectl)")],
            "no" => {
                return vec![Row::fail(
                    SUBJECT,
                    CHECK,
                    "timedatectl says the clock is not synchronised: evidence times may be \
                     wrong; enable NTP (timedatectl set-ntp true) or chrony",
                )];
            }
            _ => {}
        }
    }
    if Path::new(TIMESYNC_FLAG).exists() {
        return vec![Row::ok(
            SUBJECT,
            CHECK,
            format!("synchronised ({TIMESYNC_FLAG})"),
        )];
    }
    if let Some(out) = run("chronyc", &["-n", "tracking"]).await
        && let Some(row) = chrony(&out)
    {
        return vec![row];
    }
    if let Some(code) = status("ntpstat").await {
        match code {
            0 => return vec![Row::ok(SUBJECT, CHECK, "synchronised (ntpstat)")],
            1 => {
                return vec![Row::fail(
                    SUBJECT,
                    CHECK,
                    "ntpstat says the clock is not synchronised",
                )];
            }
            _ => {}
        }
    }
    vec![Row::warn(
        SUBJECT,
        CHECK,
        "unknown: neither timedatectl, systemd-timesyncd, chrony nor ntpd reports a status on \
         this host; make sure something keeps the clock in step",
    )]
}

/// Read `chronyc tracking`: leap status and the offset.
pub(super) fn chrony(out: &str) -> Option<Row> {
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim() == name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let leap = field("Leap status")?;
    let offset = field("System time").unwrap_or_default();
    Some(if leap == "Normal" {
        Row::ok(
            SUBJECT,
            CHECK,
            format!("synchronised (chrony; system time {offset})"),
        )
    } else {
        Row::fail(
            SUBJECT,
            CHECK,
            format!("chrony's leap status is {leap:?}: not synchronised"),
        )
    })
}

/// A command's standard output when it exits 0 within two seconds.
async fn run(program: &str, args: &[&str]) -> Option<String> {
    let child = Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(2), child)
        .await
        .ok()?
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A command's exit code within two seconds.
async fn status(program: &str) -> Option<i32> {
    let child = Command::new(program)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    tokio::time::timeout(Duration::from_secs(2), child)
        .await
        .ok()?
        .ok()?
        .code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Verdict;

    #[test]
    fn chrony_tracking_is_read() {
        let synced = "Reference ID    : C0A80001 (ntp.site)\nSystem time     : 0.000012 seconds fast of NTP time\nLeap status     : Normal\n";
        let row = chrony(synced).unwrap();
        assert_eq!(row.result, Verdict::Ok);
        assert!(
            row.detail.contains("0.000012 seconds fast"),
            "{}",
            row.detail
        );
        let lost = "Leap status     : Not synchronised\n";
        assert_eq!(chrony(lost).unwrap().result, Verdict::Fail);
        assert!(chrony("chronyd is not running").is_none());
    }
}
