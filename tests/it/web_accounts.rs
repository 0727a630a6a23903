//! Account management through the real server: an administrator changes roles, disables,
//! enables and resets accounts by username; the last administrator stays; every person
//! changes their own password; other roles manage nothing; every change is in the audit
//! log, whose chain stays intact.

use crate::common;
mod passwords;
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{ADMIN, Server, password_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_changes_a_role_and_the_session_follows_it_at_once() {
    let (server, admin) = Server::start().await;
    admin.create_account("op.zhang", "operator").await;
    let op = server.login("op.zhang", &password_of("op.zhang")).await;
    assert_eq!(op.get("/api/accounts").await.0, StatusCode::FORBIDDEN);

    let (status, body) = admin.set_role("OP.ZHANG", "admin").await;
    assert_eq!(status, StatusCode::OK, "any case names the account: {body}");
    assert_eq!(body["username"], "op.zhang");
    assert_eq!(body["role"], "admin");
    assert_eq!(
        op.get("/api/accounts").await.0,
        StatusCode::OK,
        "the open session has the new role from its next request"
    );
    let (status, body) = admin.set_role("op.zhang", "viewer").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, me) = op.get("/api/me").await;
    assert_eq!(
        (status, me["role"].clone()),
        (StatusCode::OK, json!("viewer"))
    );
    let (status, _) = op.post("/api/accounts/op.zhang/enable", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer now");

    // Bad input: a clear error, nothing changed.
    let (status, body) = admin.set_role("op.zhang", "boss").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("unknown role"),
        "{body}"
    );
    let (status, body) = admin.set_role("nobody.here", "officer").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["error"].as_str().unwrap().contains("nobody.here"),
        "{body}"
    );
    let (status, _) = admin
        .put("/api/accounts/op.zhang/role", json!({ "rank": "admin" }))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a body without its role"
    );
    // The role it has already: answered, not audited.
    assert_eq!(admin.set_role("op.zhang", "viewer").await.0, StatusCode::OK);

    let role = server.query("SELECT role FROM accounts WHERE username = 'op.zhang'");
    assert_eq!(role, vec![vec![json!("viewer")]]);
    let changes = server
        .query("SELECT actor, detail FROM audit_log WHERE action = 'account_role' ORDER BY id");
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0][0], ADMIN);
    let first: Value = serde_json::from_str(changes[0][1].as_str().unwrap()).unwrap();
    assert_eq!(
        (first["from"].clone(), first["to"].clone()),
        (json!("operator"), json!("admin"))
    );
    server.assert_chain_intact();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_administrator_stays_and_no_administrator_demotes_or_disables_themself() {
    let (server, admin) = Server::start().await;
    // Alone: neither a new role nor disabling.
    for (status, body) in [
        admin.set_role(ADMIN, "operator").await,
        admin
            .post(&format!("/api/accounts/{ADMIN}/disable"), json!({}))
            .await,
    ] {
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("last enabled administrator"), "{error}");
    }
    // With a second administrator: still not themself.
    admin.create_account("admin.two", "admin").await;
    let (status, body) = admin.set_role(ADMIN, "officer").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"].as_str().unwrap().contains("own role"),
        "{body}"
    );
    let (status, body) = admin
        .post(&format!("/api/accounts/{ADMIN}/disable"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"].as_str().unwrap().contains("own account"),
        "{body}"
    );
    // Another administrator may; the demoted one loses the accounts page at once.
    let two = server.login("admin.two", &password_of("admin.two")).await;
    let (status, body) = two.set_role(ADMIN, "operator").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(admin.get("/api/accounts").await.0, StatusCode::FORBIDDEN);
    let (status, body) = two.set_role("admin.two", "viewer").await;
    assert_eq!(status, StatusCode::CONFLICT, "admin.two is the last now");
    assert!(
        body["error"].as_str().unwrap().contains("admin.two"),
        "{body}"
    );
    let admins =
        server.query("SELECT username FROM accounts WHERE role = 'admin' AND disabled = 0");
    assert_eq!(admins, vec![vec![json!("admin.two")]]);
    // Refusals change nothing and are not audited as changes.
    let actions: Vec<String> = server
        .audit_of(ADMIN)
        .into_iter()
        .map(|(_, action)| action)
        .filter(|a| a.starts_with("account_"))
        .collect();
    assert_eq!(actions, ["account_create", "account_role"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_administrators_disabling_each_other_at_once_leave_one() {
    let (server, admin) = Server::start().await;
    admin.create_account("admin.two", "admin").await;
    let two = server.login("admin.two", &password_of("admin.two")).await;
    let disable_admin = format!("/api/accounts/{ADMIN}/disable");
    let (a, b) = tokio::join!(
        admin.post("/api/accounts/admin.two/disable", json!({})),
        two.post(&disable_admin, json!({})),
    );
    let statuses = [a.0, b.0];
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "exactly one wins: {a:?} {b:?}"
    );
    assert!(
        statuses.iter().all(|s| [
            StatusCode::OK,
            StatusCode::CONFLICT,
            StatusCode::UNAUTHORIZED
        ]
        .contains(s)),
        "the other is refused: ended session or last administrator: {a:?} {b:?}"
    );
    let admins =
        server.query("SELECT count(*) FROM accounts WHERE role = 'admin' AND disabled = 0");
    assert_eq!(admins, vec![vec![json!(1)]]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_an_account_ends_its_sessions_and_enabling_lets_it_back_in() {
    let (server, admin) = Server::start().await;
    admin.create_account("officer.li", "officer").await;
    let pw = password_of("officer.li");
    let desk = server.login("officer.li", &pw).await;
    let tablet = server.login("officer.li", &pw).await;
    assert_eq!(desk.get("/api/me").await.0, StatusCode::OK);

    let (status, body) = admin
        .post("/api/accounts/officer.li/disable", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["disabled"], true);
    for session in [&desk, &tablet] {
        let (status, body) = session.get("/api/me").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["login_required"], true);
    }
    assert!(
        server
            .query("SELECT 1 FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE a.username = 'officer.li'")
            .is_empty(),
        "no session of a disabled account is kept"
    );
    let (status, _) = server.try_login("officer.li", &pw).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a disabled account cannot log in"
    );
    let (status, _) = admin
        .post("/api/accounts/nobody.here/disable", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = admin
        .post("/api/accounts/officer.li/enable", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["disabled"], false);
    let back = server.login("officer.li", &pw).await;
    assert_eq!(back.get("/api/me").await.0, StatusCode::OK);

    let actions: Vec<(String, String)> = server
        .audit_of("officer.li")
        .into_iter()
        .filter(|(_, action)| action.starts_with("account_"))
        .collect();
    let admin_did = |a: &str| (ADMIN.to_owned(), a.to_owned());
    assert_eq!(
        actions,
        [
            admin_did("account_create"),
            admin_did("account_disable"),
            admin_did("account_enable")
        ]
    );
    let detail = server.query(
        "SELECT detail FROM audit_log WHERE action = 'account_disable' AND subject = 'account:officer.li'",
    );
    let detail: Value = serde_json::from_str(detail[0][0].as_str().unwrap()).unwrap();
    assert_eq!(detail["sessions_ended"], 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_operators_and_officers_manage_no_account() {
    let (server, admin) = Server::start().await;
    admin.create_account("target.wu", "operator").await;
    let mut others = Vec::new();
    for (name, role) in [
        ("viewer.chen", "viewer"),
        ("op.zhang", "operator"),
        ("officer.li", "officer"),
    ] {
        admin.create_account(name, role).await;
        others.push((name, server.login(name, &password_of(name)).await));
    }
    let before = server.query("SELECT * FROM accounts ORDER BY id");
    let audit_before = server.query("SELECT count(*) FROM audit_log WHERE action LIKE 'account_%'");
    for (name, session) in &others {
        let calls = [
            session.get("/api/accounts").await,
            session
                .post(
                    "/api/accounts",
                    json!({ "username": "x.new", "role": "admin", "password": "x-new-password-1" }),
                )
                .await,
            session.set_role("target.wu", "admin").await,
            session.set_role(name, "admin").await,
            session
                .post("/api/accounts/target.wu/disable", json!({}))
                .await,
            session
                .post("/api/accounts/target.wu/enable", json!({}))
                .await,
            session
                .post(
                    "/api/accounts/target.wu/password",
                    json!({ "password": "taken-over-pass-1" }),
                )
                .await,
        ];
        for (i, (status, body)) in calls.iter().enumerate() {
            assert_eq!(*status, StatusCode::FORBIDDEN, "{name}, call {i}: {body}");
            assert!(body["error"].is_string(), "{name}, call {i}: {body}");
        }
    }
    assert_eq!(server.query("SELECT * FROM accounts ORDER BY id"), before);
    assert_eq!(
        server.query("SELECT count(*) FROM audit_log WHERE action LIKE 'account_%'"),
        audit_before
    );
    server.stop().await;
}
