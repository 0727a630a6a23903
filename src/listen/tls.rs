//! TLS served by a listener itself: the certificate and key loaded from PEM files into a
//! rustls server config (its own crypto provider, so which one another crate enables does
//! not matter), and the handshake each accepted connection must finish in time.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the certificate or key did not load: the config field to fix and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// `cert_file` or `key_file`.
    pub field: &'static str,
    /// What is wrong, with the file's path.
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for LoadError {}

/// A rustls server config for `cert_file` (PEM chain) and `key_file` (PEM key), speaking
/// HTTP/1.1 (the only protocol the listeners serve) over TLS 1.2 or 1.3.
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, LoadError> {
    let cert_err = |message: String| LoadError {
        field: "cert_file",
        message: format!("{}: {message}", cert_file.display()),
    };
    let key_err = |message: String| LoadError {
        field: "key_file",
        message: format!("{}: {message}", key_file.display()),
    };
    let pem = std::fs::read(cert_file).map_err(|e| cert_err(format!("cannot be read ({e})")))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(format!("is not a PEM certificate chain ({e})")))?;
    if certs.is_empty() {
        return Err(cert_err(
            "holds no PEM certificate (BEGIN CERTIFICATE)".into(),
        ));
    }
    let pem = std::fs::read(key_file).map_err(|e| key_err(format!("cannot be read ({e})")))?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        key_err(format!(
            "holds no PEM private key (PKCS#8, PKCS#1 or SEC1) ({e})"
        ))
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| cert_err(format!("no TLS version available ({e})")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => {
                key_err(format!("is not the key of {} ({e})", cert_file.display()))
            }
            e => cert_err(format!(
                "cannot be served with {} ({e})",
                key_file.display()
            )),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What a TLS listener does with each accepted connection before HTTP.
#[derive(Clone)]
pub struct Tls {
    pub(super) acceptor: tokio_rustls::TlsAcceptor,
    /// How long the handshake may take from the accept.
    pub(super) handshake_timeout: Duration,
    /// The `Strict-Transport-Security` value put on every response.
    pub(super) hsts: axum::http::HeaderValue,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("handshake_timeout", &self.handshake_timeout)
            .field("hsts", &self.hsts)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// TLS from `config` (the `[web.tls]` section).
    pub fn from_config(config: &crate::config::WebTls) -> Result<Self, LoadError> {
        let server = server_config(&config.cert_file, &config.key_file)?;
        Ok(Self {
            acceptor: tokio_rustls::TlsAcceptor::from(server),
            handshake_timeout: config.handshake_timeout(),
            hsts: axum::http::HeaderValue::from_str(&format!(
                "max-age={}; includeSubDomains",
                config.hsts_max_age_s
            ))
            .expect("digits make a header value"),
        })
    }
}

/// Marks a request that came over TLS served here (the session cookie is then `Secure`).
#[derive(Debug, Clone, Copy)]
pub struct ServedOverTls;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_wrong_file_is_named_by_its_field_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("site.crt");
        let key = dir.path().join("site.key");
        let e = server_config(&cert, &key).unwrap_err();
        assert_eq!(e.field, "cert_file");
        assert!(e.message.contains("site.crt"), "{e}");
        std::fs::write(&cert, "not a certificate").unwrap();
        let e = server_config(&cert, &key).unwrap_err();
        assert_eq!(e.field, "cert_file");
        assert!(e.message.contains("no PEM certificate"), "{e}");
    }
}
