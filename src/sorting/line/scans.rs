//! Scanner messages: each is stored, and given to the parcel under the scanner.

use customs_edge_devices::scanner::{ScanFrame, ScannerEvent};
use tracing::warn;

use super::Line;
use crate::health::State;
use crate::sorting::tracker::ScanRead;
use crate::store::StoreError;
use crate::store::parcels::{self, ScanRow};

impl Line {
    pub(super) async fn on_scanner(&mut self, event: ScannerEvent) -> Result<(), StoreError> {
        let (scanner, at, frame) = match event {
            ScannerEvent::Connected { scanner } => {
                self.health.set(
                    &format!("line:{}:scanner:{scanner}", self.id()),
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
                warn!(line = %self.id(), %scanner, %error, ?retry_in, "scanner disconnected");
                self.health.set(
                    &format!("line:{}:scanner:{scanner}", self.id()),
                    State::Down,
                    error,
                );
                return Ok(());
            }
            ScannerEvent::Frame { scanner, at, frame } => (scanner, at, frame),
        };
        let age = std::time::SystemTime::now()
            .duration_since(at)
            .unwrap_or_default();
        let now = std::time::Instant::now();
        let received = now.checked_sub(age).unwrap_or(now);
        let at = crate::store::timestamp(at.into());
        let (kind, code, detail, parcel_id) = match frame {
            ScanFrame::Code(code) => {
                let parcel =
                    self.tracker
                        .assign_scan(&scanner, ScanRead::Code(code.clone()), received);
                ("code", Some(code), None, parcel)
            }
            ScanFrame::NoRead => (
                "no_read",
                None,
                None,
                self.tracker
                    .assign_scan(&scanner, ScanRead::NoRead, received),
            ),
            ScanFrame::Invalid { reason, raw } => {
                warn!(line = %self.id(), %scanner, %reason, ?raw, "invalid scanner message rejected");
                ("invalid", None, Some(format!("{reason}: {raw:?}")), None)
            }
        };
        let detail = match (kind, parcel_id) {
            ("invalid", _) | (_, Some(_)) => detail,
            (_, None) => {
                warn!(line = %self.id(), %scanner, ?code, "scan matches no tracked parcel on the belt");
                Some("no tracked parcel under the scanner".to_owned())
            }
        };
        let line_id = self.id().to_owned();
        let source = format!("scanner:{line_id}/{scanner}");
        let rejected = (kind == "invalid").then(|| detail.clone().unwrap_or_default());
        self.record(move |tx| {
            let row = ScanRow {
                line_id: &line_id,
                scanner: &scanner,
                parcel_id,
                at: &at,
                kind,
                code: code.as_deref(),
                detail: detail.as_deref(),
            };
            parcels::insert_scan(tx, &row)?;
            Ok(())
        })
        .await?;
        if let Some(reason) = rejected {
            self.reject(source, reason, String::new()).await?;
        }
        Ok(())
    }
}
