//! The MQTT link: drives rumqttc's event loop, reconnects with backoff when the broker
//! goes away, subscribes again when the broker has forgotten the session, and hands every
//! incoming message to the judge.
//!
//! Uplink signatures are checked on the blocking pool, several at once, and the judge takes
//! the messages in the order they arrived, a signed batch's envelopes in their order.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use customs_edge_devices::backoff::Backoff;
use customs_edge_protocol::signed::SignatureError;
use rumqttc::{
    ConnAck, Event, EventLoop, Incoming, Outgoing, Publish, QoS, SubAck, SubscribeFilter,
    SubscribeReasonCode,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::judge::Outcome;
use super::route::{Route, route};
use super::running::Platform;

/// First wait after a failed connection attempt; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between connection attempts: short, so that after a broker outage the
/// platform side is back at once and what a test or bench times is the site's link.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Messages whose signature is being checked ahead of the judge, at most.
const CHECKS_AHEAD: usize = 64;
/// How long a clean disconnect may take at shutdown.
const DISCONNECT_GRACE: Duration = Duration::from_secs(1);

/// Drive the event loop until `shutdown`.
pub(crate) async fn run(mut eventloop: EventLoop, platform: Platform, shutdown: CancellationToken) {
    let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
    let (checking, mut checked) = mpsc::channel::<(Publish, JoinHandle<Checked>)>(CHECKS_AHEAD);
    let judge = tokio::spawn({
        let platform = platform.clone();
        async move {
            while let Some((publish, check)) = checked.recv().await {
                match check.await {
                    Ok(check) => receive(&platform, &publish, check),
                    Err(e) => {
                        warn!(topic = %publish.topic, error = %e, "signature check failed to run");
                    }
                }
            }
        }
    });
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => break,
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                backoff.reset();
                connected(&platform, &ack);
            }
            Ok(Event::Incoming(Incoming::Publish(publish))) => {
                let check = tokio::task::spawn_blocking({
                    let (platform, publish) = (platform.clone(), publish.clone());
                    move || check(&platform, &publish)
                });
                if checking.send((publish, check)).await.is_err() {
                    break;
                }
            }
            Ok(Event::Incoming(Incoming::SubAck(ack))) => subscribed(&platform, &ack),
            Ok(Event::Incoming(Incoming::PubAck(_))) => {
                platform.shared.update(|s| s.downlink.confirmed += 1);
            }
            Ok(_) => {}
            Err(error) => {
                let was = platform.shared.update(|s| {
                    let was = s.link.connected;
                    s.link.connected = false;
                    s.link.last_error = Some(error.to_string());
                    was
                });
                let wait = backoff.next_wait();
                if was {
                    warn!(%error, "lost the broker; reconnecting");
                } else {
                    debug!(%error, ?wait, "broker not reachable");
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    // What arrived is judged before the link says goodbye.
    drop(checking);
    let _ = judge.await;
    disconnect(&mut eventloop, &platform).await;
}

/// An uplink message's signature checked off the event loop (`None`: not an uplink topic):
/// the envelopes inside the signed wrapper (or the payload, unsigned), or why it is refused.
type Checked = Option<Result<Vec<Bytes>, SignatureError>>;

fn check(platform: &Platform, publish: &Publish) -> Checked {
    let prefix = platform.shared.config.prefix.trim_end_matches('/');
    match route(prefix, &publish.topic) {
        Route::Up { site, .. } => Some(open(platform, publish, site)),
        Route::Status { .. } | Route::Other => None,
    }
}

fn open(platform: &Platform, publish: &Publish, site: &str) -> Result<Vec<Bytes>, SignatureError> {
    platform
        .open_uplink(&publish.topic, site, &publish.payload)
        .map(|envelopes| {
            envelopes
                .into_iter()
                .map(|envelope| publish.payload.slice_ref(envelope))
                .collect()
        })
}

/// Subscribe when the session is new (the first connection, or a broker that forgot it).
fn connected(platform: &Platform, ack: &ConnAck) {
    let first = platform.shared.update(|s| {
        s.link.connected = true;
        s.link.connects += 1;
        s.link.last_error = None;
        if !ack.session_present {
            s.link.subscribed = false;
        }
        // The last acks may not have reached the site: say every position again.
        s.judge.reack_all();
        s.link.connects == 1
    });
    info!(
        session_present = ack.session_present,
        "connected to the broker"
    );
    if first || !ack.session_present {
        let filters: Vec<SubscribeFilter> = platform
            .sites()
            .iter()
            .flat_map(|site| {
                let t = platform.topics(site);
                [t.up_filter(), t.status()]
            })
            .map(|path| SubscribeFilter::new(path, QoS::AtLeastOnce))
            .collect();
        // Not awaited here: this task is the one that drains the client's queue.
        let client = platform.client.clone();
        tokio::spawn(async move {
            if let Err(error) = client.subscribe_many(filters).await {
                warn!(%error, "cannot subscribe");
            }
        });
    }
}

fn subscribed(platform: &Platform, ack: &SubAck) {
    let refused = ack
        .return_codes
        .iter()
        .filter(|c| matches!(c, SubscribeReasonCode::Failure))
        .count();
    if refused > 0 {
        warn!(
            refused,
            "the broker refused subscriptions (check its ACL for this client)"
        );
        platform.shared.update(|s| {
            s.link.last_error = Some(format!("{refused} subscriptions refused"));
        });
        return;
    }
    platform.shared.update(|s| s.link.subscribed = true);
    info!(sites = ?platform.sites(), "subscribed to the sites' uplink and status");
}

fn receive(platform: &Platform, publish: &Publish, check: Checked) {
    let now = Utc::now();
    let prefix = platform.shared.config.prefix.trim_end_matches('/');
    match route(prefix, &publish.topic) {
        Route::Up { site, stream } => {
            let envelopes = match check.unwrap_or_else(|| open(platform, publish, site)) {
                Ok(envelopes) => envelopes,
                Err(e) => {
                    warn!(topic = %publish.topic, reason = e.code(), detail = %e, "uplink refused: not authentic");
                    platform.shared.update(|s| {
                        s.judge.malformed(
                            &publish.topic,
                            &publish.payload,
                            (e.code(), e.to_string()),
                            now,
                        );
                    });
                    return;
                }
            };
            let outcomes: Vec<Outcome> = platform.shared.update(|s| {
                if envelopes.len() > 1 {
                    s.judge.batch();
                }
                envelopes
                    .iter()
                    .map(|env| s.judge.receive(&publish.topic, site, stream, env, now))
                    .collect()
            });
            for (envelope, outcome) in envelopes.iter().zip(outcomes) {
                if outcome == Outcome::Applied && stream == "officer" {
                    platform.note_anchor(site, envelope, now);
                }
                match outcome {
                    Outcome::Applied => {}
                    Outcome::Resent | Outcome::Gap => debug!(topic = %publish.topic, ?outcome),
                    Outcome::Malformed => {
                        warn!(topic = %publish.topic, bytes = envelope.len(), "malformed uplink");
                    }
                }
            }
        }
        Route::Status { site } => {
            platform
                .shared
                .update(|s| s.judge.presence(site, &publish.payload, now));
            debug!(site, presence = %String::from_utf8_lossy(&publish.payload), "site presence");
        }
        Route::Other => debug!(topic = %publish.topic, "message on an unexpected topic"),
    }
}

/// Say goodbye to the broker, briefly.
async fn disconnect(eventloop: &mut EventLoop, platform: &Platform) {
    if !platform.connected() || platform.client.try_disconnect().is_err() {
        return;
    }
    let _ = tokio::time::timeout(DISCONNECT_GRACE, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    platform.shared.update(|s| s.link.connected = false);
}
