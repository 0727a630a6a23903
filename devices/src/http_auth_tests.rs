use std::time::{Duration, Instant};

use super::*;

/// RFC 7616 section 3.9.1.
const REALM: &str = "http-auth@example.org";
const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const RFC_MD5: &str = "8ca523f5e9506fed4657c9700eebdbec";
const RFC_SHA256: &str = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";

const URI: &str = "/cameras/gate1/events";

fn rfc_challenge(algorithm: Algorithm) -> DigestChallenge {
    DigestChallenge {
        realm: REALM.into(),
        nonce: NONCE.into(),
        opaque: Some(OPAQUE.into()),
        algorithm,
        qop: vec!["auth".into(), "auth-int".into()],
        stale: false,
    }
}

fn param(header: &str, name: &str) -> String {
    params::parse_list(header).unwrap()[0]
        .get(name)
        .unwrap()
        .to_owned()
}

#[test]
fn rfc7616_worked_example_gives_the_published_responses() {
    for (algorithm, expected) in [(Algorithm::Md5, RFC_MD5), (Algorithm::Sha256, RFC_SHA256)] {
        let header = rfc_challenge(algorithm)
            .authorization(
                "GET",
                "/dir/index.html",
                "Mufasa",
                "Circle of Life",
                CNONCE,
                1,
            )
            .unwrap();
        assert_eq!(param(&header, "response"), expected, "{algorithm:?}");
        assert_eq!(param(&header, "nc"), "00000001");
        assert_eq!(param(&header, "qop"), "auth");
        assert_eq!(param(&header, "opaque"), OPAQUE);
    }
}

#[test]
fn rfc7616_worked_example_headers_parse() {
    let www = format!(
        r#"Digest realm="{REALM}", qop="auth, auth-int", algorithm=SHA-256, nonce="{NONCE}", opaque="{OPAQUE}", Digest realm="{REALM}", qop="auth, auth-int", algorithm=MD5, nonce="{NONCE}", opaque="{OPAQUE}""#
    );
    let challenges = Challenge::parse_all(&www).unwrap();
    assert_eq!(challenges.len(), 2);
    assert_eq!(
        Challenge::preferred(&challenges),
        Some(&Challenge::Digest(rfc_challenge(Algorithm::Sha256)))
    );

    let authorization = format!(
        r#"Digest username="Mufasa", realm="{REALM}", uri="/dir/index.html", algorithm=SHA-256, nonce="{NONCE}", nc=00000001, cnonce="{CNONCE}", qop=auth, response="{RFC_SHA256}", opaque="{OPAQUE}""#
    );
    let Credentials::Digest(d) = Credentials::parse(&authorization).unwrap() else {
        panic!("digest expected");
    };
    assert_eq!(d.username, "Mufasa");
    assert_eq!(d.uri, "/dir/index.html");
    assert_eq!(d.algorithm, Algorithm::Sha256);
    assert_eq!(d.nc, Some(1));
    assert_eq!(d.cnonce.as_deref(), Some(CNONCE));
    assert_eq!(d.response, RFC_SHA256);
    let input = DigestInput {
        algorithm: d.algorithm,
        username: &d.username,
        realm: &d.realm,
        password: "Circle of Life",
        method: "GET",
        uri: &d.uri,
        nonce: &d.nonce,
        qop: Some(("auth", "00000001", CNONCE)),
    };
    assert_eq!(input.response(), RFC_SHA256);
}

fn server() -> Authenticator {
    Authenticator::new("customs-edge", [7; 32])
}

/// The challenges as a client sees them: rendered, joined in one header, parsed back.
fn offered(auth: &Authenticator, now: Instant) -> Vec<Challenge> {
    let header = auth
        .challenges(false, now)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Challenge::parse_all(&header).unwrap()
}

fn digest_of(challenges: &[Challenge], algorithm: Algorithm) -> DigestChallenge {
    challenges
        .iter()
        .find_map(|c| match c {
            Challenge::Digest(d) if d.algorithm == algorithm => Some(d.clone()),
            _ => None,
        })
        .unwrap()
}

