//! Passwords: a person changes their own, wrong current passwords count toward the
//! lockout, and an administrator's reset ends that person's sessions.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::support::{ADMIN, Server, password_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_changes_their_own_password_and_their_other_sessions_end() {
    let (server, admin) = Server::start().await;
    admin.create_account("viewer.chen", "viewer").await;
    let old = password_of("viewer.chen");
    let screen = server.login("viewer.chen", &old).await;
    let laptop = server.login("viewer.chen", &old).await;
    let change = |current: &str, new: &str| json!({ "current": current, "new": new });

    // Bad input: refused with the reason, nothing changed, nobody logged out.
    for (body, expect) in [
        (change(&old, "short"), "at least 10"),
        (change(&old, "viewer.chen"), "username"),
        (change(&old, &old), "current one"),
    ] {
        let (status, answer) = screen.post("/api/me/password", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(expect), "{error}");
    }
    let (status, _) = screen
        .post("/api/me/password", json!({ "current": old }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no new password");
    let (status, body) = screen
        .post(
            "/api/me/password",
            change("not-my-password", "viewer-new-pass-1"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("current password is wrong"),
        "{body}"
    );
    let no_csrf = screen
        .http
        .post(format!("{}/api/me/password", server.base))
        .json(&change(&old, "viewer-new-pass-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_csrf.status(),
        StatusCode::FORBIDDEN,
        "the CSRF token is needed"
    );
    assert_eq!(
        laptop.get("/api/me").await.0,
        StatusCode::OK,
        "nothing changed yet"
    );

    let (status, body) = screen
        .post("/api/me/password", change(&old, "viewer-new-pass-1"))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a viewer changes their own password: {body}"
    );
    assert_eq!(body["other_sessions_ended"], 1);
    assert_eq!(body["account"]["username"], "viewer.chen");
    assert_eq!(
        screen.get("/api/me").await.0,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        laptop.get("/api/me").await.0,
        StatusCode::UNAUTHORIZED,
        "the other ends"
    );
    assert_eq!(
        server.try_login("viewer.chen", &old).await.0,
        StatusCode::UNAUTHORIZED
    );
    server.login("viewer.chen", "viewer-new-pass-1").await;
    let actions: Vec<(String, String)> = server
        .audit_of("viewer.chen")
        .into_iter()
        .filter(|(_, action)| action.starts_with("password_"))
        .collect();
    let own = |a: &str| ("viewer.chen".to_owned(), a.to_owned());
    assert_eq!(
        actions,
        [own("password_change_failed"), own("password_change")]
    );
    let details = server.query("SELECT detail FROM audit_log");
    assert!(
        details.iter().all(|r| {
            let d = r[0].as_str().unwrap_or_default();
            !d.contains("viewer-new-pass-1") && !d.contains(&old) && !d.contains("argon2")
        }),
        "no password nor hash in the audit log"
    );
    server.assert_chain_intact();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_current_passwords_slow_down_like_wrong_logins() {
    let (server, admin) = Server::start().await;
    admin.create_account("op.zhao", "operator").await;
    let pw = password_of("op.zhao");
    let op = server.login("op.zhao", &pw).await;
    for i in 1..=2 {
        let (status, _) = server.try_login("op.zhao", "wrong-password-x").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "login {i}");
    }
    let change = json!({ "current": "wrong-password-y", "new": "op-zhao-new-pass-1" });
    let (status, _) = op.post("/api/me/password", change.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the third wrong password");
    let (status, body) = op.post("/api/me/password", change).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "then a delay: {body}"
    );
    assert!(body["retry_after_s"].is_u64(), "{body}");
    let right = json!({ "current": pw, "new": "op-zhao-new-pass-1" });
    let (status, _) = op.post("/api/me/password", right).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the right password waits too"
    );
    assert_eq!(
        server.try_login("op.zhao", &pw).await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "a login of the name from this address waits as well"
    );

    // An administrator's reset ends its sessions and the delays of its name.
    let (status, body) = admin
        .post(
            "/api/accounts/op.zhao/password",
            json!({ "password": "op-zhao-reset-pass-1" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["locked_until"], Value::Null);
    assert_eq!(op.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
    server.login("op.zhao", "op-zhao-reset-pass-1").await;

    let actions: Vec<String> = server
        .audit_of("op.zhao")
        .into_iter()
        .map(|(_, action)| action)
        .collect();
    assert_eq!(
        actions,
        [
            "account_create",
            "login",
            "login_failed",
            "login_failed",
            "password_change_failed",
            "account_reset_password",
            "login",
        ]
    );
    server.assert_chain_intact();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_resets_a_password_and_that_persons_sessions_end() {
    let (server, admin) = Server::start().await;
    admin.create_account("officer.he", "officer").await;
    let officer = server.login("officer.he", &password_of("officer.he")).await;
    let reset = |password: &str| json!({ "password": password });

    let (status, body) = admin
        .post("/api/accounts/officer.he/password", reset("short"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("at least 10"),
        "{body}"
    );
    let (status, _) = admin
        .post(
            "/api/accounts/nobody.here/password",
            reset("nobody-pass-123"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        officer.get("/api/me").await.0,
        StatusCode::OK,
        "nothing changed yet"
    );

    let (status, body) = admin
        .post(
            "/api/accounts/officer.he/password",
            reset("officer-he-reset-1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["username"], "officer.he");
    assert_eq!(officer.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        server
            .try_login("officer.he", &password_of("officer.he"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    server.login("officer.he", "officer-he-reset-1").await;
    assert_eq!(
        admin.get("/api/me").await.0,
        StatusCode::OK,
        "the administrator stays"
    );
    let resets = server
        .query("SELECT actor, subject FROM audit_log WHERE action = 'account_reset_password'");
    assert_eq!(
        resets,
        vec![vec![json!(ADMIN), json!("account:officer.he")]]
    );
    server.stop().await;
}
