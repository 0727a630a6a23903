//! `[platform.signing]`: Ed25519 signatures on the platform link (`docs/security.md`).

use std::path::PathBuf;

use customs_edge_protocol::signed::TrustedKeys;
use serde::{Deserialize, Serialize};

use super::Problem;

/// Signatures on the platform link. With this section every downlink message and every
/// acknowledgement must carry a valid signature of one of `platform_keys` (others are
/// dead-lettered, never applied), and every uplink message is signed with the site's key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SigningConfig {
    /// File holding this site's Ed25519 private key: the 32-byte seed as 64 hex characters
    /// (`customs-edge keys generate` writes one, mode 600). Its public half goes into the
    /// platform's configuration. Required.
    #[serde(default)]
    pub site_key_file: PathBuf,
    /// The platform's Ed25519 public keys (64 hex characters each) whose signatures are
    /// accepted: one, or two while the platform rotates from the old key to the new.
    /// Required.
    #[serde(default)]
    pub platform_keys: Vec<String>,
    /// How long the site's signature on an uplink message stays valid, in seconds. A
    /// message is signed when it is sent (again), so this only needs to cover the time it
    /// may wait in the broker.
    #[serde(default = "default_uplink_valid_s")]
    pub uplink_valid_s: u64,
}

fn default_uplink_valid_s() -> u64 {
    24 * 3600
}

impl SigningConfig {
    /// The platform keys, read.
    pub fn trusted(&self) -> Result<TrustedKeys, String> {
        TrustedKeys::from_hex(&self.platform_keys)
    }

    /// Every problem with its path.
    pub(super) fn validate(&self, out: &mut Vec<Problem>) {
        if self.site_key_file.as_os_str().is_empty() {
            out.push(Problem::new(
                "platform.signing.site_key_file",
                "required: the file with this site's Ed25519 key (customs-edge keys generate)",
            ));
        }
        match self.platform_keys.len() {
            0 => out.push(Problem::new(
                "platform.signing.platform_keys",
                "required: the platform's Ed25519 public key (64 hex characters)",
            )),
            1 | 2 => {
                if let Err(e) = self.trusted() {
                    out.push(Problem::new("platform.signing.platform_keys", e));
                }
            }
            n => out.push(Problem::new(
                "platform.signing.platform_keys",
                format!("{n} keys; at most 2 (the current one and the next, while rotating)"),
            )),
        }
        if self.uplink_valid_s < 60 {
            out.push(Problem::new(
                "platform.signing.uplink_valid_s",
                "must be at least 60",
            ));
        }
    }
}
