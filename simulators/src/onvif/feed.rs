//! One profile's frames: a task renders and encodes a frame on a fixed schedule (a tokio
//! interval that skips missed ticks, so a slow frame delays nothing after it) while
//! someone watches the stream, and publishes the newest on a `watch` channel. A slow
//! client misses frames instead of slowing the camera. Snapshots take a fresh frame (or
//! the newest one, when it is younger than a frame period).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tracing::warn;

use super::camera::Shared;
use super::config::ProfileConfig;
use super::render::Scene;

/// One encoded frame.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The JPEG.
    pub(crate) jpeg: Bytes,
    /// Capture time on the camera's clock.
    pub(crate) captured_at: DateTime<Utc>,
    /// Frame number of this profile, from 1.
    pub(crate) seq: u64,
}

/// What rendering needs, used by one thread at a time.
struct Renderer {
    scene: Scene,
    buf: Vec<u8>,
    seq: u64,
}

/// One profile's frame source.
pub(crate) struct Feed {
    pub(crate) profile: ProfileConfig,
    frames: watch::Sender<Option<Arc<Frame>>>,
    /// The scene and its buffers. A `std` mutex, locked only on the blocking pool while
    /// a frame is rendered (the stream task and a snapshot may both want one).
    renderer: Arc<Mutex<Renderer>>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl Feed {
    /// A feed for `profile`; builds its background and encodes its tiles (a few tens of
    /// ms at 1280x720: call it on the blocking pool).
    pub(crate) fn new(profile: ProfileConfig) -> anyhow::Result<Self> {
        let scene = Scene::new(profile.width, profile.height, profile.quality)
            .with_context(|| format!("cannot build the scene of profile {}", profile.token))?;
        Ok(Self {
            profile,
            frames: watch::Sender::new(None),
            renderer: Arc::new(Mutex::new(Renderer {
                scene,
                buf: Vec::new(),
                seq: 0,
            })),
        })
    }

    /// The time between two frames.
    pub(crate) fn period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.profile.fps.max(1)))
    }

    /// A receiver of the frames to come (the current one counts as seen).
    pub(crate) fn subscribe(&self) -> watch::Receiver<Option<Arc<Frame>>> {
        self.frames.subscribe()
    }

    /// Renders and encodes the picture at `at`, on the blocking pool.
    pub(crate) async fn render(&self, at: DateTime<Utc>) -> anyhow::Result<Arc<Frame>> {
        let renderer = Arc::clone(&self.renderer);
        tokio::task::spawn_blocking(move || {
            let mut r = renderer.lock().unwrap_or_else(PoisonError::into_inner);
            let Renderer { scene, buf, seq } = &mut *r;
            scene.render_jpeg(at, buf)?;
            *seq += 1;
            Ok(Arc::new(Frame {
                jpeg: Bytes::copy_from_slice(buf),
                captured_at: at,
                seq: *seq,
            }))
        })
        .await
        .context("the render task failed")?
    }

    /// A frame for a snapshot: the newest streamed one if younger than a period, else a
    /// fresh one.
    pub(crate) async fn snapshot(&self, now: DateTime<Utc>) -> anyhow::Result<Arc<Frame>> {
        let newest = self.frames.borrow().clone();
        let recent = newest.filter(|f| {
            (now - f.captured_at)
                .to_std()
                .is_ok_and(|age| age < self.period())
        });
        match recent {
            Some(frame) => Ok(frame),
            None => self.render(now).await,
        }
    }

    /// Publishes frames at the profile's rate while anyone watches, until shutdown.
    pub(crate) async fn run(self: Arc<Self>, shared: Arc<Shared>) {
        let mut tick = tokio::time::interval(self.period());
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = shared.shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            if self.frames.receiver_count() == 0 || shared.stream_stopped() || shared.is_down() {
                continue;
            }
            match self.render(shared.camera_now()).await {
                Ok(frame) => {
                    self.frames.send_replace(Some(frame));
                }
                Err(err) => {
                    let (camera, profile) = (&shared.cfg.name, &self.profile.token);
                    warn!(%camera, %profile, "frame not rendered: {err:#}");
                }
            }
        }
    }
}
