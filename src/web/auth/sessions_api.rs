//! `GET /api/sessions` and `DELETE /api/sessions/{id}`: who is logged in, from where, and
//! ending a session at once. An administrator sees and ends every session; anyone else
//! their own. A session is named by its handle, never its token; ending it refuses its
//! next request (401) and closes its open live-update streams. Audited as
//! `session_revoked`.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    AnyRole, Auth, Denied, ErrorBody, NotLoggedIn, Principal, Require, Role, Via, session,
};
use crate::store::accounts::{self, LiveSession};
use crate::store::timestamp;

/// The longest session handle taken in a path (they are 24 hex digits).
pub(super) const MAX_HANDLE_CHARS: usize = 64;

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(revoke))
}

/// A live login session as the console lists it.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SessionView {
    /// An opaque handle to end it by (not the session's token).
    id: String,
    /// Login name.
    account: String,
    /// The account's role.
    role: Role,
    /// The address the login came from (the client behind a trusted proxy), when known.
    source_ip: Option<String>,
    /// Login (UTC).
    created_at: String,
    /// Last request (UTC), to the minute.
    last_seen: String,
    /// It ends at this time (UTC) however active.
    expires_at: String,
    /// The browser's User-Agent at login, shortened.
    user_agent: Option<String>,
    /// Live-update streams it holds open now.
    live_streams: usize,
    /// Whether this is the session asking.
    current: bool,
}

/// Whose sessions `who` may see and end: every account's for an administrator, else their
/// own (an operator's bearer token has none).
fn scope(who: &Principal) -> Scope {
    match (&who.via, who.role) {
        (Via::Session { .. }, Role::Admin) => Scope::All,
        (Via::Session { account_id, .. }, _) => Scope::Account(*account_id),
        (Via::Bearer, _) => Scope::Nobody,
    }
}

enum Scope {
    All,
    Account(i64),
    Nobody,
}

/// Live sessions, newest first: every one for an administrator, one's own for anyone else.
#[utoipa::path(
    get,
    path = "/api/sessions",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Live sessions, newest first (an administrator sees \
            every account's; anyone else their own; an operator token none)", body = Vec<SessionView>),
        NotLoggedIn,
        (status = 503, description = "The store is not available", body = ErrorBody),
    )
)]
async fn list(
    State(auth): State<Auth>,
    Require(who, ..): Require<AnyRole>,
) -> Result<Json<Vec<SessionView>>, Denied> {
    let account = match scope(&who) {
        Scope::All => None,
        Scope::Account(id) => Some(id),
        Scope::Nobody => return Ok(Json(Vec::new())),
    };
    let now = chrono::Utc::now();
    let (at, idle_cutoff) = (timestamp(now), timestamp(now - session::IDLE_TIMEOUT));
    let found = auth
        .store()
        .reader
        .read(move |c| accounts::live_sessions(c, &at, &idle_cutoff, account))
        .await?;
    let mine = match &who.via {
        Via::Session { token_sha256, .. } => Some(token_sha256.as_str()),
        Via::Bearer => None,
    };
    Ok(Json(
        found.into_iter().map(|s| view(&auth, s, mine)).collect(),
    ))
}

fn view(auth: &Auth, s: LiveSession, mine: Option<&str>) -> SessionView {
    SessionView {
        live_streams: auth.streams().open(&s.token_sha256),
        current: mine == Some(s.token_sha256.as_str()),
        id: s.handle,
        account: s.username,
        role: s.role,
        source_ip: s.source_ip,
        created_at: s.created_at,
        last_seen: s.last_seen,
        expires_at: s.expires_at,
        user_agent: s.user_agent,
    }
}

/// What ending a session answers.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct RevokedView {
    /// The handle of the session ended.
    id: String,
    /// Whose it was.
    account: String,
}

/// End a session now: its next request is refused (401) and its live-update streams close.
#[utoipa::path(
    delete,
    path = "/api/sessions/{id}",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, max_length = 64, description = "The session's handle, from GET /api/sessions")),
    responses(
        (status = 200, description = "The session ended; audited as `session_revoked`", body = RevokedView),
        (status = 400, description = "The handle is longer than 64 characters", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "The CSRF token is missing or wrong", body = ErrorBody),
        (status = 404, description = "No such session (or, for anyone but an administrator, \
            not one of their own)", body = ErrorBody),
        (status = 503, description = "The store is not available", body = ErrorBody),
    )
)]
async fn revoke(
    State(auth): State<Auth>,
    Require(who, ..): Require<AnyRole>,
    Path(id): Path<String>,
) -> Result<Json<RevokedView>, Denied> {
    crate::web::errors::text_len("id", &id, 1, MAX_HANDLE_CHARS)?;
    let not_found = || Denied::new(StatusCode::NOT_FOUND, format!("no session {id:?}"));
    let only = match scope(&who) {
        Scope::All => None,
        Scope::Account(account) => Some(account),
        Scope::Nobody => return Err(not_found()),
    };
    let (handle, actor) = (id.clone(), who.actor.clone());
    let revoked = auth
        .store()
        .writer
        .write(move |tx| accounts::revoke_session(tx, &handle, &actor, only))
        .await?
        .ok_or_else(not_found)?;
    auth.streams().close(&revoked.token_sha256);
    tracing::info!(session = %id, account = %revoked.username, by = %who.actor, "session revoked");
    Ok(Json(RevokedView {
        id,
        account: revoked.username,
    }))
}
