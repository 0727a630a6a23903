//! `/api/setup`, `/api/login`, `/api/logout`, `/api/me`, `/api/me/password`.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::bootstrap::{self, CreateError};
use super::{
    AnyRole, Auth, BadJson, Denied, ErrorBody, NotLoggedIn, Require, Role, Via, password, session,
};
use crate::store::accounts::{self, Account, LoginSource, NewSession};
use crate::store::timestamp;

/// Routes anyone may call: the first-start setup and the login.
pub(in crate::web) fn public_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(setup_state, setup))
        .routes(routes!(login))
}

/// Routes behind the guard: the session itself, the own password and the account
/// administration.
pub(in crate::web) fn protected_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(me))
        .merge(super::own_password::routes())
        .merge(super::accounts_api::routes())
        .merge(super::sessions_api::routes())
}

/// The client's address, when the server has connection info.
pub(super) struct ClientIp(pub(super) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(super::client_ip(&parts.extensions, &parts.headers)))
    }
}

/// Whether the request came over TLS: served here, or through a proxy that says so.
pub(super) struct OverTls(pub(super) bool);

impl<S: Send + Sync> FromRequestParts<S> for OverTls {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<crate::listen::tls::ServedOverTls>()
                .is_some()
                || session::over_tls(&parts.uri, &parts.headers),
        ))
    }
}

/// Whether the first administrator still has to be created.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SetupState {
    /// True until an administrator exists: the console then shows the setup form.
    required: bool,
}

/// Whether the first administrator still has to be created.
#[utoipa::path(
    get,
    path = "/api/setup",
    tag = "auth",
    responses(
        (status = 200, description = "Whether setup is required", body = SetupState),
        (status = 503, description = "The store is not available", body = ErrorBody),
    )
)]
async fn setup_state(State(auth): State<Auth>) -> Result<Json<SetupState>, Denied> {
    Ok(Json(SetupState {
        required: !auth.is_set_up().await?,
    }))
}

/// The first administrator.
#[derive(Deserialize, ToSchema)]
pub(super) struct SetupRequest {
    /// Login name: 2–64 ASCII letters, digits, `.`, `_`, `-`, `@`.
    #[schema(min_length = 2, max_length = 64, pattern = "^[A-Za-z0-9._@-]{2,64}$")]
    username: String,
    /// At least 10 characters, at most 256, not the username.
    #[schema(format = Password, min_length = 10, max_length = 256)]
    password: String,
    /// Name shown on the consoles (may be Chinese); the username when empty.
    #[serde(default)]
    #[schema(max_length = 64)]
    display_name: String,
    /// The one-time setup code from the controller's log (or `setup-code` in its data
    /// directory); needed unless the request comes from the controller's own host.
    #[serde(default)]
    #[schema(max_length = 32)]
    setup_code: Option<String>,
}

