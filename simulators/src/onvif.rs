//! A simulated ONVIF IP camera: the video evidence source of the site, on real sockets.
//!
//! - WS-Discovery on UDP: answers `Probe`s for
//!   `dn:NetworkVideoTransmitter` / `tds:Device` with `ProbeMatches` carrying its XAddr,
//!   scopes and a stable `urn:uuid:` endpoint, sent directly to a unicast port and, when
//!   the group can be joined on the interface it listens on (never on loopback), on
//!   239.255.255.250:3702 (with Hello and Bye).
//! - SOAP 1.2 at `/onvif/device_service` (and `/onvif/media_service`): the device
//!   management and media ver10 reads a Profile S client makes (`dispatch` lists them).
//!   Every operation but `GetSystemDateAndTime` needs credentials: a WS-Security
//!   UsernameToken ([`wsse`]) whose `Created` is within `token_window_s` of the camera's
//!   own, possibly skewed, clock (otherwise `env:Sender`/`ter:NotAuthorized` with HTTP
//!   400), or, without one, HTTP Digest or Basic (otherwise HTTP 401 with a challenge).
//! - `GET /onvif/snapshot?profile=<token>`: a JPEG, behind HTTP Digest (or Basic).
//! - `GET /stream/<token>`: MJPEG over HTTP (`multipart/x-mixed-replace`), frames on a
//!   fixed schedule, each part stamped `X-Timestamp`; the picture shows a parcel moving
//!   along a conveyor and the capture time, as digits and as a cell strip
//!   ([`decode_capture_ms`]).
//! - `rtsp://<host>:<rtsp port>/<token>` (with `rtsp`): the same frames as H.264 over
//!   RTP, served by GStreamer's RTSP server as a child process (`rtsp`), RTSP Digest.
//! - Fault switches on [`RunningCamera`]: stream stopped, reboot, junk, slow, password
//!   changed; and counters ([`CameraStats`]).
//!
//! Modules: [`config`](mod@config) (what a camera is), `camera` (shared state, the handle),
//! `http` (server, boot loop, auth, snapshot), `service` (SOAP endpoint and credentials),
//! `dispatch` (operation to answer), `messages`, `device_mgmt`, `media_config` (answer
//! bodies), [`soap`] (envelopes, faults, reading requests with the shared
//! `customs_edge_devices::xml` tree), [`wsse`] (UsernameToken), `rtsp` (the RTSP server
//! child),
//! `stats` (counters), `feed` (one profile's frames), `render` (the picture), `jpeg` (tiled JPEG encoder),
//! `mjpeg` (the stream), `wsd` (WS-Discovery messages), `discovery` (its sockets). The
//! `onvif-camera-sim` binary is a thin CLI around [`start`].

mod camera;
pub mod config;
mod device_mgmt;
mod discovery;
mod dispatch;
mod feed;
mod http;
mod jpeg;
mod media_config;
mod messages;
mod mjpeg;
mod render;
mod rtsp;
mod service;
pub mod soap;
mod stats;
mod wsd;
pub mod wsse;

use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use camera::RunningCamera;
pub use config::{OnvifCameraConfig, ProfileConfig};
pub use discovery::{DISCOVERY_PORT, MULTICAST_GROUP};
pub use messages::{DEVICE_PATH, MEDIA_PATH, SNAPSHOT_PATH, STREAM_PATH};
pub use mjpeg::BOUNDARY;
pub use render::decode_capture_ms;
pub use stats::CameraStats;

use camera::Shared;
use feed::Feed;

/// Starts a camera: binds its HTTP server (and WS-Discovery sockets when `discovery`),
/// prepares every profile's picture, and runs until `shutdown` is cancelled.
pub async fn start(
    cfg: OnvifCameraConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<RunningCamera> {
    cfg.validate()
        .map_err(|problems| anyhow!("invalid camera config: {}", problems.join("; ")))?;
    let listener = TcpListener::bind(cfg.http_listen).await.with_context(|| {
        format!(
            "cannot bind the camera's HTTP server to {}",
            cfg.http_listen
        )
    })?;
    let http_addr = listener.local_addr()?;
    let multicast = if cfg.discovery_multicast {
        let interface = discovery::multicast_interface(cfg.http_listen.ip());
        if interface.is_none() {
            info!(camera = %cfg.name, listen = %cfg.http_listen,
                "no multicast WS-Discovery on a loopback address; directed probes only");
        }
        interface
    } else {
        None
    };
    let sockets = if cfg.discovery {
        Some(discovery::bind(
            cfg.discovery_unicast,
            multicast,
            &cfg.name,
        )?)
    } else {
        None
    };
    let discovery_addr = sockets
        .as_ref()
        .map(|s| s.unicast.local_addr())
        .transpose()?;
    let profiles = cfg.profiles.clone();
    let feeds = tokio::task::spawn_blocking(move || {
        profiles
            .into_iter()
            .map(|p| Feed::new(p).map(Arc::new))
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .await
    .context("the scene task failed")??;

    let shared = Arc::new(Shared::new(cfg, http_addr, discovery_addr, feeds, shutdown));
    let mut tasks = vec![tokio::spawn(http::serve(Arc::clone(&shared), listener))];
    for feed in &shared.feeds {
        tasks.push(tokio::spawn(Arc::clone(feed).run(Arc::clone(&shared))));
    }
    let joined = sockets.as_ref().is_some_and(|s| s.multicast.is_some());
    shared
        .multicast_joined
        .store(joined, std::sync::atomic::Ordering::Relaxed);
    if let Some(sockets) = sockets {
        tasks.push(tokio::spawn(discovery::run(Arc::clone(&shared), sockets)));
    }
    if let Some(supervisor) = rtsp::start(&shared).await {
        tasks.push(supervisor);
    }
    let finished = shared.finished.clone();
    tokio::spawn(async move {
        for task in tasks {
            let _ = task.await;
        }
        finished.cancel();
    });
    let camera = RunningCamera { shared };
    info!(
        camera = %camera.config().name,
        device_service = %camera.device_service_url(),
        discovery = ?camera.discovery_addr(),
        multicast = joined,
        rtsp = ?camera.rtsp_port(),
        "ONVIF camera up"
    );
    Ok(camera)
}
