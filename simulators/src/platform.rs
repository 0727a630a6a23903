//! The central platform as a site sees it over MQTT, doubling as the judge of the site's
//! uplink.
//!
//! It subscribes to every served site's `<prefix>/<site>/up/#` and `<prefix>/<site>/status`
//! and applies each (site, stream) exactly once and in order: the next sequence number is
//! applied, a lower one is a resend (counted, ignored), a higher one arrived ahead of a
//! missing one (counted as a gap, ignored: the site resends it, go-back-N). A record
//! applied under two sequence numbers is a double effect, the bug it judges. It acks each
//! stream cumulatively on `<prefix>/<site>/down/ack`, and publishes lists, permits,
//! statuses and instructions down.
//!
//! - [`config`] — [`PlatformConfig`]: broker, TLS, sites, ack interval; the MQTT options.
//! - `route` (private) — incoming topic → site and stream.
//! - `record` (private) — an applied message's record key and contract check.
//! - `judge` (private) — the judge as pure state: apply, count, ack positions.
//! - [`ledger`] — the judge's findings as plain, serializable data.
//! - `link` (private) — the MQTT event loop: reconnect, resubscribe, feed the judge.
//! - `acks` (private) — the ack task and its fault switches.
//! - [`downlink`] — publishing each downlink kind in a numbered envelope, and raw bytes.
//! - [`custody`] — the site's bags and holds as its uplink tells them (bags, interceptions,
//!   revised decisions), and exit permits naming the bags a truck carries.
//! - [`bulk`] — paced bulk list loads, the JSON-lines reader, synthetic lists.
//! - [`scenario`] — [`Scenario`]: lists, statuses, permits and instructions on a
//!   timeline, checked as the site reads them at load; [`play`](scenario::play) publishes it.
//! - [`running`] — [`start`], the [`Platform`] handle and the [`RunningPlatform`] owner.
//! - [`http`] — the HTTP API of the `platform-sim` binary.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use customs_edge_simulators::platform::{self, PlatformConfig};
//!
//! let p = platform::start(PlatformConfig::new("mqtt://127.0.0.1:1883", &["3511W001"])).await?;
//! p.wait_subscribed(Duration::from_secs(10)).await?;
//! let ledger = p
//!     .wait_until(|l| l.last_applied("3511W001", "decisions") >= 100, Duration::from_secs(30))
//!     .await
//!     .map_err(|l| anyhow::anyhow!("stuck: {}", l.summary_line()))?;
//! assert_eq!(ledger.totals.applied_twice, 0);
//! p.stop().await;
//! # Ok(()) }
//! ```

mod acks;
pub mod bulk;
pub mod config;
pub mod custody;
pub mod downlink;
pub mod http;
mod judge;
pub mod ledger;
mod link;
mod record;
mod route;
pub mod running;
pub mod scenario;
pub mod signing;

pub use bulk::{BulkProgress, JsonlLists, read_jsonl, synthetic_lists};
pub use config::PlatformConfig;
pub use custody::{PermitRefused, SiteCustody};
pub use downlink::{PublishError, Published};
pub use ledger::{AppliedMessage, Ledger, SiteLedger, StreamLedger};
pub use running::{Platform, RunningPlatform, start};
pub use scenario::{PlayReport, Scenario};
pub use signing::{Seal, Signing};
