//! The bag-label scanners at a line's release lane: what a scan there does.
//!
//! A scan of the waybill of a parcel intercepted on this line records its retrieval (it
//! was taken back out of the lane or its bag; the scanner is the actor, the code the
//! scan), or is noted when that retrieval is recorded already; a code starting with the
//! scanner's `bag_prefix` closes the lane's open bag with that number (totalPackageNo).
//! Anything else, and a bag label that cannot close a bag (no open bag, a number already
//! used), is refused: logged, counted and kept as rejected input, and nothing changes.

use customs_edge_devices::scanner::{ScanFrame, ScannerEvent};
use tracing::{info, warn};

use super::Line;
use crate::config::BagScannerConfig;
use crate::health::State;
use crate::store::holds::interceptions::{self, Retrieval};
use crate::store::{StoreError, bags};

/// What one scan did.
#[derive(Debug)]
enum Outcome {
    /// The retrieval of interception `id` is recorded.
    Retrieval { id: i64, parcel_id: i64 },
    /// Interception `id`'s retrieval was recorded before.
    AlreadyRetrieved { id: i64 },
    /// Bag `id` is closed with the label as its number.
    BagClosed { id: i64, parcels: i64 },
    /// Nothing done, and why.
    Refused(String),
}

impl Outcome {
    fn metric(&self) -> &'static str {
        match self {
            Self::Retrieval { .. } => "retrieval",
            Self::AlreadyRetrieved { .. } => "already_retrieved",
            Self::BagClosed { .. } => "bag_closed",
            Self::Refused(_) => "refused",
        }
    }
}

impl Line {
    pub(super) async fn on_bag_scanner(&mut self, event: ScannerEvent) -> Result<(), StoreError> {
        let (scanner, frame) = match event {
            ScannerEvent::Connected { scanner } => {
                self.health.set(
                    &format!("line:{}:bag_scanner:{scanner}", self.id()),
                    State::Ok,
                    "connected",
                );
                return Ok(());
            }
            ScannerEvent::Disconnected {
                scanner,
                error,
                retry_in,
            } => {
                warn!(line = %self.id(), %scanner, %error, ?retry_in, "bag-label scanner disconnected");
                self.health.set(
                    &format!("line:{}:bag_scanner:{scanner}", self.id()),
                    State::Down,
                    error,
                );
                return Ok(());
            }
            ScannerEvent::Frame { scanner, frame, .. } => (scanner, frame),
        };
        let source = format!("bag_scanner:{}/{scanner}", self.id());
        let code = match frame {
            ScanFrame::Code(code) => code,
            ScanFrame::NoRead => {
                info!(line = %self.id(), %scanner, "bag-label scanner could not read a label");
                return Ok(());
            }
            ScanFrame::Invalid { reason, raw } => {
                warn!(line = %self.id(), %scanner, %reason, ?raw, "invalid bag-label scanner message rejected");
                crate::metrics::record_bag_scan(self.id(), "refused");
                return self.reject(source, reason, raw).await;
            }
        };
        let Some(config) = self
            .config
            .bag_scanners
            .iter()
            .find(|s| *s.name == *scanner)
            .cloned()
        else {
            return Ok(());
        };
        let lane = config.lane_of(&self.config);
        let (line_id, actor) = (
            self.id().to_owned(),
            format!("scanner:{}/{scanner}", self.id()),
        );
        let label = code.clone();
        let outcome = self
            .store
            .writer
            .write(move |tx| act(tx, &line_id, lane, &config, &actor, &label))
            .await?;
        crate::metrics::record_bag_scan(self.id(), outcome.metric());
        match outcome {
            Outcome::Retrieval { id, parcel_id } => {
                info!(line = %self.id(), %scanner, interception = id, parcel = parcel_id, %code, "retrieval of an intercepted parcel recorded by its label scanned at the lane");
            }
            Outcome::AlreadyRetrieved { id } => {
                info!(line = %self.id(), %scanner, interception = id, %code, "label of a parcel whose retrieval is recorded already");
            }
            Outcome::BagClosed { id, parcels } => {
                info!(line = %self.id(), %scanner, bag = id, bag_no = %code, lane, parcels, "bag closed by its label scanned at the lane");
            }
            Outcome::Refused(reason) => {
                warn!(line = %self.id(), %scanner, %code, %reason, "bag-label scan refused");
                self.reject(source, reason, code).await?;
            }
        }
        Ok(())
    }
}

/// What `code` scanned at `line_id`'s release lane `lane` does, in one transaction.
fn act(
    tx: &rusqlite::Transaction<'_>,
    line_id: &str,
    lane: u16,
    config: &BagScannerConfig,
    actor: &str,
    code: &str,
) -> Result<Outcome, StoreError> {
    if let Some(i) = interceptions::for_waybill(tx, line_id, code)? {
        if i.retrieved_at.is_some() {
            return Ok(Outcome::AlreadyRetrieved { id: i.id });
        }
        let retrieval = Retrieval {
            scan: Some(code.to_owned()),
            reason: None,
        };
        return Ok(
            match interceptions::record_retrieval(tx, i.id, actor, &retrieval)? {
                Some(done) => Outcome::Retrieval {
                    id: done.id,
                    parcel_id: done.parcel_id,
                },
                None => Outcome::Refused(format!("interception {} vanished", i.id)),
            },
        );
    }
    if !code.starts_with(&config.bag_prefix) {
        return Ok(Outcome::Refused(format!(
            "{code:?} is neither a bag label (they start with {:?}) nor the waybill of a parcel \
             intercepted on line {line_id}",
            config.bag_prefix
        )));
    }
    match bags::close(tx, line_id, lane, code, actor) {
        Ok(Some(bag)) => Ok(Outcome::BagClosed {
            id: bag.id,
            parcels: bag.parcels,
        }),
        Ok(None) => Ok(Outcome::Refused(format!(
            "bag label {code}: release lane {lane} of line {line_id} has no open bag"
        ))),
        Err(StoreError::Invalid(why)) => Ok(Outcome::Refused(format!("bag label {code}: {why}"))),
        Err(e) => Err(e),
    }
}
