//! The platform's broker: a connection with the controller's own address, TLS settings
//! and credentials, up to the broker's CONNACK. It connects under a client id of its own
//! with a clean session and no last will, so it neither takes over the controller's
//! session nor leaves anything behind. MQTT carries no clock, so the broker's time cannot
//! be compared with ours; camera clocks and the host's NTP status are checked instead.

use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, Packet};

use super::Row;
use crate::config::PlatformConfig;

const SUBJECT: &str = "broker";

/// Connect once and report TLS, credentials and the CONNACK.
pub(super) async fn check(platform: PlatformConfig, site: String, timeout: Duration) -> Vec<Row> {
    let tls = platform.broker.starts_with("mqtts://");
    let client_id = format!("customs-edge-doctor-{site}-{}", std::process::id());
    let mut options = match crate::sync::session::broker_options(&platform, client_id) {
        Ok(o) => o,
        Err(e) => return vec![Row::fail(SUBJECT, "config", format!("{e:#}"))],
    };
    options
        .set_clean_session(true)
        .set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Ok(ack),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    let user = platform
        .username_env
        .as_ref()
        .and_then(|v| std::env::var(v).ok());
    let mut rows = Vec::new();
    match outcome {
        Ok(Ok(_)) => {
            let _ = client.disconnect().await;
            let _ = tokio::time::timeout(Duration::from_millis(200), eventloop.poll()).await;
            rows.push(Row::ok(
                SUBJECT,
                "connect",
                format!(
                    "{} accepted the connection{} in {} ms",
                    platform.broker,
                    user.map(|u| format!(" as {u:?}")).unwrap_or_default(),
                    started.elapsed().as_millis()
                ),
            ));
            rows.push(if tls {
                Row::ok(
                    SUBJECT,
                    "tls",
                    "the broker's certificate chains to platform.ca_file",
                )
            } else {
                Row::warn(
                    SUBJECT,
                    "tls",
                    "mqtt:// without TLS: messages and credentials cross the network in clear",
                )
            });
        }
        Ok(Err(e)) => rows.push(Row::fail(SUBJECT, "connect", explain(&platform, &e))),
        Err(_) => rows.push(Row::fail(
            SUBJECT,
            "connect",
            format!("{}: no CONNACK within {timeout:?}", platform.broker),
        )),
    }
    rows
}

fn explain(platform: &PlatformConfig, e: &ConnectionError) -> String {
    let broker = &platform.broker;
    match e {
        ConnectionError::ConnectionRefused(
            ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized,
        ) => format!(
            "{broker} refused the credentials (platform.username_env {:?}, password_env {:?}): {e}",
            platform.username_env.as_deref().unwrap_or("not set"),
            platform.password_env.as_deref().unwrap_or("not set"),
        ),
        ConnectionError::ConnectionRefused(code) => {
            format!("{broker} refused the connection: {code:?}")
        }
        ConnectionError::Tls(t) => format!(
            "{broker}: TLS failed ({t}); check platform.ca_file and the broker's certificate \
             (its names must include the host in platform.broker)"
        ),
        ConnectionError::Io(io)
            if broker.starts_with("mqtts://")
                && io.kind() != std::io::ErrorKind::ConnectionRefused =>
        {
            format!(
                "{broker}: {io}; over TLS this is often the certificate: check platform.ca_file \
                 and the names in the broker's certificate"
            )
        }
        ConnectionError::Io(io) => format!("{broker}: {io}"),
        other => format!("{broker}: {other}"),
    }
}
