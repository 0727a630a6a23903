//! Who the client is: the peer, or behind a configured proxy the address it forwarded
//! for. Found once per request, for the login limits, the audit log and the setup's
//! loopback rule.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

/// The client's address as [`client_addr`] found it, kept in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The client's address: [`ClientAddr`] when [`client_addr`] ran, else the peer. `None`
/// when the server has no connection info.
pub(crate) fn client_ip(
    parts_ext: &axum::http::Extensions,
    _headers: &HeaderMap,
) -> Option<IpAddr> {
    if let Some(ClientAddr(ip)) = parts_ext.get::<ClientAddr>() {
        return Some(*ip);
    }
    Some(parts_ext.get::<ConnectInfo<SocketAddr>>()?.0.ip())
}

/// Who the client is: the peer, unless the peer is one of the `trusted` proxies; then the
/// right-most `X-Forwarded-For` address that is not itself a trusted proxy (a client can
/// put anything at the left of the header; only what trusted proxies appended counts).
pub fn resolve_client(
    peer: IpAddr,
    forwarded_for: Option<&str>,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.unwrap_or_default().rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// Around the whole router: find the client's address ([`resolve_client`]) once, for the
/// login limits, the audit log and the setup's loopback rule.
pub(in crate::web) async fn client_addr(
    State(trusted): State<Arc<Vec<ipnet::IpNet>>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let fwd = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        let client = resolve_client(peer.ip(), fwd, &trusted);
        req.extensions_mut().insert(ClientAddr(client));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::resolve_client;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.9.0.0/24".parse().unwrap(),
        ];
        // A loopback caller that is not a configured proxy: its header is ignored.
        assert_eq!(
            resolve_client(ip("127.0.0.2"), Some("1.2.3.4"), &trusted),
            ip("127.0.0.2")
        );
        assert_eq!(
            resolve_client(ip("10.0.0.5"), Some("1.2.3.4"), &[]),
            ip("10.0.0.5")
        );
        // Through the proxy: what it appended, not what the client claimed before it.
        assert_eq!(
            resolve_client(ip("127.0.0.1"), Some("6.6.6.6, 10.1.2.3"), &trusted),
            ip("10.1.2.3")
        );
        // Through two trusted proxies.
        assert_eq!(
            resolve_client(
                ip("127.0.0.1"),
                Some("6.6.6.6, 10.1.2.3, 10.9.0.7"),
                &trusted
            ),
            ip("10.1.2.3")
        );
        // A proxy that sent no header, or garbage: the proxy itself.
        assert_eq!(
            resolve_client(ip("127.0.0.1"), None, &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            resolve_client(ip("127.0.0.1"), Some("junk"), &trusted),
            ip("127.0.0.1")
        );
    }
}
