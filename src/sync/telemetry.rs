//! PLC tag telemetry: each configured tag is published when it moves beyond its deadband,
//! when its quality changes, and at least every `max_interval_s` — always with its quality,
//! so a dead link shows as `stale`, never as a value that stopped changing.
//!
//! There is no sampling period of its own: tags are looked at on every PLC poll the line
//! task reports, so a change is written to the outbox (and sent) from the poll that saw it.
//! Between polls a slow check catches what time alone changes: `max_interval_s` and a PLC
//! link gone quiet.

use std::collections::HashMap;
use std::time::Duration;

use customs_edge_devices::line_plc::LineStatus;
use customs_edge_protocol::uplink::{self, Stream, TagValue};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::TelemetryTag;
use crate::sorting::{LineStatusFeed, PlcSample};
use crate::store::{Store, outbox};

/// The tags a line PLC offers.
pub const TAGS: [&str; 9] = [
    "belt_running",
    "belt_speed_mm_s",
    "estop",
    "plc_fault",
    "fault_code",
    "xray_running",
    "xray_fault",
    "scale_fault",
    "plc_heartbeat",
];

/// How often tags are looked at when no poll comes: for `max_interval_s`, and so that a
/// PLC link gone quiet shows as stale.
const QUIET_CHECK: Duration = Duration::from_millis(250);
/// A value not refreshed for this long is stale even if the last poll succeeded.
const STALE_AFTER: Duration = Duration::from_secs(1);

/// The value of `tag` in a status block.
pub fn tag_value(status: &LineStatus, tag: &str) -> Option<f64> {
    let flag = |b: bool| Some(if b { 1.0 } else { 0.0 });
    match tag {
        "belt_running" => flag(status.flags.running),
        "belt_speed_mm_s" => Some(f64::from(status.belt_speed_mm_s)),
        "estop" => flag(status.flags.estop),
        "plc_fault" => flag(status.flags.fault),
        "fault_code" => Some(status.fault.map_or(0.0, |f| f64::from(f as u16))),
        "xray_running" => flag(status.flags.xray_running),
        "xray_fault" => flag(status.flags.xray_fault),
        "scale_fault" => flag(status.flags.scale_fault),
        "plc_heartbeat" => Some(f64::from(status.plc_heartbeat)),
        _ => None,
    }
}

/// Quality of a sample.
fn quality(sample: &PlcSample, now: Instant) -> &'static str {
    let fresh = sample
        .read_at
        .is_some_and(|t| now.saturating_duration_since(t) < STALE_AFTER);
    if sample.bad {
        "bad"
    } else if sample.link_up && fresh {
        "good"
    } else {
        "stale"
    }
}

#[derive(Debug)]
struct TagState {
    config: TelemetryTag,
    last: Option<(Option<f64>, &'static str, Instant)>,
}

impl TagState {
    /// Whether this reading must be published.
    fn due(&self, value: Option<f64>, quality: &str, now: Instant) -> bool {
        let Some((last_value, last_quality, at)) = self.last else {
            return true;
        };
        if last_quality != quality
            || now.saturating_duration_since(at) >= Duration::from_secs(self.config.max_interval_s)
        {
            return true;
        }
        match (last_value, value) {
            (Some(a), Some(b)) => {
                let moved = (a - b).abs();
                if self.config.deadband > 0.0 {
                    moved > self.config.deadband
                } else {
                    moved > 0.0
                }
            }
            (a, b) => a.is_some() != b.is_some(),
        }
    }
}

/// The telemetry task.
pub(crate) struct Sampler {
    lines: Vec<(String, watch::Receiver<PlcSample>, Vec<TagState>)>,
    store: Store,
}

impl Sampler {
    pub(crate) fn new(tags: &[TelemetryTag], feeds: Vec<LineStatusFeed>, store: Store) -> Self {
        let mut by_line: HashMap<&str, Vec<TagState>> = HashMap::new();
        for t in tags {
            by_line.entry(t.line.as_str()).or_default().push(TagState {
                config: t.clone(),
                last: None,
            });
        }
        let lines = feeds
            .into_iter()
            .filter_map(|f| {
                let tags = by_line.remove(f.line.as_str())?;
                Some((f.line, f.samples, tags))
            })
            .collect();
        Self { lines, store }
    }

