//! Health of each subsystem, as `/healthz` reports it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// State of one subsystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not yet connected or started.
    Starting,
    /// Working.
    Ok,
    /// Working with problems (e.g. one of two scanners down).
    Degraded,
    /// Not working.
    Down,
}

/// One subsystem's report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Component {
    /// Its state.
    pub state: State,
    /// What is going on, in words.
    pub detail: String,
    /// When the state last changed (UTC).
    pub since: String,
    /// When it was last reported working (UTC): for a device, when it was last seen.
    pub last_ok: Option<chrono::DateTime<chrono::Utc>>,
    /// How many times it went down.
    pub failures: u64,
    /// How many times it came back to working after a problem (for a device link: its
    /// reconnects).
    pub recoveries: u64,
}

/// A `Clone` registry of subsystem health.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// A `std` mutex: updates are a map insert, never held across `.await`.
    components: Arc<Mutex<BTreeMap<String, Component>>>,
}

impl Health {
    /// Set the state of `name`; `since` moves only when the state changes.
    pub fn set(&self, name: &str, state: State, detail: impl Into<String>) {
        let mut map = self.components.lock().expect("health lock");
        let detail = detail.into();
        let now = chrono::Utc::now();
        // A new component starts as `Starting`, so a first report of `Down` counts.
        let c = map.entry(name.to_owned()).or_insert_with(|| Component {
            state: State::Starting,
            detail: String::new(),
            since: crate::store::timestamp(now),
            last_ok: None,
            failures: 0,
            recoveries: 0,
        });
        if c.state != state {
            if state == State::Down {
                c.failures += 1;
            }
            if state == State::Ok && matches!(c.state, State::Down | State::Degraded) {
                c.recoveries += 1;
            }
            c.state = state;
            c.since = crate::store::timestamp(now);
        }
        if state == State::Ok {
            c.last_ok = Some(now);
        }
        c.detail = detail;
    }

    /// A copy of every component's report.
    pub fn snapshot(&self) -> BTreeMap<String, Component> {
        self.components.lock().expect("health lock").clone()
    }

    /// Whether every component is `ok`.
    pub fn all_ok(&self) -> bool {
        self.components
            .lock()
            .expect("health lock")
            .values()
            .all(|c| c.state == State::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_that_drops_and_comes_back_counts_a_failure_and_a_recovery() {
        let health = Health::default();
        health.set("line:L1:plc", State::Down, "connection refused");
        let first = health.snapshot()["line:L1:plc"].clone();
        assert_eq!(
            (first.failures, first.recoveries, first.last_ok),
            (1, 0, None)
        );

        health.set("line:L1:plc", State::Ok, "belt running");
        health.set("line:L1:plc", State::Ok, "belt running at 500 mm/s");
        let up = health.snapshot()["line:L1:plc"].clone();
        assert_eq!((up.failures, up.recoveries), (1, 1));
        assert!(up.last_ok.is_some());
        assert_eq!(up.detail, "belt running at 500 mm/s");

        health.set("line:L1:plc", State::Down, "timed out");
        health.set("line:L1:plc", State::Down, "timed out again");
        let down = health.snapshot()["line:L1:plc"].clone();
        assert_eq!(
            (down.failures, down.recoveries),
            (2, 1),
            "one outage, however long"
        );
        assert_eq!(
            down.last_ok, up.last_ok,
            "last seen stays when it was last working"
        );
        assert_eq!(down.since, health.snapshot()["line:L1:plc"].since);
    }
}
