//! `POST /api/me/password`: a logged-in person changes their own password.
//!
//! The current password is asked for again (a session left open on a shared console must
//! not be enough to take the account over); a wrong one counts toward the lockout like a
//! wrong password at a login. The new password follows the rules of setup. The session
//! that asked stays logged in; every other session of the account ends.

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::routes::{ClientIp, login_source};
use super::{AnyRole, Auth, BadJson, Denied, ErrorBody, NotLoggedIn, Require, Via, password};
use crate::store::accounts::{self, Account, OwnPassword};

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Auth: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(change_own_password))
}

/// A change of one's own password.
#[derive(Deserialize, ToSchema)]
pub(super) struct OwnPasswordRequest {
    /// The password now.
    #[schema(format = Password, max_length = 256)]
    current: String,
    /// The new password: at least 10 characters, at most 256 characters, not the username, not
    /// the current password.
    #[schema(format = Password, min_length = 10, max_length = 256)]
    new: String,
}

/// A password, changed.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct PasswordChanged {
    /// The account after the change.
    account: Account,
    /// How many other sessions of the account ended (this one stays).
    other_sessions_ended: usize,
}

/// Change your own password; your other sessions end, this one stays.
#[utoipa::path(
    post,
    path = "/api/me/password",
    tag = "auth",
    security(("session" = [])),
    request_body = OwnPasswordRequest,
    responses(
        (status = 200, description = "Changed; every other session of the account ended", body = PasswordChanged),
        (status = 400, description = "The new password breaks a rule (too short, too long, \
            the username, the current one)", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "The current password is wrong (counts toward the \
            lockout), the CSRF token is missing or wrong, or the request came with an \
            operator's bearer token, which has no password", body = ErrorBody),
        (status = 409, description = "The password was changed meanwhile (by an \
            administrator's reset): log in again", body = ErrorBody),
        (status = 429, description = "Wrong current passwords from this address: wait \
            (`Retry-After`), like a login", body = ErrorBody),
        BadJson,
    )
)]
async fn change_own_password(
    State(auth): State<Auth>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Require(who, ..): Require<AnyRole>,
    Json(body): Json<OwnPasswordRequest>,
) -> Result<Json<PasswordChanged>, Denied> {
    let Via::Session {
        account_id,
        token_sha256,
        ..
    } = who.via
    else {
        return Err(Denied::new(
            StatusCode::FORBIDDEN,
            "an operator's API token has no password to change: it is set in the config's \
             [[operators]]",
        ));
    };
    let username = who.actor.clone();
    let (account, phc) = auth
        .store()
        .reader
        .read(move |c| accounts::by_username(c, &username))
        .await?
        .filter(|(a, _)| a.id == account_id)
        .ok_or_else(|| {
            Denied::new(
                StatusCode::UNAUTHORIZED,
                "your session has ended; log in again",
            )
        })?;
    let now = chrono::Utc::now();
    let throttle_key = super::throttle::key(&account.username, ip);
    if let Err(wait) = auth.throttled(&throttle_key) {
        return Err(super::routes::slowed(wait));
    }
    password::check_password(&account.username, &body.new)
        .map_err(|m| Denied::new(StatusCode::BAD_REQUEST, format!("the new password: {m}")))?;
    if body.new == body.current {
        return Err(Denied::new(
            StatusCode::BAD_REQUEST,
            "the new password is the current one: choose another",
        ));
    }
    let current = body.current;
    let verified_hash = phc.clone();
    if !auth
        .hashing(move || password::verify(&current, &phc))
        .await?
    {
        let (who, source) = (account.clone(), login_source(ip, &headers));
        auth.store()
            .writer
            .write(move |tx| accounts::record_wrong_current_password(tx, &who, now, &source))
            .await?;
        auth.wrong_password(throttle_key);
        return Err(Denied::new(
            StatusCode::FORBIDDEN,
            "the current password is wrong",
        ));
    }
    let new = body.new;
    let new_hash = auth
        .hashing(move || password::hash(&new))
        .await?
        .map_err(|m| Denied::new(StatusCode::INTERNAL_SERVER_ERROR, m))?;
    let keep = token_sha256.clone();
    let (account, ended) = auth
        .store()
        .writer
        .write(move |tx| {
            accounts::change_own_password(
                tx,
                &OwnPassword {
                    account_id,
                    verified_hash: &verified_hash,
                    new_hash: &new_hash,
                    session_sha256: &token_sha256,
                },
            )
        })
        .await?;
    auth.streams().close_account_except(account.id, &keep);
    tracing::info!(username = %account.username, other_sessions_ended = ended, "password changed by its owner");
    Ok(Json(PasswordChanged {
        account,
        other_sessions_ended: ended,
    }))
}
