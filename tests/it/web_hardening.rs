//! The console server as an intruder meets it, over real sockets: every error is the
//! documented JSON (the framework's own refusals too), out-of-range values are refused,
//! every response carries the security headers, `X-Forwarded-For` counts only from a
//! configured proxy, first-start setup from another host needs the one-time code, the data
//! directory is owner-only, and `check-config` refuses what an intruder would use.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use customs_edge::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::web_auth::{Server, anon, start};

/// A controller with `web_extra` appended to its `[web]` table.
async fn start_with(web_extra: &str) -> Server {
    let data = tempfile::tempdir().unwrap();
    let text = format!(
        "[site]\ncode = \"3511W001\"\n[storage]\ndata_dir = {:?}\n{}[web]\nlisten = \"127.0.0.1:0\"\n{web_extra}\n",
        data.path().join("data").display().to_string(),
        crate::common::NO_DISK_LEVELS,
    );
    let config = customs_edge::config::parse(&text, Path::new("hardening.toml")).unwrap();
    let store = Store::open(&data.path().join("data")).unwrap();
    let shutdown = CancellationToken::new();
    let running = customs_edge::daemon::start(config, store, shutdown.clone())
        .await
        .unwrap();
    let base = format!("http://{}", running.web_addr);
    Server {
        running,
        shutdown,
        data,
        base,
    }
}

