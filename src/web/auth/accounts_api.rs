//! Account administration (administrators only): list, create, disable, enable, reset
//! a password. Every change is audited by the store with the administrator as the actor.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::{Admins, Auth, Denied, Require, Role, password};
use crate::store::accounts::{self, Account, NewAccount};

pub(super) fn routes() -> Router<super::super::WebState> {
    Router::new()
        .route("/api/accounts", get(list).post(create))
        .route("/api/accounts/{id}/disable", post(disable))
        .route("/api/accounts/{id}/enable", post(enable))
        .route("/api/accounts/{id}/reset-password", post(reset_password))
}

async fn list(State(auth): State<Auth>, _: Require<Admins>) -> Result<Json<Vec<Account>>, Denied> {
    Ok(Json(auth.store().reader.read(accounts::list).await?))
}

#[derive(Deserialize)]
struct CreateRequest {
    username: String,
    #[serde(default)]
    display_name: String,
    /// viewer, operator, officer or admin.
    role: String,
    password: String,
}

async fn hash_checked(auth: &Auth, username: &str, pw: String) -> Result<String, Denied> {
    password::check_password(username, &pw).map_err(|m| Denied::new(StatusCode::BAD_REQUEST, m))?;
    auth.hashing(move || password::hash(&pw))
        .await?
        .map_err(|m| Denied::new(StatusCode::INTERNAL_SERVER_ERROR, m))
}

async fn create(
    State(auth): State<Auth>,
    Require(admin, ..): Require<Admins>,
    Json(body): Json<CreateRequest>,
) -> Result<Response, Denied> {
    let username = body.username.trim().to_owned();
    password::check_username(&username).map_err(|m| Denied::new(StatusCode::BAD_REQUEST, m))?;
    let role = Role::parse(body.role.trim()).ok_or_else(|| {
        Denied::new(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown role {:?}: viewer, operator, officer or admin",
                body.role
            ),
        )
    })?;
    let password_hash = hash_checked(&auth, &username, body.password).await?;
    let new = NewAccount {
        username,
        display_name: body.display_name,
        role,
        password_hash,
    };
    let account = auth
        .store()
        .writer
        .write(move |tx| accounts::create(tx, &new, &admin.actor))
        .await?;
    tracing::info!(username = %account.username, role = %account.role, "account created");
    Ok((StatusCode::CREATED, Json(account)).into_response())
}

async fn set_disabled(
    auth: &Auth,
    admin: String,
    id: i64,
    disabled: bool,
) -> Result<Json<Account>, Denied> {
    let account = auth
        .store()
        .writer
        .write(move |tx| accounts::set_disabled(tx, id, disabled, &admin))
        .await?;
    tracing::info!(username = %account.username, disabled, "account changed");
    Ok(Json(account))
}

async fn disable(
    State(auth): State<Auth>,
    Require(admin, ..): Require<Admins>,
    Path(id): Path<i64>,
) -> Result<Json<Account>, Denied> {
    set_disabled(&auth, admin.actor, id, true).await
}

async fn enable(
    State(auth): State<Auth>,
    Require(admin, ..): Require<Admins>,
    Path(id): Path<i64>,
) -> Result<Json<Account>, Denied> {
    set_disabled(&auth, admin.actor, id, false).await
}

#[derive(Deserialize)]
struct ResetRequest {
    password: String,
}

/// A new password; clears a lock and ends the account's sessions.
async fn reset_password(
    State(auth): State<Auth>,
    Require(admin, ..): Require<Admins>,
    Path(id): Path<i64>,
    Json(body): Json<ResetRequest>,
) -> Result<Json<Account>, Denied> {
    let account = auth
        .store()
        .reader
        .read(move |c| accounts::by_id(c, id))
        .await?
        .ok_or_else(|| Denied::new(StatusCode::NOT_FOUND, format!("no account {id}")))?;
    let password_hash = hash_checked(&auth, &account.username, body.password).await?;
    let account = auth
        .store()
        .writer
        .write(move |tx| accounts::set_password(tx, id, &password_hash, &admin.actor))
        .await?;
    tracing::info!(username = %account.username, "password reset");
    Ok(Json(account))
}
