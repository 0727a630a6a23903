//! Tests of `[plate_events]`: Basic refused in clear from other hosts, TLS files that must
//! load, the limits on wrong credentials.

use std::path::Path;

use customs_edge_simulators::broker::tls::generate_tls;

/// A site with one exit lane whose plate camera posts with `plate_auth`, and `plate_events`.
fn problems(plate_auth: &str, plate_events: &str) -> Vec<(String, String)> {
    let text = format!(
        "[site]\ncode = \"3501\"\n\
         [[gates]]\nid = \"01\"\ndirection = \"out\"\nio_address = \"127.0.0.1:502\"\n\
         plate_camera = \"CAM-01\"\n\
         [[cameras]]\nid = \"CAM-01\"\nusername = \"anpr\"\npassword_env = \"CAM_PW\"\n\
         plate_auth = \"{plate_auth}\"\n\
         [plate_events]\n{plate_events}\n"
    );
    match super::super::parse(&text, Path::new("t.toml")) {
        Ok(_) => Vec::new(),
        Err(super::super::ConfigError::Invalid { problems, .. }) => {
            problems.into_iter().map(|p| (p.path, p.message)).collect()
        }
        Err(e) => panic!("{e}"),
    }
}

fn at<'p>(found: &'p [(String, String)], path: &str) -> Option<&'p str> {
    found
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, m)| m.as_str())
}

#[test]
fn basic_over_plain_http_from_other_hosts_is_refused_unless_the_site_says_so() {
    let open = "listen = \"0.0.0.0:8081\"";
    let found = problems("basic", open);
    let why = at(&found, "cameras[0].plate_auth").expect("refused");
    assert!(why.contains("in clear") && why.contains("tls"), "{why}");
    assert!(problems("digest", open).is_empty());
    assert!(
        problems("basic", "listen = \"127.0.0.1:8081\"").is_empty(),
        "nothing crosses a network on loopback"
    );
    let allowed = format!("{open}\nallow_basic_without_tls = true");
    assert!(problems("basic", &allowed).is_empty());
}

#[test]
fn basic_with_tls_is_accepted_and_the_tls_files_must_load() {
    let dir = tempfile::tempdir().unwrap();
    let files = generate_tls(dir.path(), &[]);
    let tls = |cert: &Path, key: &Path| {
        format!(
            "listen = \"0.0.0.0:8443\"\ntls = {{ cert_file = \"{}\", key_file = \"{}\" }}",
            cert.display(),
            key.display()
        )
    };
    assert!(
        problems("basic", &tls(&files.server_cert, &files.server_key)).is_empty(),
        "Basic inside TLS"
    );

    let missing = problems(
        "digest",
        &tls(&dir.path().join("nope.crt"), &files.server_key),
    );
    let why = at(&missing, "plate_events.tls").expect("a missing certificate");
    assert!(why.contains("nope.crt"), "{why}");

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let found = problems("digest", &tls(&garbage, &files.server_key));
    let why = at(&found, "plate_events.tls").expect("no certificate in the file");
    assert!(why.contains("garbage.pem"), "{why}");

    let found = problems("digest", &tls(&files.server_cert, &files.client_key));
    let why = at(&found, "plate_events.tls").expect("a key of another certificate");
    assert!(why.contains("does not go with"), "{why}");
    // A TLS listener with a broken certificate is not also blamed on the camera's Basic.
    let found = problems("basic", &tls(&garbage, &files.server_key));
    assert!(at(&found, "cameras[0].plate_auth").is_none(), "{found:?}");
}

#[test]
fn auth_limits_out_of_range_are_named() {
    let found = problems(
        "digest",
        "[plate_events.auth_limits]\nfree_failures = 0\nfirst_delay_s = 0\nmax_delay_s = 0.5\n\
         camera_failures_per_minute = 0\nmax_sources = 3",
    );
    for field in [
        "free_failures",
        "first_delay_s",
        "max_delay_s",
        "camera_failures_per_minute",
        "max_sources",
    ] {
        let path = format!("plate_events.auth_limits.{field}");
        assert!(at(&found, &path).is_some(), "{path} in {found:?}");
    }
}
