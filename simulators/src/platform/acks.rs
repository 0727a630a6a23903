//! The ack task: every `ack_interval`, one cumulative `ack` per (site, stream) that
//! advanced, or that saw a resend or a gap since its last ack (the site missed it), under
//! the fault switches (paused, drop rate).

use std::time::Duration;

use customs_edge_protocol::downlink::{Ack, kind};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::running::Platform;

/// Send acks until `shutdown`.
pub(crate) async fn run(platform: Platform, interval: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let faults = platform.shared.faults.settings();
        // While disconnected an ack would only wait in the client's queue and may be
        // thrown away with the session; the reconnect re-acks every stream.
        if faults.paused || !platform.connected() {
            continue;
        }
        let due = platform.shared.update(|s| s.judge.acks_due());
        for ack in due {
            if faults.drop_rate > 0.0 && rand::random_bool(faults.drop_rate) {
                debug!(
                    site = ack.site,
                    stream = ack.stream,
                    seq = ack.seq,
                    "ack dropped"
                );
                platform.shared.update(|s| s.judge.acked(&ack, false));
                continue;
            }
            let body = Ack {
                stream: ack.stream.clone(),
                seq: ack.seq,
            };
            let sent = tokio::select! {
                () = shutdown.cancelled() => return,
                sent = platform.publish_downlink(&ack.site, kind::ACK, &body) => sent,
            };
            match sent {
                Ok(_) => platform.shared.update(|s| s.judge.acked(&ack, true)),
                Err(error) => {
                    warn!(site = ack.site, stream = ack.stream, %error, "cannot send an ack");
                    platform.shared.update(|s| s.judge.ack_failed(&ack));
                }
            }
        }
    }
}
