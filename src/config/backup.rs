//! The config of scheduled backups (`[backup]`): where they go, how often, how many stay.

use std::path::{Path, PathBuf};

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use super::load::Problem;

/// Scheduled backups of the store and its evidence, taken while the controller runs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// Directory the backups go into, one subdirectory each (`customs-edge-<UTC time>`).
    /// Best on another disk than `storage.data_dir`: a backup on the same disk does not
    /// survive it. Evidence unchanged since the previous backup is hard-linked from it, so
    /// each backup costs the database and the new files only. Required.
    #[serde(default)]
    pub dir: PathBuf,
    /// Back up every this many hours (1 to 720), instead of once a day at `daily_at`.
    #[serde(default)]
    pub interval_h: Option<u32>,
    /// Back up once a day at this Beijing time, `HH:MM` (03:00 when neither this nor
    /// `interval_h` is set). A backup missed while the controller was down is taken soon
    /// after it starts.
    #[serde(default)]
    pub daily_at: Option<String>,
    /// How many backups to keep; after each successful one the oldest beyond this go.
    #[serde(default = "default_keep")]
    pub keep: u32,
}

fn default_keep() -> u32 {
    7
}

/// The time of day backups run when neither `interval_h` nor `daily_at` is set.
fn default_daily_at() -> NaiveTime {
    NaiveTime::from_hms_opt(3, 0, 0).expect("03:00 is a time")
}

/// When backups run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupSchedule {
    /// Every so often, counted from the previous backup.
    Every(chrono::TimeDelta),
    /// Once a day at this Beijing time.
    DailyAt(NaiveTime),
}

impl BackupConfig {
    /// The schedule this config asks for (validated configs only).
    pub fn schedule(&self) -> BackupSchedule {
        match (&self.interval_h, &self.daily_at) {
            (Some(h), _) => BackupSchedule::Every(chrono::TimeDelta::hours(i64::from(*h))),
            (None, Some(at)) => {
                BackupSchedule::DailyAt(parse_time(at).unwrap_or_else(|_| default_daily_at()))
            }
            (None, None) => BackupSchedule::DailyAt(default_daily_at()),
        }
    }

    pub(super) fn validate(&self, out: &mut Vec<Problem>, data_dir: &Path) {
        if self.dir.as_os_str().is_empty() {
            out.push(Problem::new(
                "backup.dir",
                "required: the directory backups go into",
            ));
        } else if self.dir.starts_with(data_dir) {
            out.push(Problem::new(
                "backup.dir",
                format!(
                    "{} is inside storage.data_dir ({}): a backup must live outside the data \
                     it copies, best on another disk",
                    self.dir.display(),
                    data_dir.display()
                ),
            ));
        }
        if let Some(h) = self.interval_h
            && !(1..=720).contains(&h)
        {
            out.push(Problem::new(
                "backup.interval_h",
                "must be between 1 and 720 hours",
            ));
        }
        if let Some(at) = &self.daily_at {
            if self.interval_h.is_some() {
                out.push(Problem::new(
                    "backup.daily_at",
                    "set either interval_h or daily_at, not both",
                ));
            }
            if let Err(message) = parse_time(at) {
                out.push(Problem::new("backup.daily_at", message));
            }
        }
        if !(1..=1000).contains(&self.keep) {
            out.push(Problem::new("backup.keep", "must be between 1 and 1000"));
        }
    }
}

fn parse_time(at: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(at, "%H:%M")
        .map_err(|_| format!("{at:?} is not a time of day; expected HH:MM, e.g. 03:00"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Vec<Problem> {
        let c: BackupConfig = toml::from_str(text).unwrap();
        let mut out = Vec::new();
        c.validate(&mut out, Path::new("/var/lib/customs-edge"));
        out
    }

    #[test]
    fn a_daily_backup_at_three_is_the_default() {
        let c: BackupConfig = toml::from_str("dir = \"/backup\"").unwrap();
        assert_eq!(c.keep, 7);
        assert_eq!(c.schedule(), BackupSchedule::DailyAt(default_daily_at()));
        assert!(config("dir = \"/backup\"").is_empty());
    }

    #[test]
    fn every_problem_has_its_path() {
        let found = config(
            "dir = \"/var/lib/customs-edge/backups\"\ninterval_h = 0\ndaily_at = \"25:00\"\nkeep = 0",
        );
        let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "backup.dir",
                "backup.interval_h",
                "backup.daily_at",
                "backup.daily_at",
                "backup.keep"
            ],
            "{found:?}"
        );
        assert!(config("").iter().any(|p| p.message.starts_with("required")));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<BackupConfig>("dir = \"/b\"\nretain = 3").is_err());
    }
}
