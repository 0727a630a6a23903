//! When scheduled backups are due, how many stay, and the alarm while they fail.

use chrono::{NaiveTime, TimeZone as _};

use super::*;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

#[test]
fn the_first_backup_is_due_at_once_and_the_next_one_interval_after_the_last() {
    let every = BackupSchedule::Every(TimeDelta::hours(6));
    let now = utc(2026, 12, 6, 10, 0);
    assert_eq!(next_due(every, None, now), now);
    assert_eq!(
        next_due(every, Some(utc(2026, 12, 6, 8, 0)), now),
        utc(2026, 12, 6, 14, 0)
    );
    assert_eq!(
        next_due(every, Some(utc(2026, 12, 5, 1, 0)), now),
        now,
        "missed while the controller was down: now"
    );
}

#[test]
fn a_daily_backup_runs_at_its_beijing_time_the_day_after_the_last() {
    let daily = BackupSchedule::DailyAt(NaiveTime::from_hms_opt(3, 0, 0).unwrap());
    // 03:00 Beijing is 19:00 UTC the day before.
    let last = utc(2026, 12, 5, 19, 0);
    let now = utc(2026, 12, 6, 2, 0);
    assert_eq!(next_due(daily, Some(last), now), utc(2026, 12, 6, 19, 0));
    // A backup by hand at 01:00 Beijing: the 03:00 one still comes that day.
    let early = utc(2026, 12, 5, 17, 0);
    assert_eq!(
        next_due(daily, Some(early), utc(2026, 12, 5, 17, 30)),
        utc(2026, 12, 5, 19, 0)
    );
}

async fn open_alarms(store: &Store) -> Vec<String> {
    store
        .reader
        .read(|c| alarms::open(c, ALARM_SOURCE, 10))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect()
}

#[tokio::test]
async fn a_failing_backup_raises_one_alarm_the_next_success_clears_it_and_keep_prunes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open(&data).unwrap();
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"").unwrap();
    let mut config: BackupConfig = toml::from_str("dir = \"/x\"\nkeep = 2").unwrap();
    config.dir = blocker.join("backups");
    let cancel = CancellationToken::new();

    for _ in 0..2 {
        let outcome = run_once(&config, &data, &cancel);
        assert!(outcome.is_err());
        record_outcome(&store, &outcome).await.unwrap();
    }
    assert_eq!(open_alarms(&store).await, [ALARM_FAILED], "raised once");

    config.dir = dir.path().join("backups");
    for _ in 0..3 {
        let outcome = run_once(&config, &data, &cancel);
        assert!(outcome.is_ok(), "{:?}", outcome.err());
        record_outcome(&store, &outcome).await.unwrap();
    }
    assert!(
        open_alarms(&store).await.is_empty(),
        "cleared by the success"
    );
    assert_eq!(completed(&config.dir).len(), 2, "keep = 2");
    let alarms_raised: i64 = store
        .reader
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM alarms WHERE kind = 'backup_failed'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(alarms_raised, 1);
}
