//! The rest of a line and the controller's own listeners: scanners accept a connection
//! (they send frames only as parcels pass, so none is waited for), each X-ray directory
//! is there and readable as the feed reads it, and the addresses the controller listens on
//! can be bound.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

use super::Row;
use super::modbus::resolve;

/// A scanner: accepts a TCP connection. The connection is closed at once: some scanners
/// serve one client, and that is the controller's.
pub(super) async fn scanner(
    subject: String,
    at: String,
    address: String,
    timeout: Duration,
) -> Vec<Row> {
    let Some(addr) = resolve(&address).await else {
        return vec![Row::fail(
            &subject,
            "reachable",
            format!("{address} ({at}.address) does not resolve to an address"),
        )];
    };
    let row = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Row::ok(&subject, "reachable", format!("{addr} accepts connections")),
        Ok(Err(e)) => Row::fail(
            &subject,
            "reachable",
            format!("no TCP connection to {addr} ({at}.address): {e}"),
        ),
        Err(_) => Row::fail(
            &subject,
            "reachable",
            format!("no TCP connection to {addr} ({at}.address) within {timeout:?}"),
        ),
    };
    vec![row]
}

/// An X-ray image directory: exists, is a directory, can be listed (the feed reads files
/// and never writes there).
pub(super) async fn xray_dir(subject: String, dir: PathBuf) -> Vec<Row> {
    let row = match tokio::fs::read_dir(&dir).await {
        Ok(mut entries) => {
            let mut files = 0u64;
            while let Ok(Some(_)) = entries.next_entry().await {
                files += 1;
                if files >= 10_000 {
                    break;
                }
            }
            Row::ok(
                &subject,
                "readable",
                format!("{} lists ({files} entries)", dir.display()),
            )
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Row::fail(
            &subject,
            "readable",
            format!(
                "{} does not exist: is the X-ray machine's share mounted?",
                dir.display()
            ),
        ),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Row::fail(
            &subject,
            "readable",
            format!("{}: permission denied to this user", dir.display()),
        ),
        Err(e) => Row::fail(&subject, "readable", format!("{}: {e}", dir.display())),
    };
    vec![row]
}

/// An address the controller listens on: free to bind, or already bound (by the running
/// controller, if it runs).
pub(super) async fn bindable(subject: &'static str, key: &'static str, listen: String) -> Vec<Row> {
    let row = match tokio::net::TcpListener::bind(&listen).await {
        Ok(_) => Row::ok(subject, "bindable", format!("{listen} is free")),
        Err(e) if e.kind() == ErrorKind::AddrInUse => Row::warn(
            subject,
            "bindable",
            format!(
                "{listen} ({key}) is in use: by the controller if it runs, otherwise by another \
                 program, and the controller will not start"
            ),
        ),
        Err(e) => Row::fail(subject, "bindable", format!("{listen} ({key}): {e}")),
    };
    vec![row]
}
