//! `/api/setup`, `/api/login`, `/api/logout`, `/api/me`.

use std::net::IpAddr;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::bootstrap::{self, CreateError};
use super::{AnyRole, Auth, Denied, Require, Via, password, session};
use crate::store::accounts::{self, LoginSource, NewSession};
use crate::store::timestamp;

type WebState = super::super::WebState;

/// Routes anyone may call: the first-start setup and the login.
pub(in crate::web) fn public_routes() -> Router<WebState> {
    Router::new()
        .route("/api/setup", get(setup_state).post(setup))
        .route("/api/login", post(login))
}

/// Routes behind the guard: the session itself and the account administration.
pub(in crate::web) fn protected_routes() -> Router<WebState> {
    Router::new()
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .merge(super::accounts_api::routes())
}

/// The client's address, when the server has connection info.
pub(super) struct ClientIp(pub(super) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(super::client_ip(&parts.extensions, &parts.headers)))
    }
}

async fn setup_state(State(auth): State<Auth>) -> Result<Json<serde_json::Value>, Denied> {
    Ok(Json(
        serde_json::json!({ "required": !auth.is_set_up().await? }),
    ))
}

#[derive(Deserialize)]
struct SetupRequest {
    username: String,
    password: String,
    #[serde(default)]
    display_name: String,
}

/// Create the first administrator; refused once one exists.
async fn setup(
    State(auth): State<Auth>,
    Json(body): Json<SetupRequest>,
) -> Result<Response, Denied> {
    if auth.is_set_up().await? {
        return Err(Denied::new(
            StatusCode::CONFLICT,
            CreateError::AlreadySetUp.to_string(),
        ));
    }
    let account = bootstrap::create_admin(
        auth.store(),
        &body.username,
        &body.display_name,
        &body.password,
        true,
        "setup",
    )
    .await
    .map_err(|e| match e {
        CreateError::Rules(m) => Denied::new(StatusCode::BAD_REQUEST, m),
        e @ CreateError::AlreadySetUp => Denied::new(StatusCode::CONFLICT, e.to_string()),
        CreateError::Store(e) => e.into(),
    })?;
    tracing::info!(username = %account.username, "administrator created by first-start setup");
    Ok((StatusCode::CREATED, Json(account)).into_response())
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

fn wrong_password() -> Denied {
    Denied::new(StatusCode::UNAUTHORIZED, "wrong username or password")
}

fn locked(until: &str) -> Denied {
    let wait = chrono::DateTime::parse_from_rfc3339(until).map_or(60, |t| {
        (t.to_utc() - chrono::Utc::now()).num_seconds().max(1)
    });
    Denied::new(
        StatusCode::LOCKED,
        format!(
            "too many wrong passwords: this account is locked until {until} (UTC); \
             an administrator can unlock it by resetting the password"
        ),
    )
    .with("locked_until", until)
    .retry_after(wait as u64)
}

/// Log in: on success a session cookie, and the CSRF token and role in the body.
async fn login(
    State(auth): State<Auth>,
    ClientIp(ip): ClientIp,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<Response, Denied> {
    if let Err(wait) = auth.login_attempt(ip) {
        crate::metrics::record_login("rate_limited");
        return Err(Denied::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many login attempts from this address; try again in {wait} s"),
        )
        .retry_after(wait));
    }
    if !auth.is_set_up().await? {
        return Err(Denied::setup_required());
    }
    let source = LoginSource {
        ip: ip.map(|i| i.to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(200).collect()),
    };
    let username = body.username.trim().to_owned();
    let key = username.clone();
    let found = auth
        .store()
        .reader
        .read(move |c| accounts::by_username(c, &key))
        .await?;
    let refuse = |reason: &'static str, source: LoginSource| {
        let (store, username) = (auth.store().clone(), username.clone());
        crate::metrics::record_login(reason);
        async move {
            store
                .writer
                .write(move |tx| accounts::record_refused_login(tx, &username, reason, &source))
                .await
        }
    };
    let Some((account, phc)) = found else {
        let pw = body.password;
        auth.hashing(move || password::verify_decoy(&pw)).await?;
        refuse("unknown_account", source).await?;
        return Err(wrong_password());
    };
    let now = chrono::Utc::now();
    if let Some(until) = account.locked_until.clone().filter(|u| *u > timestamp(now)) {
        refuse("locked", source).await?;
        return Err(locked(&until));
    }
    let pw = body.password;
    if !auth.hashing(move || password::verify(&pw, &phc)).await? {
        crate::metrics::record_login("wrong_password");
        let who = account.clone();
        let locked_now = auth
            .store()
            .writer
            .write(move |tx| accounts::record_failed_login(tx, &who, now, &source))
            .await?;
        if let Some(until) = locked_now {
            tracing::warn!(username = %account.username, %until, "account locked after wrong passwords");
            return Err(locked(&until));
        }
        return Err(wrong_password());
    }
    if account.disabled {
        refuse("disabled", source).await?;
        return Err(Denied::new(
            StatusCode::FORBIDDEN,
            "this account is disabled; ask an administrator",
        ));
    }
    let token = session::new_token();
    let new = NewSession {
        token_sha256: session::token_sha256(&token),
        account_id: account.id,
        csrf_token: session::new_token(),
        created_at: now,
        expires_at: now + session::MAX_AGE,
        source,
    };
    let body = serde_json::json!({
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role,
        "csrf": new.csrf_token,
        "expires_at": timestamp(new.expires_at),
        "idle_timeout_s": session::IDLE_TIMEOUT.num_seconds(),
    });
    let who = account.clone();
    auth.store()
        .writer
        .write(move |tx| accounts::record_login(tx, &who, &new, now - session::IDLE_TIMEOUT))
        .await?;
    crate::metrics::record_login("ok");
    tracing::info!(username = %account.username, role = %account.role, "logged in");
    let cookie = session::set_cookie(&token, session::over_tls(&uri, &headers));
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// End this session and make the browser forget its cookie.
async fn logout(
    State(auth): State<Auth>,
    Require(who, ..): Require<AnyRole>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Denied> {
    if let Via::Session { token_sha256, .. } = who.via {
        let actor = who.actor.clone();
        auth.store()
            .writer
            .write(move |tx| accounts::end_session(tx, &token_sha256, Some(&actor)))
            .await?;
        tracing::info!(username = %who.actor, "logged out");
    }
    let cookie = session::clear_cookie(session::over_tls(&uri, &headers));
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(serde_json::json!({ "logged_out": true })),
    )
        .into_response())
}

/// Who is logged in, with the session's CSRF token (for a console page that reloaded).
async fn me(Require(who, ..): Require<AnyRole>) -> Json<serde_json::Value> {
    let (via, csrf) = match &who.via {
        Via::Session { csrf, .. } => ("session", Some(csrf.clone())),
        Via::Bearer => ("bearer", None),
    };
    Json(serde_json::json!({
        "username": who.actor,
        "display_name": who.display_name,
        "role": who.role,
        "via": via,
        "csrf": csrf,
    }))
}
