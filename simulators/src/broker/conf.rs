//! The configuration the test broker is started with: plain or TLS, anonymous or with a
//! login, or the shipped site configuration (`site.rs`).

use std::fmt::Write as _;

use super::{Broker, site};

impl Broker {
    /// The `mosquitto.conf` this broker runs with.
    pub(super) fn config(&self) -> String {
        let dir = self.dir.path();
        if let (Some(_), Some(files)) = (&self.options.site, &self.tls) {
            return site::config(dir, self.port, files).unwrap_or_else(|e| panic!("{e}"));
        }
        let mut conf = format!(
            "# Written by customs-edge-simulators (src/broker.rs).\n\
             # As root, mosquitto would switch to the `mosquitto` user and could not read\n\
             # the files in this private temp dir.\n\
             user root\n\
             log_dest stderr\n\
             log_type error\nlog_type warning\nlog_type notice\nlog_type information\n\
             log_timestamp true\n\
             connection_messages true\n\
             # Large explicit limits (not 0): a test may queue many messages for a client away.\n\
             max_queued_messages 1000000\n\
             max_inflight_messages 1000\n\
             # The MQTT maximum: tests send multi-MiB batches.\n\
             max_packet_size 268435455\n\
             # Small messages out at once (no Nagle), as the shipped site broker does.\n\
             set_tcp_nodelay true\n\
             persistence {}\n\
             persistence_location {}/\n\
             \n\
             listener {} 127.0.0.1\n\
             allow_anonymous {}\n",
            self.options.persistence,
            dir.join("data").display(),
            self.port,
            self.options.login.is_none(),
        );
        if self.options.login.is_some() {
            let _ = writeln!(conf, "password_file {}", dir.join("passwd").display());
        }
        if let (Some(files), Some(tls)) = (&self.tls, self.options.tls) {
            let _ = write!(
                conf,
                "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {}\n",
                files.ca.display(),
                files.server_cert.display(),
                files.server_key.display(),
                tls.require_certificate,
            );
        }
        conf
    }
}