fn answer(d: &DigestChallenge, uri: &str, password: &str, nc: u32) -> String {
    d.authorization("POST", uri, "cam", password, "0a4f113b", nc)
        .unwrap()
}

#[test]
fn server_challenges_offer_sha256_then_md5_then_basic_with_one_nonce() {
    let auth = server();
    let challenges = offered(&auth, Instant::now());
    assert_eq!(challenges.len(), 3);
    let sha = digest_of(&challenges, Algorithm::Sha256);
    let md5 = digest_of(&challenges, Algorithm::Md5);
    assert_eq!(sha.nonce, md5.nonce);
    assert_eq!(sha.qop, ["auth"]);
    assert!(sha.opaque.is_some());
    assert!(!sha.stale);
    assert!(matches!(challenges[2], Challenge::Basic { ref realm } if realm == "customs-edge"));
    assert_eq!(
        Challenge::preferred(&challenges),
        Some(&Challenge::Digest(sha))
    );
    assert_eq!(auth.nonces_held(), 0, "a challenge stores nothing");
}

#[test]
fn digest_sha256_and_md5_answers_verify_with_increasing_counts() {
    let auth = server();
    let now = Instant::now();
    let challenges = offered(&auth, now);
    for (algorithm, base) in [(Algorithm::Sha256, 0), (Algorithm::Md5, 10)] {
        let d = digest_of(&challenges, algorithm);
        for nc in base + 1..=base + 3 {
            let header = answer(&d, URI, "pw", nc);
            assert_eq!(
                auth.verify(&header, "POST", URI, "cam", "pw", now),
                Ok(AuthScheme::Digest(algorithm)),
                "{algorithm:?} nc {nc}"
            );
        }
    }
}

#[test]
fn basic_credentials_verify_and_wrong_ones_do_not() {
    let auth = server();
    let now = Instant::now();
    let ok = basic_authorization("cam", "pw");
    assert_eq!(
        auth.verify(&ok, "POST", URI, "cam", "pw", now),
        Ok(AuthScheme::Basic)
    );
    let lower = ok.replacen("Basic", "basic", 1);
    assert!(auth.verify(&lower, "POST", URI, "cam", "pw", now).is_ok());
    for bad in [
        basic_authorization("cam", "nope"),
        basic_authorization("other", "pw"),
    ] {
        assert_eq!(
            auth.verify(&bad, "POST", URI, "cam", "pw", now),
            Err(AuthError::WrongCredentials)
        );
    }
    assert!(matches!(
        auth.verify("Basic a-b_c", "POST", URI, "cam", "pw", now),
        Err(AuthError::BadParam { .. })
    ));
    let no_colon = format!("Basic {}", BASE64.encode("campw"));
    assert!(matches!(
        auth.verify(&no_colon, "POST", URI, "cam", "pw", now),
        Err(AuthError::BadParam { .. })
    ));
}

