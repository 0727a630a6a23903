//! A device's `host:port` resolved to a socket address, retried until it resolves: a name
//! the site's DNS cannot answer yet (a PLC or camera renamed, DNS down at boot) is a device
//! that is not there yet, never a reason for the controller to stop.

use std::net::SocketAddr;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::backoff::Backoff;

/// Why resolving stopped without an address.
#[derive(Debug, thiserror::Error)]
#[error("shut down while resolving {address}")]
pub struct ResolveCancelled {
    /// The address being resolved.
    pub address: String,
}

/// Resolve `address` (`host:port`), retrying with a doubling wait (200 ms to 10 s) until
/// it resolves or `shutdown` fires.
pub async fn resolve_retrying(
    address: &str,
    shutdown: &CancellationToken,
) -> Result<SocketAddr, ResolveCancelled> {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        match tokio::net::lookup_host(address)
            .await
            .map(|mut it| it.next())
        {
            Ok(Some(addr)) => return Ok(addr),
            Ok(None) => warn!(%address, "address resolves to nothing; retrying"),
            Err(e) => warn!(%address, error = %e, "cannot resolve; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => {
                return Err(ResolveCancelled { address: address.to_owned() });
            }
            () = tokio::time::sleep(backoff.next_wait()) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_literal_address_resolves_at_once() {
        let addr = resolve_retrying("127.0.0.1:502", &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(addr, "127.0.0.1:502".parse().unwrap());
    }

    #[tokio::test]
    async fn a_name_that_never_resolves_waits_until_shutdown() {
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            stop.cancel();
        });
        let err = resolve_retrying("no-such-plc.invalid:502", &shutdown)
            .await
            .unwrap_err();
        assert_eq!(err.address, "no-such-plc.invalid:502");
    }
}
