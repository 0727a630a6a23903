//! Platform-sync helpers: the controller's `[platform]` for a test broker, the platform
//! simulator as the judge, and what the controller's outbox says.

#[path = "../../../protocol/tests/it/common.rs"]
mod mqtt_schemas;

use std::collections::BTreeSet;
use std::time::Duration;

use customs_edge::config::PlatformConfig;
use customs_edge_simulators::broker::Broker;
use customs_edge_simulators::platform::{self, Ledger, RunningPlatform};

use super::Site;

pub const SITE: &str = "3511W001";

/// The controller's `[platform]` for `broker`, with short timeouts for tests.
pub fn platform_config(broker: &Broker, extra: &str) -> PlatformConfig {
    let mut text = format!(
        "broker = \"{}\"\nack_timeout_s = 5\nkeep_alive_s = 5\n",
        broker.url()
    );
    text.push_str(extra);
    toml::from_str(&text).expect("test platform config")
}

pub async fn start_platform(broker: &Broker) -> RunningPlatform {
    let mut cfg = platform::PlatformConfig::new(broker.url(), &[SITE]);
    cfg.client_id = "platform-under-test".into();
    if broker.url().starts_with("mqtts") {
        cfg.ca_file = Some(broker.ca_path().to_owned());
        cfg.client_cert = Some(broker.client_cert_path().to_owned());
        cfg.client_key = Some(broker.client_key_path().to_owned());
    }
    let p = platform::start(cfg).await.expect("platform starts");
    p.wait_subscribed(Duration::from_secs(30))
        .await
        .expect("platform subscribed");
    p
}

pub async fn wait_ledger(
    p: &RunningPlatform,
    what: &str,
    limit: Duration,
    pred: impl Fn(&Ledger) -> bool,
) -> Ledger {
    match p.wait_until(pred, limit).await {
        Ok(l) => l,
        Err(l) => panic!(
            "timed out waiting for {what}; ledger: {}",
            serde_json::to_string_pretty(&l).unwrap()
        ),
    }
}

/// Every parcel decision the controller holds.
pub fn decided_parcels(site: &Site) -> BTreeSet<i64> {
    site.query("SELECT id FROM parcels WHERE decided_at IS NOT NULL")
        .into_iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect()
}

/// What the controller's outbox says of a stream: (last seq written, acked seq, rows waiting).
pub fn outbox_stream(site: &Site, stream: &str) -> (i64, i64, i64) {
    site.query(&format!(
        "SELECT next_seq - 1, acked_seq, pending_rows FROM outbox_streams WHERE stream = '{stream}'"
    ))
    .first()
    .map_or((0, 0, 0), |r| {
        (
            r[0].as_i64().unwrap(),
            r[1].as_i64().unwrap(),
            r[2].as_i64().unwrap(),
        )
    })
}

/// Sort results applied by the platform, by parcel id, asserting each validates against
/// its published schema.
pub fn applied_sort_results(p: &RunningPlatform) -> Vec<i64> {
    p.applied(SITE, "decisions")
        .into_iter()
        .filter(|m| m.kind == "sort_result")
        .map(|m| m.body["parcel_id"].as_i64().unwrap())
        .collect()
}

pub fn validate_everything_applied(p: &RunningPlatform) {
    for stream in [
        "decisions",
        "gate",
        "health",
        "officer",
        "telemetry",
        "stats",
    ] {
        for m in p.applied(SITE, stream) {
            let envelope = serde_json::json!({
                "schema": 1, "id": m.id, "stream": m.stream, "seq": m.seq, "site": m.site,
                "created": m.created, "kind": m.kind, "body": m.body,
            });
            if let Err(e) = mqtt_schemas::validate_against("uplink", &m.kind, &envelope) {
                panic!(
                    "{} {} does not validate: {e}\n{envelope:#}",
                    m.stream, m.seq
                );
            }
        }
    }
}