#[test]
fn digest_refusals_name_what_was_wrong() {
    let auth = server();
    let now = Instant::now();
    let d = digest_of(&offered(&auth, now), Algorithm::Sha256);
    let verify = |header: &str| auth.verify(header, "POST", URI, "cam", "pw", now);

    let wrong = answer(&d, URI, "not-pw", 1);
    assert_eq!(verify(&wrong), Err(AuthError::WrongCredentials));
    let other_user = d
        .authorization("POST", URI, "intruder", "pw", "c", 1)
        .unwrap();
    assert_eq!(verify(&other_user), Err(AuthError::WrongCredentials));

    let elsewhere = answer(&d, "/cameras/other/events", "pw", 1);
    assert!(matches!(
        verify(&elsewhere),
        Err(AuthError::UriMismatch { ref sent, .. }) if sent == "/cameras/other/events"
    ));

    let mut forged = d.clone();
    forged.nonce = "00112233445566778899aabbccddeeff".into();
    let unknown = answer(&forged, URI, "pw", 1);
    assert_eq!(verify(&unknown), Err(AuthError::UnknownNonce));
    assert!(AuthError::UnknownNonce.is_stale());

    let mut realm = d.clone();
    realm.realm = "elsewhere".into();
    assert!(matches!(
        verify(&answer(&realm, URI, "pw", 1)),
        Err(AuthError::WrongRealm(_))
    ));

    let mut opaque = d.clone();
    opaque.opaque = Some("tampered".into());
    assert_eq!(
        verify(&answer(&opaque, URI, "pw", 1)),
        Err(AuthError::OpaqueMismatch)
    );

    let mut legacy = d.clone();
    legacy.qop.clear();
    assert_eq!(
        verify(&answer(&legacy, URI, "pw", 1)),
        Err(AuthError::MissingParam("qop"))
    );

    let mut sess = d.clone();
    sess.algorithm = Algorithm::Sha256Sess;
    assert!(matches!(
        verify(&answer(&sess, URI, "pw", 1)),
        Err(AuthError::UnsupportedAlgorithm(_))
    ));
    let sha512 = answer(&d, URI, "pw", 1).replace("SHA-256", "SHA-512-256");
    assert!(matches!(
        verify(&sha512),
        Err(AuthError::UnsupportedAlgorithm(_))
    ));

    // None of the refusals above used up a count: the right answer still goes through.
    assert!(verify(&answer(&d, URI, "pw", 1)).is_ok());
}

#[test]
fn replayed_nonce_count_is_refused_but_reordered_counts_are_not() {
    let auth = server();
    let now = Instant::now();
    let d = digest_of(&offered(&auth, now), Algorithm::Sha256);
    let verify = |nc| auth.verify(&answer(&d, URI, "pw", nc), "POST", URI, "cam", "pw", now);
    assert!(verify(1).is_ok());
    assert_eq!(verify(1), Err(AuthError::Replay { nc: 1 }));
    assert!(verify(3).is_ok(), "a count may skip ahead");
    assert!(
        verify(2).is_ok(),
        "a late count within the window is taken once"
    );
    assert_eq!(verify(2), Err(AuthError::Replay { nc: 2 }));
    assert!(verify(100).is_ok());
    assert_eq!(
        verify(30),
        Err(AuthError::Replay { nc: 30 }),
        "too far behind the newest"
    );
    assert_eq!(verify(0), Err(AuthError::Replay { nc: 0 }));
    assert!(AuthError::Replay { nc: 1 }.is_stale());
}

#[test]
fn expired_nonce_is_stale() {
    let auth = server().with_limits(Duration::from_secs(60), 16);
    let t0 = Instant::now();
    let d = digest_of(&offered(&auth, t0), Algorithm::Md5);
    let header = answer(&d, URI, "pw", 1);
    let late = t0 + Duration::from_secs(61);
    assert_eq!(
        auth.verify(&header, "POST", URI, "cam", "pw", late),
        Err(AuthError::StaleNonce)
    );
    assert!(AuthError::StaleNonce.is_stale());
    assert_eq!(
        auth.verify(&answer(&d, URI, "pw", 2), "POST", URI, "cam", "pw", late),
        Err(AuthError::StaleNonce),
        "an expired nonce stays expired"
    );
    let stale = auth.challenges(true, late);
    assert!(stale[0].to_string().ends_with(", stale=true"));
    let parsed = Challenge::parse_all(&stale[0].to_string()).unwrap();
    assert!(matches!(&parsed[0], Challenge::Digest(d) if d.stale));
}

#[test]
fn malformed_headers_are_refused_with_a_reason() {
    let auth = server();
    let now = Instant::now();
    for header in [
        r#"Digest username="cam"#,
        "Digest username=",
        "Digest username=\"a\", username=\"b\"",
        "",
        ",,,",
        "Digest realm=\"x\", @@",
        "Basic",
        "Basic a b",
    ] {
        let err = auth
            .verify(header, "POST", URI, "cam", "pw", now)
            .unwrap_err();
        assert!(
            matches!(err, AuthError::Malformed(_)),
            "{header:?}: {err:?}"
        );
        assert_eq!(err.code(), "auth_malformed");
    }
    assert!(matches!(
        auth.verify("Bearer abc.def", "POST", URI, "cam", "pw", now),
        Err(AuthError::UnsupportedScheme(_))
    ));
    assert_eq!(
        auth.verify(
            r#"Digest username="cam", realm="customs-edge""#,
            "POST",
            URI,
            "cam",
            "pw",
            now
        ),
        Err(AuthError::MissingParam("nonce"))
    );
    let bad_nc = r#"Digest username="c", realm="r", nonce="n", uri="/", response="x", nc=1"#;
    assert!(matches!(
        auth.verify(bad_nc, "POST", URI, "cam", "pw", now),
        Err(AuthError::BadParam { name: "nc", .. })
    ));
}

