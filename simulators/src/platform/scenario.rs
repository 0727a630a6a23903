//! Platform scenarios: declaration lists, list status updates, expected arrivals, exit
//! permits, permit status updates and customs instructions on a timeline, published to one
//! site by [`play`].
//! `scenarios/platform-release-and-inspect.toml` shows the format whole.
//!
//! ```toml
//! name = "release and inspect"  # optional, for logs
//! site = "3511W001"             # optional; platform-sim defaults it to the first --site
//! [[step]]
//! at_ms = 0                     # from the start of the run; never before the step above
//! lists = [ { logisticsNo = "SF1234567890", returnStatus = 120, grossWeight = 1.2 } ]
//! [[step]]
//! at_ms = 5000
//! list_status = [ { logisticsNo = "SF1234567890", returnStatus = 800, returnInfo = "放行" } ]
//! arrivals = [ { billNo = "SFMB20261127001", vehicleNo = "闽G56789",
//!                items = [ { logisticsNo = "SF1234567890", totalPackageNo = "BAG1" } ] } ]
//! instructions = [ { logisticsNo = "SF1234567891", action = "inspect",
//!                    reason = "risk model", issuedAt = "2026-11-27T10:00:05Z" } ]
//! permits = [ { permitNo = "HF1", vehicleNo = "闽G12345", status = 1,
//!               items = [ { logisticsNo = "SF1234567890" } ] } ]
//! permit_status = [ { permitNo = "HF1", status = 2 } ]
//! [[step]]
//! at_ms = 8000
//! unchecked = true              # publish what the site will dead-letter
//! lists = [ { logisticsNo = "SF1234567899", returnStatus = 42 } ]
//! raw = [ { kind = "lists", payload = "{not json" } ]
//! ```
//!
//! Items carry the wire's field names and are read by the protocol's own types. Each kind
//! present in a step becomes one downlink message, in the order lists, list_status,
//! arrivals, permits, permit_status, instructions; then each `raw` payload goes as it is to
//! `<prefix>/<site>/down/<kind>` (no envelope, no sequence number).
//!
//! Loading refuses, naming the step and its line: an unknown key anywhere (inside a
//! declaration list too: the site ignores extra CEB603 fields, but in a hand-written
//! scenario one is a typo), a step with nothing to send, a step earlier than the one
//! before it, and a message the site would dead-letter, found by the site's own reader
//! (`Downlink::from_envelope`) — unless the step says `unchecked = true`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use customs_edge_protocol::declaration::DeclarationList;
use customs_edge_protocol::downlink::{
    self, Downlink, ExitPermit, ExpectedArrival, Instruction, PermitStatusUpdate, StatusUpdate,
    kind,
};
use customs_edge_protocol::envelope::{Envelope, SCHEMA_VERSION};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::downlink::DOWN_STREAM;
use super::running::Platform;

/// The `kind` under which raw payloads are counted in a [`PlayReport`].
pub const RAW: &str = "raw";

/// A platform scenario: what is published to a site, and when.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Scenario {
    /// A name for logs.
    pub name: Option<String>,
    /// The site it is for; the player's caller decides when absent.
    pub site: Option<String>,
    /// The steps, in time order (`[[step]]`).
    pub steps: Vec<Step>,
}

/// One point on the timeline (`[[step]]`): what is published then.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// When, in ms from the start of the run.
    pub at_ms: u64,
    /// Skip the site's checks, to publish a well-formed envelope the site dead-letters.
    #[serde(default)]
    pub unchecked: bool,
    /// New or replaced declaration lists: one `lists` message.
    #[serde(default)]
    pub lists: Vec<DeclarationList>,
    /// Customs status updates: one `list_status` message.
    #[serde(default)]
    pub list_status: Vec<StatusUpdate>,
    /// Expected arrivals (a bill on a truck, by plate): one `arrivals` message.
    #[serde(default)]
    pub arrivals: Vec<ExpectedArrival>,
    /// New or replaced exit permits: one `permits` message.
    #[serde(default)]
    pub permits: Vec<ExitPermit>,
    /// Exit permit status updates: one `permit_status` message.
    #[serde(default)]
    pub permit_status: Vec<PermitStatusUpdate>,
    /// Customs instructions: one `instructions` message.
    #[serde(default)]
    pub instructions: Vec<Instruction>,
    /// Payloads published as they are, after the messages.
    #[serde(default)]
    pub raw: Vec<RawPayload>,
}

/// A payload published as it is to `<prefix>/<site>/down/<kind>`, e.g. a malformed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPayload {
    /// The last topic level; need not be a known kind.
    pub kind: String,
    /// The bytes, as text.
    pub payload: String,
}

/// One downlink message of a step, as it is checked and published.
#[derive(Debug, Clone, PartialEq)]
pub struct StepMessage {
    /// Its kind (and the last topic level).
    pub kind: &'static str,
    /// How many lists, updates, arrivals, permits or instructions it carries.
    pub items: usize,
    /// The envelope body.
    pub body: Value,
}

