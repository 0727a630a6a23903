//! The console's login for test sites: the first administrator set up as a person would,
//! and clients that send their session (and its CSRF token) with every request.

/// The administrator every test site is set up with.
pub const ADMIN_USER: &str = "site.admin";
/// Their password.
pub const ADMIN_PASSWORD: &str = "test-admin-password-3511";

/// Set up the controller at `web` the way a person does at first start (`POST
/// /api/setup`; a controller restarted on the same data is set up already), log in as its
/// administrator, and return a client that sends the session with every request.
pub async fn admin_client(web: std::net::SocketAddr) -> reqwest::Client {
    let res = reqwest::Client::new()
        .post(format!("http://{web}/api/setup"))
        .json(&serde_json::json!({ "username": ADMIN_USER, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("POST /api/setup");
    assert!(
        matches!(res.status().as_u16(), 201 | 409),
        "setup: {}",
        res.text().await.unwrap_or_default()
    );
    login_client(web, ADMIN_USER, ADMIN_PASSWORD).await
}

/// Log in at `web` and return a client that sends the session cookie and the CSRF token
/// with every request (to any host: the simulators ignore them).
pub async fn login_client(
    web: std::net::SocketAddr,
    username: &str,
    password: &str,
) -> reqwest::Client {
    let res = reqwest::Client::new()
        .post(format!("http://{web}/api/login"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("POST /api/login");
    assert_eq!(res.status(), 200, "login as {username}");
    let cookie = res
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let body: serde_json::Value = res.json().await.expect("login JSON");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        cookie.parse().expect("cookie header"),
    );
    headers.insert(
        "x-csrf-token",
        body["csrf"]
            .as_str()
            .expect("csrf")
            .parse()
            .expect("csrf header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}
