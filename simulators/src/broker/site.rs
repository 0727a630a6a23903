//! The shipped site broker configuration (`config/mosquitto/`), made runnable on a test
//! port: the file is read as shipped and only the port, the file paths and the log
//! destination are changed, so the tests judge the configuration a site installs.

use std::fmt::Write as _;
use std::path::Path;

use super::tls::TlsFiles;

/// `config/mosquitto/mosquitto.conf`, as shipped.
pub const SHIPPED_CONF: &str = include_str!("../../../config/mosquitto/mosquitto.conf");
/// `config/mosquitto/acl.conf`, as shipped.
pub const SHIPPED_ACL: &str = include_str!("../../../config/mosquitto/acl.conf");
/// The Common Name of the platform's client certificate, which the shipped ACL lets read
/// and write every site's topics.
pub const PLATFORM_IDENTITY: &str = "customs-edge-platform";

/// The keys the launcher replaces; each must appear in the shipped file (a renamed key
/// there fails loudly here instead of being silently left pointing at `/etc`).
const REPLACED: [&str; 7] = [
    "persistence_location",
    "listener",
    "cafile",
    "certfile",
    "keyfile",
    "acl_file",
    "log_dest",
];

/// The shipped configuration with the test's port and files; `Err` names a key the shipped
/// file no longer has.
pub(super) fn config(dir: &Path, port: u16, tls: &TlsFiles) -> Result<String, String> {
    let acl = dir.join("acl.conf");
    std::fs::write(&acl, SHIPPED_ACL).map_err(|e| format!("write {}: {e}", acl.display()))?;
    let mut out = String::from(
        "# The shipped config/mosquitto/mosquitto.conf, on a test port with test files\n\
         # (customs-edge-simulators, src/broker/site.rs). As root, mosquitto would switch\n\
         # to the `mosquitto` user and could not read the files in this private temp dir.\n\
         user root\n\
         log_type error\nlog_type warning\nlog_type notice\nlog_type information\n",
    );
    let mut seen = Vec::new();
    for line in SHIPPED_CONF.lines() {
        let key = line.split_whitespace().next().unwrap_or_default();
        let value = match key {
            "persistence_location" => format!("{}/", dir.join("data").display()),
            "listener" => format!("{port} 127.0.0.1"),
            "cafile" => tls.ca.display().to_string(),
            "certfile" => tls.server_cert.display().to_string(),
            "keyfile" => tls.server_key.display().to_string(),
            "acl_file" => acl.display().to_string(),
            "log_dest" => "stderr".to_owned(),
            _ => {
                let _ = writeln!(out, "{line}");
                continue;
            }
        };
        seen.push(key);
        let _ = writeln!(out, "{key} {value}");
    }
    match REPLACED.iter().find(|k| !seen.contains(k)) {
        Some(missing) => Err(format!(
            "config/mosquitto/mosquitto.conf has no `{missing}` line any more; \
             update simulators/src/broker/site.rs"
        )),
        None => Ok(out),
    }
}