/// Assert `res` is an error of the documented shape with `status`; returns its body.
async fn json_error(res: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status, "{:?}", res.url().path());
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_json_with_a_code_and_limits_are_refused_not_clamped() {
    let server = start().await;
    let admin = server.set_up().await;
    let base = &server.base;
    let http = &admin.http;
    let csrf = admin.csrf.clone();
    let post = |path: &str| {
        http.post(format!("{base}{path}"))
            .header("x-csrf-token", csrf.clone())
    };
    // Bodies: not JSON, no Content-Type, JSON of the wrong shape, too large.
    let res = post("/api/accounts")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_error(res, StatusCode::BAD_REQUEST).await["code"],
        "bad_request"
    );
    let res = post("/api/accounts").body("{}").send().await.unwrap();
    let body = json_error(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(body["code"], "unsupported_media_type");
    let res = post("/api/accounts")
        .json(&json!({ "username": 7 }))
        .send()
        .await
        .unwrap();
    json_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let huge = "x".repeat(70 * 1024);
    let res = post("/api/accounts")
        .json(&json!({ "username": "op.big", "role": "viewer", "password": huge }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_error(res, StatusCode::PAYLOAD_TOO_LARGE).await["code"],
        "payload_too_large"
    );
    // Lengths the schema states are refused with the field named.
    let res = post("/api/accounts")
        .json(&json!({ "username": "op.long", "role": "viewer", "password": "x".repeat(257) }))
        .send()
        .await
        .unwrap();
    json_error(res, StatusCode::BAD_REQUEST).await;
    assert!(
        server
            .query("SELECT id FROM accounts WHERE username IN ('op.big', 'op.long')")
            .is_empty()
    );
    // Path and query values that do not parse; out-of-range limits.
    let long_q = format!("/api/parcels/search?q={}", "W".repeat(81));
    for path in [
        "/api/parcels/not-a-number",
        "/api/parcels?limit=x",
        "/api/parcels?limit=0",
        "/api/parcels?limit=501",
        "/api/gates/passes?limit=0",
        "/api/parcels/search?limit=501",
        long_q.as_str(),
    ] {
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        let body = json_error(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["code"], "bad_request", "{path}: {body}");
    }
    let res = http
        .get(format!("{base}/api/parcels?limit=500"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "500 is in range");
    // Unknown routes and methods, an unknown bearer token.
    let res = http
        .get(format!("{base}/api/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_error(res, StatusCode::NOT_FOUND).await["code"],
        "not_found"
    );
    let res = http
        .delete(format!("{base}/api/site"))
        .header("x-csrf-token", admin.csrf.clone())
        .send()
        .await
        .unwrap();
    json_error(res, StatusCode::METHOD_NOT_ALLOWED).await;
    let res = anon()
        .get(format!("{base}/api/site"))
        .bearer_auth("nobody's token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_error(res, StatusCode::FORBIDDEN).await["code"],
        "forbidden"
    );
    let res = anon().get(format!("{base}/api/site")).send().await.unwrap();
    assert_eq!(
        json_error(res, StatusCode::UNAUTHORIZED).await["code"],
        "login_required"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_states_every_status_and_limit_the_server_enforces() {
    let server = start().await;
    let doc: Value = anon()
        .get(format!("{}/api/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let error = &doc["components"]["schemas"]["ErrorBody"];
    let required: Vec<&str> = error["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        required.contains(&"error") && required.contains(&"code"),
        "{error}"
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let has = |s: &str| responses.contains_key(s);
            if op.get("security").is_some() {
                for s in ["401", "403", "409", "503"] {
                    assert!(has(s), "{method} {path} documents {s}");
                }
            }
            if op.get("parameters").is_some() || op.get("requestBody").is_some() {
                assert!(has("400"), "{method} {path} documents 400");
            }
            if op.get("requestBody").is_some() {
                for s in ["413", "415", "422"] {
                    assert!(has(s), "{method} {path} documents {s}");
                }
            }
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        r["content"]["application/json"].is_object(),
                        "{method} {path} {status} is JSON"
                    );
                }
            }
        }
    }
    let limit = doc["paths"]["/api/gates/passes"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 500);
    let create = &doc["components"]["schemas"]["CreateRequest"]["properties"];
    assert_eq!(create["username"]["maxLength"], 64);
    assert!(create["username"]["pattern"].is_string());
    assert_eq!(create["password"]["minLength"], 10);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let server = start().await;
    let base = &server.base;
    for path in [
        "/",
        "/js/main.js",
        "/style.css",
        "/no-such-file",
        "/healthz",
        "/api/openapi.json",
        "/api/site",
        "/api/setup",
        "/metrics",
    ] {
        let res = anon().get(format!("{base}{path}")).send().await.unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
    // The page itself has no inline script or style the policy would block.
    let page = anon()
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("<script>") && !page.contains(" style="),
        "inline script or style in index.html"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_from_another_host_needs_the_setup_code_and_forwarding_counts_only_from_the_proxy()
 {
    let server = start_with("trusted_proxies = [\"127.0.0.1\"]").await;
    let data = server.data.path().join("data");
    let code_file = data.join("setup-code");
    // The code is written (owner-only) once the controller sees no administrator.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !code_file.exists() {
        assert!(std::time::Instant::now() < deadline, "no setup-code file");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mode = std::fs::metadata(&code_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let code = std::fs::read_to_string(&code_file).unwrap();
    let setup = |from: &'static str, local: [u8; 4], code: Option<String>| {
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(local))
            .build()
            .unwrap();
        let mut body = json!({ "username": "site.admin", "password": "admin-password-3511" });
        if let Some(code) = code {
            body["setup_code"] = code.into();
        }
        client
            .post(format!("{}/api/setup", server.base))
            .header("x-forwarded-for", from)
            .json(&body)
            .send()
    };
    // Through the proxy from another host: no code, a wrong code.
    let res = setup("192.0.2.7", [127, 0, 0, 1], None).await.unwrap();
    let body = json_error(res, StatusCode::FORBIDDEN).await;
    assert_eq!(body["code"], "setup_code_required");
    let res = setup("192.0.2.7", [127, 0, 0, 1], Some("0000-0000-0000".into()))
        .await
        .unwrap();
    json_error(res, StatusCode::FORBIDDEN).await;
    assert!(
        crate::common::query_db(&data, "SELECT id FROM accounts").is_empty(),
        "nobody set up"
    );
    // A loopback caller that is not the proxy cannot claim to be another host… nor need
    // to: its header is ignored and it is local. With the code, from another host, it works.
    let res = setup("192.0.2.7", [127, 0, 0, 1], Some(code))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(!code_file.exists(), "the code is retired");
    // The data directory and the database are owner-only.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("customs-edge.db")), 0o600);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_client_not_configured_as_proxy_cannot_forge_its_address() {
    let server = start().await; // no trusted proxies
    // Claims to be another host: ignored, it is the loopback peer, so setup needs no code.
    let res = anon()
        .post(format!("{}/api/setup", server.base))
        .header("x-forwarded-for", "192.0.2.7")
        .json(&json!({ "username": "site.admin", "password": "admin-password-3511" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    server.stop().await;
}

fn problems(text: &str) -> String {
    match customs_edge::config::parse(text, Path::new("check.toml")) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn check_config_refuses_what_an_intruder_would_use() {
    let dir = tempfile::tempdir().unwrap();
    let base = format!(
        "[site]\ncode = \"3511W001\"\n[storage]\ndata_dir = {:?}\n",
        dir.path().display().to_string()
    );
    assert_eq!(problems(&base), "", "the base is valid");
    // sha256("test"): a token anyone would try first.
    let test_token = format!(
        "{base}[[operators]]\nname = \"zhang.wei\"\ntoken_sha256 = \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\n"
    );
    let p = problems(&test_token);
    assert!(
        p.contains("operators[0].token_sha256") && p.contains("\"test\""),
        "{p}"
    );
    let clear = format!(
        "{base}[platform]\nbroker = \"mqtt://10.0.0.9:1883\"\nusername_env = \"U\"\npassword_env = \"P\"\n"
    );
    let p = problems(&clear);
    assert!(
        p.contains("platform.broker") && p.contains("clear text"),
        "{p}"
    );
    let open = format!("{base}[web]\nlisten = \"0.0.0.0:8080\"\n");
    let p = problems(&open);
    assert!(
        p.contains("web.listen") && p.contains("trusted_proxies"),
        "{p}"
    );
    let proxied =
        format!("{base}[web]\nlisten = \"0.0.0.0:8080\"\ntrusted_proxies = [\"10.0.0.1\"]\n");
    assert_eq!(problems(&proxied), "");
    let unwritable = "[site]\ncode = \"3511W001\"\n[storage]\ndata_dir = \"/proc/customs-edge\"\n";
    let p = problems(unwritable);
    assert!(
        p.contains("storage.data_dir") && p.contains("cannot be written"),
        "{p}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_holds_a_bounded_number_of_live_streams() {
    let server = start().await;
    let admin = server.set_up().await;
    let url = format!("{}/api/events", server.base);
    let mut streams = Vec::new();
    for i in 0..8 {
        let res = admin.http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "stream {i}");
        streams.push(res);
    }
    let res = admin.http.get(&url).send().await.unwrap();
    let body = json_error(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["code"], "too_many_requests");
    // Another session is not held up by this one.
    let other = crate::web_auth::Session::login(
        &server.base,
        crate::web_auth::ADMIN,
        crate::web_auth::ADMIN_PW,
    )
    .await;
    assert_eq!(
        other.http.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    // A closed stream gives its place back (noticed at the latest at the next keep-alive).
    drop(streams.pop());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    loop {
        let res = admin.http.get(&url).send().await.unwrap();
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the place never came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    server.stop().await;
}