/// Why a scenario was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Not TOML, or a top-level key that is not `name`, `site` or `step`.
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    /// Every problem of the steps, each naming its step.
    #[error("{}", .0.join("\n  "))]
    Invalid(Vec<String>),
}

/// The file as written; the steps stay tables until each is read with its index.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    step: Vec<toml::Spanned<toml::Table>>,
}

impl Scenario {
    /// Parse and check a scenario; every problem of the steps is in the error.
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let file: ScenarioFile = toml::from_str(text)?;
        let mut problems = Vec::new();
        if file.site.as_deref().is_some_and(str::is_empty) {
            problems.push("site must not be empty".to_owned());
        }
        if file.step.is_empty() {
            problems.push("no [[step]]: nothing to publish".to_owned());
        }
        let mut steps = Vec::with_capacity(file.step.len());
        for (i, spanned) in file.step.into_iter().enumerate() {
            let line = text[..spanned.span().start].matches('\n').count() + 1;
            let at = format!("step[{i}] (line {line})");
            match read_step(spanned.into_inner()) {
                Ok(step) => {
                    if let Some(before) = steps.last().map(|s: &Step| s.at_ms)
                        && step.at_ms < before
                    {
                        problems.push(format!(
                            "{at}: at_ms {} is before the {before} of the step above; steps go \
                             in time order",
                            step.at_ms
                        ));
                    }
                    problems.extend(step.problems().into_iter().map(|p| format!("{at}: {p}")));
                    steps.push(step);
                }
                Err(p) => problems.push(format!("{at}: {p}")),
            }
        }
        if !problems.is_empty() {
            return Err(ScenarioError::Invalid(problems));
        }
        Ok(Self {
            name: file.name,
            site: file.site,
            steps,
        })
    }

    /// Read, parse and check a scenario file; the error names the file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the platform scenario {}", path.display()))?;
        Self::from_toml(&text)
            .with_context(|| format!("the platform scenario {} is not valid", path.display()))
    }

    /// When the last step is due, in ms from the start.
    pub fn last_at_ms(&self) -> u64 {
        self.steps.last().map_or(0, |s| s.at_ms)
    }
}

/// Read one step, refusing keys that a type would silently ignore.
fn read_step(table: toml::Table) -> Result<Step, String> {
    let step: Step = table.clone().try_into().map_err(|e| e.to_string())?;
    let typed = serde_json::to_value(&step).map_err(|e| e.to_string())?;
    let mut ignored = Vec::new();
    ignored_keys("", &toml::Value::Table(table), &typed, &mut ignored);
    if ignored.is_empty() {
        Ok(step)
    } else {
        Err(format!("unknown key {}", ignored.join(", ")))
    }
}

/// Keys of `raw` that the value it was read into does not have (every field of a protocol
/// type is serialized, absent options as null), with their paths.
fn ignored_keys(path: &str, raw: &toml::Value, typed: &Value, out: &mut Vec<String>) {
    match (raw, typed) {
        (toml::Value::Table(raw), Value::Object(typed)) => {
            for (key, value) in raw {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match typed.get(key) {
                    Some(t) => ignored_keys(&at, value, t, out),
                    None => out.push(at),
                }
            }
        }
        (toml::Value::Array(raw), Value::Array(typed)) => {
            for (i, (r, t)) in raw.iter().zip(typed).enumerate() {
                ignored_keys(&format!("{path}[{i}]"), r, t, out);
            }
        }
        _ => {}
    }
}

impl Step {
    /// The downlink messages of this step, in publishing order (raw payloads excluded).
    pub fn messages(&self) -> Vec<StepMessage> {
        fn message<B: Serialize>(kind: &'static str, items: usize, body: &B) -> StepMessage {
            let body = serde_json::to_value(body).expect("protocol bodies serialize to JSON");
            StepMessage { kind, items, body }
        }
        let mut out = Vec::new();
        if !self.lists.is_empty() {
            let body = downlink::Lists {
                lists: self.lists.clone(),
            };
            out.push(message(kind::LISTS, self.lists.len(), &body));
        }
        if !self.list_status.is_empty() {
            let body = downlink::ListStatus {
                updates: self.list_status.clone(),
            };
            out.push(message(kind::LIST_STATUS, self.list_status.len(), &body));
        }
        if !self.arrivals.is_empty() {
            let body = downlink::Arrivals {
                arrivals: self.arrivals.clone(),
            };
            out.push(message(kind::ARRIVALS, self.arrivals.len(), &body));
        }
        if !self.permits.is_empty() {
            let body = downlink::Permits {
                permits: self.permits.clone(),
            };
            out.push(message(kind::PERMITS, self.permits.len(), &body));
        }
        if !self.permit_status.is_empty() {
            let body = downlink::PermitStatus {
                updates: self.permit_status.clone(),
            };
            out.push(message(
                kind::PERMIT_STATUS,
                self.permit_status.len(),
                &body,
            ));
        }
        if !self.instructions.is_empty() {
            let body = downlink::Instructions {
                instructions: self.instructions.clone(),
            };
            out.push(message(kind::INSTRUCTIONS, self.instructions.len(), &body));
        }
        out
    }

