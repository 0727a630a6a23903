//! Accounts, roles, sessions, CSRF and lockout, through the real server: no default
//! password, each role does its own work and nothing else, a change without its CSRF token
//! is refused, five wrong passwords lock an account.

use crate::common;
mod gate_override;
mod sessions;
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
pub(crate) use support::{ADMIN, ADMIN_PW, Server, Session, anon, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_asks_for_the_administrator_once() {
    let server = start().await;
    let res = anon()
        .get(format!("{}/api/parcels", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["setup_required"], true, "{body}");
    let login = anon()
        .post(format!("{}/api/login", server.base))
        .json(&json!({ "username": "admin", "password": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        login.status(),
        StatusCode::CONFLICT,
        "no default account to log in to"
    );
    let state: Value = anon()
        .get(format!("{}/api/setup", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["required"], true);
    // Open without an account: health, metrics, the console page.
    for path in ["/healthz", "/metrics", "/"] {
        let res = anon()
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }

    let setup = |username: &'static str, password: &'static str| {
        anon()
            .post(format!("{}/api/setup", server.base))
            .json(&json!({ "username": username, "password": password }))
            .send()
    };
    let weak = setup(ADMIN, "short").await.unwrap();
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    assert!(weak.text().await.unwrap().contains("at least 10"));
    let same = setup("administrator", "Administrator").await.unwrap();
    assert_eq!(
        same.status(),
        StatusCode::BAD_REQUEST,
        "the password cannot be the username"
    );
    assert_eq!(
        setup(ADMIN, ADMIN_PW).await.unwrap().status(),
        StatusCode::CREATED
    );
    let again = setup("intruder", "intruder-password-1").await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let state: Value = anon()
        .get(format!("{}/api/setup", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["required"], false);

    let stored = server.query("SELECT username, role, password_hash FROM accounts");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0][1], "admin");
    assert!(
        stored[0][2].as_str().unwrap().starts_with("$argon2id$"),
        "argon2id, never the password"
    );
    let res = anon()
        .get(format!("{}/api/parcels", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "set up, but not logged in"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sets_a_strict_http_only_cookie_and_logout_ends_the_session() {
    let server = start().await;
    server.set_up().await;
    let login = |proto: Option<&'static str>| {
        let mut req = anon()
            .post(format!("{}/api/login", server.base))
            .json(&json!({ "username": ADMIN, "password": ADMIN_PW }));
        if let Some(p) = proto {
            req = req.header("x-forwarded-proto", p);
        }
        req.send()
    };
    let res = login(None).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("ce_session="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["role"], "admin");
    assert_eq!(body["csrf"].as_str().unwrap().len(), 64);
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("ce_session=");
    let kept = server.query("SELECT token_sha256 FROM sessions");
    assert!(
        kept.iter().all(|r| r[0] != token),
        "only the token's hash is stored"
    );

    let behind_tls = login(Some("https")).await.unwrap();
    assert!(
        behind_tls.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    let wrong = anon()
        .post(format!("{}/api/login", server.base))
        .json(&json!({ "username": ADMIN, "password": "not-the-password" }))
        .send()
        .await
        .unwrap();
    let unknown = anon()
        .post(format!("{}/api/login", server.base))
        .json(&json!({ "username": "nobody", "password": "not-the-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "no hint which was wrong"
    );

    let session = Session::login(&server.base, ADMIN, ADMIN_PW).await;
    let me: Value = session
        .http
        .get(format!("{}/api/me", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], ADMIN);
    assert_eq!(
        me["csrf"],
        session.csrf.as_str(),
        "a reloaded page gets its token back"
    );
    let (status, _) = session.post("/api/logout", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session.get("/api/me").await, StatusCode::UNAUTHORIZED);
    let actions = server
        .query("SELECT action FROM audit_log WHERE action IN ('login', 'login_failed', 'logout')");
    assert_eq!(
        actions.len(),
        7,
        "every login, failed login and logout is audited: {actions:?}"
    );
    let details = server.query("SELECT detail FROM audit_log");
    assert!(details.iter().all(|r| {
        !r[0]
            .as_str()
            .unwrap_or_default()
            .contains("not-the-password")
    }));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_does_its_own_work_and_nothing_else() {
    let server = start().await;
    let admin = server.set_up().await;
    for (name, role) in [
        ("viewer.chen", "viewer"),
        ("op.zhang", "operator"),
        ("officer.li", "officer"),
    ] {
        admin.create_account(name, role).await;
    }
    let parcel: i64 = server
        .running
        .store
        .writer
        .write(|tx| {
            tx.execute("INSERT INTO parcels (line_id, tracking_no, entered_at, logistics_no) VALUES ('L1', 7, ?1, 'SF1234567890')", [customs_edge::store::now()])?;
            Ok(tx.last_insert_rowid())
        })
        .await
        .unwrap();
    let flag = format!("/api/parcels/{parcel}/flag");
    let viewer = Session::login(&server.base, "viewer.chen", "viewer.chen-pass-2026").await;
    let operator = Session::login(&server.base, "op.zhang", "op.zhang-pass-2026").await;
    let officer = Session::login(&server.base, "officer.li", "officer.li-pass-2026").await;
    let new_account =
        json!({ "username": "x.new", "role": "viewer", "password": "x-new-password-1" });
    let reason = json!({ "reason": "X光图像可疑：疑似电池" });

    // Everyone reads.
    for who in [&viewer, &operator, &officer, &admin] {
        assert_eq!(who.get("/api/parcels").await, StatusCode::OK);
        assert_eq!(who.get("/api/gates/passes").await, StatusCode::OK);
    }
    // A viewer changes nothing.
    for (path, body) in [
        (flag.as_str(), &reason),
        ("/api/accounts", &new_account),
        ("/api/gates/K1/override", &reason),
    ] {
        let (status, body) = viewer.post(path, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "viewer {path}: {body}");
    }
    // An operator cannot flag a parcel nor manage accounts, but passes the override's role
    // check (this site has no gates, hence 404).
    assert_eq!(
        operator.post(&flag, reason.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(operator.get("/api/accounts").await, StatusCode::FORBIDDEN);
    assert_eq!(
        operator
            .post("/api/gates/K1/override", reason.clone())
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // An officer cannot manage accounts nor override a gate, and flags the parcel.
    assert_eq!(officer.get("/api/accounts").await, StatusCode::FORBIDDEN);
    let (status, body) = officer.post("/api/accounts", new_account.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["error"].as_str().unwrap().contains("admin"), "{body}");
    assert_eq!(
        officer
            .post("/api/gates/K1/override", reason.clone())
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = officer.post(&flag, reason.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        officer
            .post("/api/parcels/999999/flag", reason.clone())
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // An administrator manages accounts, and judges no parcel.
    assert_eq!(admin.get("/api/accounts").await, StatusCode::OK);
    assert_eq!(
        admin.post(&flag, reason.clone()).await.0,
        StatusCode::FORBIDDEN
    );

    let flags = server.query("SELECT officer, reason FROM officer_flags");
    assert_eq!(
        flags,
        vec![vec![json!("officer.li"), reason["reason"].clone()]]
    );
    let audited = server.query(&format!(
        "SELECT actor FROM audit_log WHERE action = 'flag_for_inspection' AND subject = 'parcel:{parcel}'"
    ));
    assert_eq!(audited, vec![vec![json!("officer.li")]]);
    let created = server
        .query("SELECT actor, subject FROM audit_log WHERE action = 'account_create' ORDER BY id");
    assert_eq!(
        created.len(),
        4,
        "the administrator and three accounts: {created:?}"
    );
    assert_eq!(created[1], vec![json!(ADMIN), json!("account:viewer.chen")]);
    // Not logged in at all.
    assert_eq!(
        anon()
            .get(format!("{}/api/parcels", server.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_without_the_csrf_token_is_refused() {
    let server = start().await;
    let admin = server.set_up().await;
    let url = format!("{}/api/accounts", server.base);
    let body = json!({ "username": "op.wu", "role": "operator", "password": "op-wu-password-1" });
    let missing = admin.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let missing: Value = missing.json().await.unwrap();
    assert_eq!(missing["csrf"], "missing", "{missing}");
    assert!(missing["error"].as_str().unwrap().contains("X-CSRF-Token"));
    let wrong = admin
        .http
        .post(&url)
        .header("x-csrf-token", "0".repeat(64))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(
        server
            .query("SELECT id FROM accounts WHERE username = 'op.wu'")
            .is_empty(),
        "nothing changed"
    );
    assert_eq!(
        admin.post("/api/accounts", body).await.0,
        StatusCode::CREATED
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_slow_down_the_guesser_and_never_lock_out_the_owner() {
    let server = start().await;
    let admin = server.set_up().await;
    admin.create_account("op.zhao", "operator").await;
    // The guesser comes from 127.0.0.2, the owner from 127.0.0.1: two addresses.
    let guesser = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let attempt = |username: &'static str, password: &'static str| {
        guesser
            .post(format!("{}/api/login", server.base))
            .json(&json!({ "username": username, "password": password }))
            .send()
    };
    // A known name and an unknown one get the same answers, in the same order.
    for username in ["op.zhao", "op.nobody"] {
        for i in 1..=3 {
            let res = attempt(username, "wrong-password-x").await.unwrap();
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "{username} attempt {i}"
            );
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"], "wrong username or password");
            assert_eq!(body["code"], "unauthorized");
        }
        let slowed = attempt(username, "wrong-password-x").await.unwrap();
        assert_eq!(slowed.status(), StatusCode::TOO_MANY_REQUESTS, "{username}");
        let retry: u64 = slowed.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (1..=2).contains(&retry),
            "the first delay is a second: {retry}"
        );
        let body: Value = slowed.json().await.unwrap();
        assert_eq!(body["code"], "too_many_requests", "{body}");
    }
    // The owner, elsewhere, is not held up at all.
    Session::login(&server.base, "op.zhao", "op.zhao-pass-2026").await;

    let actions = server.query("SELECT action FROM audit_log WHERE subject = 'account:op.zhao' AND action != 'account_create'");
    let actions: Vec<&str> = actions.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "login_failed").count(),
        3,
        "{actions:?}"
    );
    assert!(!actions.contains(&"account_locked"), "{actions:?}");
    let locked = server.query("SELECT locked_until FROM accounts WHERE username = 'op.zhao'");
    assert_eq!(locked[0][0], Value::Null);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_attempts_from_one_address_are_rate_limited() {
    let server = start().await;
    server.set_up().await;
    let mut statuses = Vec::new();
    // A new name each time: the per-name delays stay out of it; this is the address's limit.
    for i in 0..12 {
        let res = anon()
            .post(format!("{}/api/login", server.base))
            .json(&json!({ "username": format!("guess{i}"), "password": "guess-password-1" }))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(res.headers().contains_key("retry-after"));
        }
        statuses.push(res.status().as_u16());
    }
    // The set-up login used one attempt of the ten.
    assert_eq!(&statuses[..9], &[401; 9]);
    assert_eq!(&statuses[9..], &[429; 3]);
    server.stop().await;
}
