//! The site config: the one parser here whose input an operator writes.

use std::path::Path;

/// A site config file, read and validated as `customs-edge run --config` does.
pub fn site_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match customs_edge::config::parse(text, Path::new("site.toml")) {
        Ok(config) => {
            // What `check-config` prints must come out of any config that loaded.
            let _ = format!("{config:?}");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.starts_with("site.toml"),
                "error names the file: {message}"
            );
        }
    }
}
