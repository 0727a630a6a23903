//! Keeping what a camera sent: accepted pictures as evidence, rejected bodies for
//! inspection.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::http::StatusCode;
use customs_edge_devices::plate::PlateImage;
use tracing::warn;

use super::{Camera, Listener, Refusal, request};
use crate::evidence::{EvidenceError, EvidenceKind};
use crate::gates::EvidenceRef;
use crate::store::evidence_rows::{self, Origin};
use crate::store::parcels;

impl Listener {
    /// Keeps the pictures as evidence files and records them in one store write.
    pub(super) async fn keep_images(
        &self,
        camera: &Camera,
        images: Vec<PlateImage>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<EvidenceRef>, Refusal> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let id = camera.endpoint.id.clone();
        let first = camera
            .images
            .fetch_add(images.len() as u64, Ordering::Relaxed)
            + 1;
        let files = self.evidence.clone();
        let kept = tokio::task::spawn_blocking(move || {
            let mut kept = Vec::with_capacity(images.len());
            for (n, image) in (first..).zip(&images) {
                let name = format!("{id}-{n}.jpg");
                let file = files.keep_bytes(
                    &image.bytes,
                    Path::new(&name),
                    EvidenceKind::PlateSnapshot,
                )?;
                kept.push((file, image.name.clone().unwrap_or(name)));
            }
            Ok::<_, EvidenceError>(kept)
        })
        .await;
        let not_kept = |reason: String| {
            warn!(camera = %camera.endpoint.id, error = %reason, "plate pictures could not be kept");
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the pictures could not be stored; post again",
                "evidence_failed",
            )
        };
        let kept = match kept {
            Ok(Ok(kept)) => kept,
            Ok(Err(e)) => return Err(not_kept(e.to_string())),
            Err(e) => return Err(not_kept(e.to_string())),
        };
        let produced = crate::store::timestamp(at);
        let written = self
            .store
            .writer
            .write(move |tx| {
                let now = crate::store::now();
                let mut refs = Vec::with_capacity(kept.len());
                for (file, source) in &kept {
                    let origin = Origin {
                        source_name: Some(source),
                        produced_at: Some(&produced),
                    };
                    let id = evidence_rows::insert(tx, file, origin, &now)?;
                    refs.push(EvidenceRef {
                        id,
                        sha256: file.sha256.clone(),
                    });
                }
                Ok(refs)
            })
            .await;
        written.map_err(|e| not_kept(e.to_string()))
    }

    /// Keeps the start of a rejected body in `rejected_inputs`, throttled.
    pub(super) async fn keep_rejected(&self, camera: &str, refusal: &Refusal, body: &[u8]) {
        use std::fmt::Write as _;
        let Some(suppressed) = self.keep.admit(camera, refusal.code, Instant::now()) else {
            return;
        };
        let source = format!("camera:{camera}");
        let mut reason = format!("{}: {}", refusal.code, refusal.reason);
        if suppressed > 0 {
            let _ = write!(reason, " (and {suppressed} more like it since)");
        }
        let payload = request::payload_snippet(body);
        let at = crate::store::now();
        let kept = self
            .store
            .writer
            .write(move |tx| parcels::reject_input(tx, &at, &source, &reason, &payload))
            .await;
        if let Err(e) = kept {
            warn!(camera, error = %e, "rejected plate event not kept");
        }
    }
}
