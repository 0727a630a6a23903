//! The test TLS material: a CA, a server certificate for [`CERT_NAMES`] and a client
//! certificate, made in process with `rcgen` (EC P-256 keys, valid for a week) and
//! written as PEM files for Mosquitto and the clients — and for any other listener under
//! test that serves TLS (the plate-camera listener).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use chrono::{Datelike as _, Days, NaiveDate, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, date_time_ymd,
};

use super::CERT_NAMES;

/// Paths of the generated TLS material.
#[derive(Debug)]
pub struct TlsFiles {
    /// The CA's certificate: what clients trust.
    pub ca: PathBuf,
    /// The server's certificate, for [`CERT_NAMES`].
    pub server_cert: PathBuf,
    /// The server's key.
    pub server_key: PathBuf,
    /// A client certificate (`CN=customs-edge-test-client`).
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    /// Certificate and key of each extra client identity, by Common Name.
    pub identities: BTreeMap<String, (PathBuf, PathBuf)>,
}

/// How long the certificates are valid from today.
const VALID_DAYS: u64 = 7;

/// A test CA, a server certificate for [`CERT_NAMES`] and a client certificate, in `dir`:
/// `ca.crt` and `ca.key`, `server.crt` and `server.key`, `client.crt` and `client.key`;
/// and one client certificate per name in `identities`, issued to that Common Name
/// (`id-<n>.crt`, `id-<n>.key`: a site code, or the platform's name).
/// Keys are PKCS#8 PEM readable by their owner only (mode 600), certificates mode 644
/// under the usual umask; Mosquitto reads them as root (`user root` in its config).
pub fn generate_tls(dir: &Path, identities: &[String]) -> TlsFiles {
    fs::create_dir_all(dir).expect("TLS dir");
    let mut ca = params("customs-edge test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.use_authority_key_identifier_extension = false;
    let ca_key = KeyPair::generate().expect("generate the CA key");
    write_key(&dir.join("ca.key"), &ca_key);
    let ca = CertifiedIssuer::self_signed(ca, ca_key).expect("self-sign the CA");
    write_cert(&dir.join("ca.crt"), &ca.pem());

    let mut server = params(CERT_NAMES[0]);
    server.subject_alt_names = vec![
        SanType::DnsName(CERT_NAMES[0].try_into().expect("a DNS name")),
        SanType::IpAddress(CERT_NAMES[1].parse::<IpAddr>().expect("an IP address")),
    ];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    issue(dir, "server", &server, &ca);

    let mut client = params("customs-edge-test-client");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    issue(dir, "client", &client, &ca);

    let mut issued = BTreeMap::new();
    for (n, cn) in identities.iter().enumerate() {
        let mut client = params(cn);
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let name = format!("id-{n}");
        issue(dir, &name, &client, &ca);
        issued.insert(
            cn.clone(),
            (
                dir.join(format!("{name}.crt")),
                dir.join(format!("{name}.key")),
            ),
        );
    }

    TlsFiles {
        ca: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.crt"),
        client_key: dir.join("client.key"),
        identities: issued,
    }
}

/// Parameters for a certificate named `cn`, valid from the start of today (UTC) until
/// [`VALID_DAYS`] from now at least; an end
/// entity (`CA:FALSE`, digital signature only, naming its issuer's key) unless changed.
fn params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, cn);
    params.distinguished_name = name;
    let midnight = |day: NaiveDate| date_time_ymd(day.year(), day.month() as u8, day.day() as u8);
    let today = Utc::now().date_naive();
    params.not_before = midnight(today);
    params.not_after = midnight(today + Days::new(VALID_DAYS + 1));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params
}

/// `<name>.key` and `<name>.crt` for `params`, signed by the CA.
fn issue(dir: &Path, name: &str, params: &CertificateParams, ca: &Issuer<'_, KeyPair>) {
    let key = KeyPair::generate().expect("generate a key");
    let cert = params
        .signed_by(&key, ca)
        .unwrap_or_else(|e| panic!("sign the {name} certificate: {e}"));
    write_key(&dir.join(format!("{name}.key")), &key);
    write_cert(&dir.join(format!("{name}.crt")), &cert.pem());
}

fn write_cert(path: &Path, pem: &str) {
    fs::write(path, pem).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A private key, PKCS#8 PEM, mode 600.
fn write_key(path: &Path, key: &KeyPair) {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(key.serialize_pem().as_bytes()))
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
