//! The test TLS material: a CA, a server certificate for [`CERT_NAMES`] and a client
//! certificate, made by the `openssl` CLI.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::CERT_NAMES;

/// Paths of the generated TLS material.
#[derive(Debug)]
pub(super) struct TlsFiles {
    pub(super) ca: PathBuf,
    pub(super) server_cert: PathBuf,
    pub(super) server_key: PathBuf,
    pub(super) client_cert: PathBuf,
    pub(super) client_key: PathBuf,
}

/// A test CA, a server certificate for [`CERT_NAMES`] and a client certificate, in `dir`
/// (EC P-256 keys: quick to make on a loaded machine).
pub(super) fn generate_tls(dir: &Path) -> TlsFiles {
    fs::create_dir_all(dir).expect("TLS dir");
    fs::write(
        dir.join("ca.cnf"),
        "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ext\n\
         [dn]\nCN = customs-edge test CA\n\
         [ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier = hash\n",
    )
    .expect("write ca.cnf");
    openssl(
        dir,
        "req -x509 -config ca.cnf -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
         -keyout ca.key -out ca.crt -days 7",
    );
    let names = format!("DNS:{},IP:{}", CERT_NAMES[0], CERT_NAMES[1]);
    issue(
        dir,
        "server",
        "localhost",
        &format!("extendedKeyUsage = serverAuth\nsubjectAltName = {names}\n"),
    );
    issue(
        dir,
        "client",
        "customs-edge-test-client",
        "extendedKeyUsage = clientAuth\n",
    );
    TlsFiles {
        ca: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.crt"),
        client_key: dir.join("client.key"),
    }
}

/// `<name>.key` and `<name>.crt` for `cn` (no spaces), signed by the CA in `dir`, with
/// `extensions` added.
fn issue(dir: &Path, name: &str, cn: &str, extensions: &str) {
    fs::write(
        dir.join(format!("{name}.ext")),
        format!(
            "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n{extensions}"
        ),
    )
    .expect("write the extensions file");
    openssl(
        dir,
        &format!(
            "req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
             -keyout {name}.key -out {name}.csr -subj /CN={cn}"
        ),
    );
    openssl(
        dir,
        &format!(
            "x509 -req -in {name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
             -out {name}.crt -days 7 -extfile {name}.ext"
        ),
    );
}

/// Run `openssl` in `dir` with whitespace-separated `args`.
fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl (scripts/setup.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "openssl {args} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
