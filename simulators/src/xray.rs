//! The X-ray machine of a line: writes each parcel's views as grayscale PNG files into the
//! line's directory, `xray_delay_ms` after the parcel entered the tunnel.
//!
//! The ticker queues an [`XrayJob`] when a parcel passes `xray_at_mm` (none while the
//! X-ray is faulted); [`run`] waits until the job is due and writes the views on the
//! blocking pool, so the line's lock and the runtime's workers never wait on the disk.
//! Each file is written as `name.png.tmp` and renamed to `name.png`, so a directory
//! watcher never sees a partial image. Jobs of one line are written in order, one at a
//! time; each image is recorded in the ground truth right after its rename.

use std::io;
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::conveyor::XrayJob;
use crate::line::SharedLine;

pub mod image;

pub use image::ImageSize;

/// Write the images of `line`'s jobs into `dir` until `shutdown` fires.
pub async fn run(
    line: SharedLine,
    dir: PathBuf,
    size: ImageSize,
    mut jobs: mpsc::UnboundedReceiver<XrayJob>,
    shutdown: CancellationToken,
) {
    loop {
        let job = tokio::select! {
            () = shutdown.cancelled() => return,
            job = jobs.recv() => match job {
                Some(job) => job,
                None => return,
            },
        };
        let due = line.clock().instant(job.due);
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep_until(due) => {}
        }
        if !line.with(|c, _| c.xray_writes()) {
            debug!(
                line = line.id(),
                parcel_id = job.parcel_id,
                "X-ray faulted: no images"
            );
            continue;
        }
        let (l, d) = (line.clone(), dir.clone());
        let written = tokio::task::spawn_blocking(move || write_views(&l, &d, size, job)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => warn!(line = line.id(), dir = %dir.display(), %err,
                "X-ray could not write an image"),
            Err(err) => warn!(line = line.id(), %err, "X-ray writer task failed"),
        }
    }
}

/// Write every view of `job` atomically and record each in the ground truth.
fn write_views(line: &SharedLine, dir: &Path, size: ImageSize, job: XrayJob) -> io::Result<()> {
    for view in 1..=job.views {
        let seed = job.parcel_id.wrapping_mul(31).wrapping_add(u64::from(view));
        let pixels = image::render(size, job.length_mm, job.dense_object, view, seed);
        let png = image::encode_png(size, &pixels);
        let clock = line.clock();
        let name = image::file_name(clock.wall(clock.now()), line.id(), job.seq, view);
        if let Err(err) = write_atomically(dir, &name, &png) {
            // The directory may have been removed under us: make it again, try once more.
            debug!(%err, "retrying after creating the X-ray directory");
            std::fs::create_dir_all(dir)?;
            write_atomically(dir, &name, &png)?;
        }
        debug!(
            line = line.id(),
            parcel_id = job.parcel_id,
            file = name,
            "X-ray image written"
        );
        line.with(|c, now| c.xray_written(now, job.parcel_id, view, name));
    }
    Ok(())
}

/// Write `bytes` to `dir/name.tmp`, then rename it to `dir/name`.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(name))
}