    /// What the site would refuse, and empty or unroutable parts.
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let messages = self.messages();
        if messages.is_empty() && self.raw.is_empty() {
            out.push("nothing to publish".to_owned());
        }
        if !self.unchecked {
            for m in messages {
                if let Err(e) = site_reads(m.kind, m.body) {
                    out.push(format!(
                        "{}: {e} (the site would dead-letter it; `unchecked = true` sends it \
                         anyway)",
                        m.kind
                    ));
                }
            }
        }
        for (i, r) in self.raw.iter().enumerate() {
            if r.kind.is_empty() || r.kind.contains(['/', '+', '#']) {
                out.push(format!("raw[{i}].kind {:?} is not one topic level", r.kind));
            }
        }
        out
    }
}

/// Read `body` of `kind` as the site will (its own checks), outside any envelope checks.
pub(crate) fn site_reads(kind: &str, body: Value) -> Result<Downlink, String> {
    let envelope = Envelope {
        schema: SCHEMA_VERSION,
        id: "scenario:down:1".to_owned(),
        stream: DOWN_STREAM.to_owned(),
        seq: 1,
        site: String::new(),
        created: String::new(),
        kind: kind.to_owned(),
        body,
    };
    Downlink::from_envelope(&envelope).map_err(|e| e.to_string())
}

/// What [`play`] published.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlayReport {
    /// Steps published whole.
    pub steps: usize,
    /// Messages per kind ([`RAW`] for raw payloads).
    pub messages: BTreeMap<String, u64>,
    /// Items (lists, updates, arrivals, permits, instructions) per kind.
    pub items: BTreeMap<String, u64>,
    /// Downlink sequence number of the first message.
    pub first_seq: Option<u64>,
    /// Downlink sequence number of the last message.
    pub last_seq: Option<u64>,
    /// Every step was published (not stopped by the shutdown first).
    pub finished: bool,
    /// Time from the start to the last step or the stop.
    pub elapsed: Duration,
}

/// Publish each step of `scenario` to `site` at its time from now; stops early, with what
/// was sent so far, when `shutdown` fires. `Err` when a message cannot be published.
pub async fn play(
    platform: &Platform,
    scenario: &Scenario,
    site: &str,
    shutdown: CancellationToken,
) -> anyhow::Result<PlayReport> {
    if !platform.sites().iter().any(|s| s == site) {
        anyhow::bail!("site {site:?} is not served by this platform");
    }
    let started = Instant::now();
    let mut report = PlayReport::default();
    let name = scenario.name.as_deref().unwrap_or("unnamed");
    info!(
        site,
        name,
        steps = scenario.steps.len(),
        "platform scenario started"
    );
    for (i, step) in scenario.steps.iter().enumerate() {
        let due = started + Duration::from_millis(step.at_ms);
        let stopped = tokio::select! {
            () = shutdown.cancelled() => true,
            r = async {
                tokio::time::sleep_until(due).await;
                publish_step(platform, site, i, step, &mut report).await
            } => r.map(|()| false)?,
        };
        report.elapsed = started.elapsed();
        if stopped {
            info!(
                site,
                name,
                steps = report.steps,
                "platform scenario stopped"
            );
            return Ok(report);
        }
        report.steps += 1;
    }
    report.finished = true;
    info!(site, name, steps = report.steps, messages = ?report.messages, items = ?report.items,
        last_seq = ?report.last_seq, "platform scenario played");
    Ok(report)
}

/// Publish the messages and raw payloads of step `i`, counting them in `report`.
async fn publish_step(
    platform: &Platform,
    site: &str,
    i: usize,
    step: &Step,
    report: &mut PlayReport,
) -> anyhow::Result<()> {
    let at_ms = step.at_ms;
    for m in step.messages() {
        let seq = platform
            .publish_downlink(site, m.kind, &m.body)
            .await
            .with_context(|| format!("step[{i}] (at_ms {at_ms}): cannot publish {}", m.kind))?;
        info!(
            site,
            step = i,
            at_ms,
            kind = m.kind,
            items = m.items,
            seq,
            "scenario message published"
        );
        *report.messages.entry(m.kind.to_owned()).or_default() += 1;
        *report.items.entry(m.kind.to_owned()).or_default() += m.items as u64;
        report.first_seq.get_or_insert(seq);
        report.last_seq = Some(seq);
    }
    for r in &step.raw {
        let topic = platform.topics(site).down(&r.kind);
        platform
            .publish_raw(&topic, r.payload.as_bytes(), false)
            .await
            .with_context(|| format!("step[{i}] (at_ms {at_ms}): cannot publish raw to {topic}"))?;
        info!(site, step = i, at_ms, %topic, bytes = r.payload.len(), "scenario raw payload published");
        *report.messages.entry(RAW.to_owned()).or_default() += 1;
    }
    Ok(())
}

#[cfg(test)]
#[path = "scenario_tests.rs"]
mod tests;
