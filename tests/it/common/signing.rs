//! Signed-link helpers: a platform key and a site key made for the test, the platform
//! simulator signing with one and trusting the other, and the controller's
//! `[platform.signing]` naming them.

use std::time::Duration;

use customs_edge::config::PlatformConfig;
use customs_edge_protocol::signed::SealKey;
use customs_edge_simulators::broker::Broker;
use customs_edge_simulators::platform::{self, RunningPlatform, Signing};

use super::platform::{SITE, platform_config};

/// The keys of one test.
pub struct TestKeys {
    /// What the platform signs with.
    pub platform: SealKey,
    /// What the site signs with (also in `dir`/site.key).
    pub site: SealKey,
    /// Holds the site's key file.
    pub dir: tempfile::TempDir,
}

impl TestKeys {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let site = customs_edge::keys_cli::generate();
        customs_edge::keys_cli::write_new(&dir.path().join("site.key"), &site)
            .expect("site key file");
        Self {
            platform: customs_edge::keys_cli::generate(),
            site,
            dir,
        }
    }

    /// The controller's `[platform.signing]` trusting `platform_keys` (hex).
    pub fn site_signing_toml(&self, platform_keys: &[String]) -> String {
        format!(
            "[signing]\nsite_key_file = {:?}\nplatform_keys = {:?}\n",
            self.dir.path().join("site.key").display().to_string(),
            platform_keys
        )
    }

    /// The controller's `[platform]` for `broker`, trusting the platform's key.
    pub fn site_config(&self, broker: &Broker, extra: &str) -> PlatformConfig {
        let signing = self.site_signing_toml(&[self.platform.public_hex()]);
        platform_config(broker, &format!("{extra}{signing}"))
    }

    /// The platform simulator signing with the platform key and trusting the site's.
    pub async fn start_platform(&self, broker: &Broker) -> RunningPlatform {
        let mut cfg = platform::PlatformConfig::new(broker.url(), &[SITE]);
        cfg.client_id = "platform-under-test".into();
        if broker.url().starts_with("mqtts") {
            cfg.ca_file = Some(broker.ca_path().to_owned());
            cfg.client_cert = Some(broker.client_cert_path().to_owned());
            cfg.client_key = Some(broker.client_key_path().to_owned());
        }
        cfg.signing = Some(Signing::new(self.platform.clone(), &[(SITE, &self.site)]));
        let p = platform::start(cfg).await.expect("platform starts");
        p.wait_subscribed(Duration::from_secs(30))
            .await
            .expect("platform subscribed");
        p
    }
}
