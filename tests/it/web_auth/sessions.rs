//! Sessions listed and revoked: an administrator sees every live session (never its
//! token) and ends one at once — its next request is 401 and its open live stream closes;
//! anyone else sees and ends only their own.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::{ADMIN, Session, start};

impl Session {
    async fn sessions(&self) -> Vec<Value> {
        let res = self
            .http
            .get(format!("{}/api/sessions", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Vec<Value>>().await.unwrap()
    }

    async fn revoke(&self, id: &str) -> (StatusCode, Value) {
        let res = self
            .http
            .delete(format!("{}/api/sessions/{id}", self.base))
            .header("x-csrf-token", &self.csrf)
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap_or_default())
    }
}

fn of<'a>(list: &'a [Value], account: &str) -> Vec<&'a Value> {
    list.iter().filter(|s| s["account"] == account).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_session_refuses_its_next_request_and_closes_its_live_stream() {
    let server = start().await;
    let admin = server.set_up().await;
    admin.create_account("op.li", "operator").await;
    let op = Session::login(&server.base, "op.li", "op.li-pass-2026").await;
    let mut stream = op
        .http
        .get(format!("{}/api/events", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);

    let listed = admin.sessions().await;
    let ops = of(&listed, "op.li");
    assert_eq!(ops.len(), 1, "{listed:?}");
    let s = ops[0];
    assert_eq!(s["role"], "operator");
    assert_eq!(s["source_ip"], "127.0.0.1");
    assert_eq!(s["live_streams"], 1, "{s}");
    assert_eq!(s["current"], false);
    for field in ["created_at", "last_seen", "expires_at"] {
        assert!(
            s[field].as_str().is_some_and(|t| t.ends_with('Z')),
            "{field}: {s}"
        );
    }
    let mine = of(&listed, ADMIN);
    assert!(mine.iter().any(|m| m["current"] == true), "{listed:?}");
    // The handle is not the token, nor the token's hash.
    let id = s["id"].as_str().unwrap().to_owned();
    let hashes = server.query("SELECT token_sha256 FROM sessions");
    let text = serde_json::to_string(&listed).unwrap();
    for h in hashes {
        let h = h[0].as_str().unwrap();
        assert!(
            !text.contains(h) && !h.contains(&id),
            "the listing leaks a token hash"
        );
    }

    let (status, body) = admin.revoke(&id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["account"], "op.li");
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.chunk().await {
                Ok(Some(_keep_alive)) => {}
                Ok(None) | Err(_) => return,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the revoked session's live stream is still open"
    );
    assert_eq!(op.get("/api/me").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        admin.get("/api/me").await,
        StatusCode::OK,
        "only that one ended"
    );
    assert!(of(&admin.sessions().await, "op.li").is_empty());
    let audit = server
        .query("SELECT actor, subject, detail FROM audit_log WHERE action = 'session_revoked'");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0][0], ADMIN);
    assert_eq!(audit[0][1], "account:op.li");
    assert!(audit[0][2].as_str().unwrap().contains(&id));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anyone_but_an_administrator_sees_and_ends_only_their_own_sessions() {
    let server = start().await;
    let admin = server.set_up().await;
    admin.create_account("op.li", "operator").await;
    admin.create_account("view.zhao", "viewer").await;
    let op = Session::login(&server.base, "op.li", "op.li-pass-2026").await;
    let op_again = Session::login(&server.base, "op.li", "op.li-pass-2026").await;
    let viewer = Session::login(&server.base, "view.zhao", "view.zhao-pass-2026").await;

    let seen = op.sessions().await;
    assert_eq!(seen.len(), 2, "their two sessions: {seen:?}");
    assert!(seen.iter().all(|s| s["account"] == "op.li"), "{seen:?}");
    let admins = of(&admin.sessions().await, ADMIN)
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(admins.len(), 1);
    let (status, _) = op.revoke(&admins[0]).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another account's session is not theirs"
    );
    assert_eq!(admin.get("/api/me").await, StatusCode::OK);

    let other = seen.iter().find(|s| s["current"] == false).unwrap();
    let (status, body) = op.revoke(other["id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(op_again.get("/api/me").await, StatusCode::UNAUTHORIZED);
    assert_eq!(op.get("/api/me").await, StatusCode::OK);

    // A viewer changes nothing else, but may end their own session.
    let own = viewer.sessions().await;
    assert_eq!(own.len(), 1);
    let (status, body) = viewer.revoke(own[0]["id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(viewer.get("/api/me").await, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_unknown_session_is_404_and_a_long_id_is_400() {
    let server = start().await;
    let admin = server.set_up().await;
    let (status, body) = admin.revoke("0123456789abcdef01234567").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "not_found", "{body}");
    let (status, body) = admin.revoke(&"a".repeat(65)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["parameter"], "id", "{body}");
    // Without the CSRF token, nothing is ended.
    let id = admin.sessions().await[0]["id"].as_str().unwrap().to_owned();
    let res = admin
        .http
        .delete(format!("{}/api/sessions/{id}", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(admin.get("/api/me").await, StatusCode::OK);
    server.stop().await;
}
