//! Health of each subsystem, as `/healthz` reports it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// State of one subsystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    /// Its state.
    pub state: State,
    /// What is going on, in words.
    pub detail: String,
    /// When the state last changed (UTC).
    pub since: String,
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
        match map.get_mut(name) {
            Some(c) if c.state == state => c.detail = detail,
            _ => {
                map.insert(
                    name.to_owned(),
                    Component {
                        state,
                        detail,
                        since: crate::store::now(),
                    },
                );
            }
        }
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