/// Create the first administrator; refused once one exists.
#[utoipa::path(
    post,
    path = "/api/setup",
    tag = "auth",
    request_body = SetupRequest,
    responses(
        (status = 201, description = "The administrator, created", body = Account),
        (status = 400, description = "The username or password breaks a rule", body = ErrorBody),
        (status = 403, description = "From another host without the right one-time setup \
            code (`code` `setup_code_required`)", body = ErrorBody),
        (status = 409, description = "An administrator exists already", body = ErrorBody),
        BadJson,
    )
)]
async fn setup(
    State(auth): State<Auth>,
    ClientIp(ip): ClientIp,
    Json(body): Json<SetupRequest>,
) -> Result<Response, Denied> {
    if auth.is_set_up().await? {
        return Err(Denied::new(
            StatusCode::CONFLICT,
            CreateError::AlreadySetUp.to_string(),
        ));
    }
    let local = ip.is_some_and(|ip| ip.is_loopback());
    if !local {
        let code = body.setup_code.as_deref().unwrap_or_default();
        crate::web::errors::text_len("setup_code", code, 0, 32)?;
        if !auth.setup_code_matches(code) {
            tracing::warn!(client = ?ip, "first-start setup refused: no or a wrong setup code");
            return Err(Denied::new(
                StatusCode::FORBIDDEN,
                "from another host, the first-start setup needs the one-time setup code the \
                 controller wrote to its log and to setup-code in its data directory",
            )
            .with("code", "setup_code_required"));
        }
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
    super::setup_code::retire(auth.store());
    tracing::info!(username = %account.username, "administrator created by first-start setup");
    Ok((StatusCode::CREATED, Json(account)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub(super) struct LoginRequest {
    /// Login name (any case).
    #[schema(max_length = 64)]
    username: String,
    #[schema(format = Password, max_length = 256)]
    password: String,
}

/// A session, started: the cookie `ce_session` is set, the rest is here.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct LoginResponse {
    /// Login name.
    username: String,
    /// Name shown on the consoles.
    display_name: String,
    /// What the account may do.
    role: Role,
    /// The session's CSRF token: send it as `X-CSRF-Token` with every change.
    csrf: String,
    /// The session ends at this time (UTC) however active.
    expires_at: String,
    /// The session ends after this many seconds without a request.
    idle_timeout_s: i64,
}

fn wrong_password() -> Denied {
    Denied::new(StatusCode::UNAUTHORIZED, "wrong username or password")
}

/// Where a request came from, for the audit log.
pub(super) fn login_source(ip: Option<IpAddr>, headers: &HeaderMap) -> LoginSource {
    LoginSource {
        ip: ip.map(|i| i.to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(200).collect()),
    }
}

/// 429 while a name waits at an address after wrong passwords (the same for any name).
pub(super) fn slowed(wait: u64) -> Denied {
    Denied::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many wrong passwords for this name from this address; try again in {wait} s"),
    )
    .retry_after(wait)
}

/// Log in: on success a session cookie, and the CSRF token and role in the body.
#[utoipa::path(
    post,
    path = "/api/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; `Set-Cookie: ce_session=…` (HttpOnly, \
            SameSite=Strict, Secure behind TLS)", body = LoginResponse),
        (status = 401, description = "Wrong username or password (the same answer for both)", body = ErrorBody),
        (status = 403, description = "The account is disabled", body = ErrorBody),
        (status = 409, description = "No administrator is set up yet", body = ErrorBody),
        (status = 429, description = "Too many login attempts from this address, or wrong \
            passwords for this name from this address (the delay doubles with each; the same \
            for names that exist and names that do not); see `Retry-After`", body = ErrorBody),
        BadJson,
    )
)]
async fn login(
    State(auth): State<Auth>,
    ClientIp(ip): ClientIp,
    OverTls(tls): OverTls,
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
    crate::web::errors::text_len("username", &body.username, 0, password::MAX_USERNAME_CHARS)?;
    crate::web::errors::text_len("password", &body.password, 0, password::MAX_PASSWORD_CHARS)?;
    if !auth.is_set_up().await? {
        return Err(Denied::setup_required());
    }
    let throttle_key = super::throttle::key(&body.username, ip);
    if let Err(wait) = auth.throttled(&throttle_key) {
        crate::metrics::record_login("slowed");
        return Err(slowed(wait));
    }
    let source = login_source(ip, &headers);
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
        auth.wrong_password(throttle_key);
        return Err(wrong_password());
    };
    let now = chrono::Utc::now();
    let pw = body.password;
    if !auth.hashing(move || password::verify(&pw, &phc)).await? {
        crate::metrics::record_login("wrong_password");
        let who = account.clone();
        auth.store()
            .writer
            .write(move |tx| accounts::record_failed_login(tx, &who, now, &source))
            .await?;
        auth.wrong_password(throttle_key);
        return Err(wrong_password());
    }
    auth.right_password(&throttle_key);
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
        handle: session::new_handle(),
        account_id: account.id,
        csrf_token: session::new_token(),
        created_at: now,
        expires_at: now + session::MAX_AGE,
        source,
    };
    let body = LoginResponse {
        username: account.username.clone(),
        display_name: account.display_name.clone(),
        role: account.role,
        csrf: new.csrf_token.clone(),
        expires_at: timestamp(new.expires_at),
        idle_timeout_s: session::IDLE_TIMEOUT.num_seconds(),
    };
    let who = account.clone();
    auth.store()
        .writer
        .write(move |tx| accounts::record_login(tx, &who, &new, now - session::IDLE_TIMEOUT))
        .await?;
    crate::metrics::record_login("ok");
    tracing::info!(username = %account.username, role = %account.role, "logged in");
    let cookie = session::set_cookie(&token, tls);
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// What a logout answers.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct LoggedOut {
    /// Always true.
    logged_out: bool,
}

/// End this session and make the browser forget its cookie.
#[utoipa::path(
    post,
    path = "/api/logout",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The session ended (a bearer token has none to end)", body = LoggedOut),
        NotLoggedIn,
        (status = 403, description = "The CSRF token is missing or wrong", body = ErrorBody),
    )
)]
async fn logout(
    State(auth): State<Auth>,
    Require(who, ..): Require<AnyRole>,
    OverTls(tls): OverTls,
) -> Result<Response, Denied> {
    if let Via::Session { token_sha256, .. } = who.via {
        let (actor, key) = (who.actor.clone(), token_sha256.clone());
        auth.store()
            .writer
            .write(move |tx| accounts::end_session(tx, &key, Some(&actor)))
            .await?;
        auth.streams().close(&token_sha256);
        tracing::info!(username = %who.actor, "logged out");
    }
    let cookie = session::clear_cookie(tls);
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(LoggedOut { logged_out: true }),
    )
        .into_response())
}

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum ViaName {
    /// A login session (the `ce_session` cookie).
    Session,
    /// An operator's bearer token from the config.
    Bearer,
}

/// Who is asking.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Me {
    /// Login name (or the operator's name, for a bearer token).
    username: String,
    /// Name shown on the consoles.
    display_name: String,
    /// What they may do.
    role: Role,
    /// How the request proved it.
    via: ViaName,
    /// The session's CSRF token; null for a bearer token.
    csrf: Option<String>,
}

/// Who is logged in, with the session's CSRF token (for a console page that reloaded).
#[utoipa::path(
    get,
    path = "/api/me",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Who is asking", body = Me),
        NotLoggedIn,
    )
)]
async fn me(Require(who, ..): Require<AnyRole>) -> Json<Me> {
    let (via, csrf) = match &who.via {
        Via::Session { csrf, .. } => (ViaName::Session, Some(csrf.clone())),
        Via::Bearer => (ViaName::Bearer, None),
    };
    Json(Me {
        username: who.actor,
        display_name: who.display_name,
        role: who.role,
        via,
        csrf,
    })
}