#[test]
fn parameter_names_are_case_insensitive_and_quoted_strings_unescaped() {
    let header = r#"DIGEST USERNAME="ca\"m", Realm="r", NONCE=n, Uri="/a?b=1", response="AB", NC=0000000a, CNonce="c", QOP=auth"#;
    let Credentials::Digest(d) = Credentials::parse(header).unwrap() else {
        panic!("digest expected");
    };
    assert_eq!(d.username, "ca\"m");
    assert_eq!(d.nonce, "n");
    assert_eq!(d.uri, "/a?b=1");
    assert_eq!(d.nc, Some(10));
    assert_eq!(d.qop.as_deref(), Some("auth"));
    assert_eq!(d.algorithm, Algorithm::Md5, "MD5 when absent");
}

#[test]
fn client_picks_digest_sha256_over_md5_over_basic_whatever_the_order() {
    let header = concat!(
        r#"Newauth realm="apps", type=1, title="Login to \"apps\"", "#,
        r#"Basic realm="b", Digest realm="r", nonce="n1", qop="auth", "#,
        r#"Digest realm="r", nonce="n2", algorithm=SHA-512-256, qop="auth", "#,
        r#"Digest realm="r", nonce="n3", algorithm=SHA-256, qop="auth-int", "#,
        r#"Negotiate abc==, Digest realm="r", nonce="n4", algorithm=sha-256, qop="auth,auth-int""#,
    );
    let challenges = Challenge::parse_all(header).unwrap();
    assert_eq!(challenges.len(), 4, "{challenges:?}");
    let Some(Challenge::Digest(best)) = Challenge::preferred(&challenges) else {
        panic!("digest expected");
    };
    assert_eq!(best.nonce, "n4");
    assert_eq!(best.algorithm, Algorithm::Sha256);

    let md5_or_basic =
        Challenge::parse_all(r#"Basic realm="b", Digest realm="r", nonce="n""#).unwrap();
    assert!(matches!(
        Challenge::preferred(&md5_or_basic),
        Some(Challenge::Digest(d)) if d.algorithm == Algorithm::Md5
    ));
    let basic_only = Challenge::parse_all(r#"Basic realm="b""#).unwrap();
    let basic = Challenge::preferred(&basic_only).unwrap();
    assert_eq!(
        basic.authorization("POST", "/", "Aladdin", "open sesame", "", 1),
        Ok("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".to_owned())
    );
    let int_only = Challenge::parse_all(r#"Digest realm="r", nonce="n", qop="auth-int""#).unwrap();
    assert_eq!(Challenge::preferred(&int_only), None);
    assert!(Challenge::parse_all("Digest realm=\"unterminated").is_err());
}

#[test]
fn rfc2069_challenge_without_qop_is_answered_without_counts() {
    let d = DigestChallenge {
        qop: Vec::new(),
        opaque: None,
        ..rfc_challenge(Algorithm::Md5)
    };
    let header = d
        .authorization(
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle of Life",
            CNONCE,
            1,
        )
        .unwrap();
    let Credentials::Digest(parsed) = Credentials::parse(&header).unwrap() else {
        panic!("digest expected");
    };
    assert_eq!(parsed.qop, None);
    assert_eq!(parsed.nc, None);
    assert_eq!(parsed.opaque, None);
}

#[test]
fn constant_time_eq_compares_bytes() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
    assert!(constant_time_eq(b"", b""));
}