    pub(crate) async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        if self.lines.is_empty() {
            shutdown.cancelled().await;
            return Ok(());
        }
        loop {
            // Until any line reports a poll (or the quiet check is due).
            let polled = futures_util::future::select_all(
                self.lines
                    .iter_mut()
                    .map(|(_, samples, _)| Box::pin(samples.changed())),
            );
            let ended = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                (changed, _, _) = polled => changed.is_err(),
                () = tokio::time::sleep(QUIET_CHECK) => false,
            };
            if ended {
                // A line's task is gone for good: only the quiet check is left for it.
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(QUIET_CHECK) => {}
                }
            }
            let now = Instant::now();
            let wall = chrono::Utc::now();
            let mut messages = Vec::new();
            for (line, samples, tags) in &mut self.lines {
                let sample = samples.borrow_and_update().clone();
                let quality = quality(&sample, now);
                let at = sample.read_at.map_or_else(crate::store::now, |t| {
                    let age = chrono::Duration::from_std(now.saturating_duration_since(t))
                        .unwrap_or_default();
                    crate::store::timestamp(wall - age)
                });
                let mut values = Vec::new();
                for tag in tags.iter_mut() {
                    let value = sample
                        .status
                        .as_ref()
                        .and_then(|s| tag_value(s, &tag.config.tag));
                    if tag.due(value, quality, now) {
                        tag.last = Some((value, quality, now));
                        values.push(TagValue {
                            tag: tag.config.tag.clone(),
                            value,
                            quality: quality.to_owned(),
                            at: at.clone(),
                        });
                    }
                }
                if !values.is_empty() {
                    messages.push(uplink::Telemetry {
                        device: format!("line:{line}:plc"),
                        tags: values,
                    });
                }
            }
            if messages.is_empty() {
                continue;
            }
            // Telemetry is the first thing shed when the disk runs low.
            if self.store.status().sheds(crate::store::Shed::Bulk) {
                for _ in &messages {
                    crate::metrics::record_shed("telemetry");
                }
                continue;
            }
            let written = self
                .store
                .writer
                .write(move |tx| {
                    for m in &messages {
                        outbox::enqueue(tx, Stream::Telemetry, uplink::kind::TELEMETRY, m)?;
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = written {
                // Lost, like a reading the PLC was not polled for: the next one is sent when due.
                tracing::debug!(error = %e, "telemetry not written");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(deadband: f64) -> TagState {
        TagState {
            config: TelemetryTag {
                line: "L1".into(),
                tag: "belt_speed_mm_s".into(),
                deadband,
                max_interval_s: 60,
            },
            last: None,
        }
    }

    #[test]
    fn a_change_within_the_deadband_waits_for_the_interval() {
        let t0 = Instant::now();
        let mut s = state(50.0);
        assert!(
            s.due(Some(1000.0), "good", t0),
            "the first value is always sent"
        );
        s.last = Some((Some(1000.0), "good", t0));
        assert!(!s.due(Some(1040.0), "good", t0 + Duration::from_secs(1)));
        assert!(s.due(Some(1060.0), "good", t0 + Duration::from_secs(1)));
        assert!(
            s.due(Some(1000.0), "good", t0 + Duration::from_secs(60)),
            "max interval"
        );
    }

    #[test]
    fn a_dead_link_is_sent_at_once_as_stale() {
        let t0 = Instant::now();
        let mut s = state(50.0);
        s.last = Some((Some(1000.0), "good", t0));
        assert!(s.due(Some(1000.0), "stale", t0 + Duration::from_millis(100)));
        let sample = PlcSample {
            status: Some(LineStatus::default()),
            read_at: Some(t0),
            link_up: false,
            bad: false,
        };
        assert_eq!(quality(&sample, t0), "stale");
        let frozen = PlcSample {
            link_up: true,
            ..sample.clone()
        };
        assert_eq!(quality(&frozen, t0 + Duration::from_secs(2)), "stale");
        assert_eq!(quality(&frozen, t0), "good");
    }

    #[test]
    fn every_tag_reads_from_a_status_block() {
        let status = LineStatus::default();
        for tag in TAGS {
            assert!(tag_value(&status, tag).is_some(), "{tag}");
        }
        assert_eq!(tag_value(&status, "nonsense"), None);
    }
}
