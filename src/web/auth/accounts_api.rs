//! Account administration (administrators only): list, create, change a role, disable,
//! enable, reset a password. Accounts are named by their username in the path. Every
//! change is checked and audited by the store in the transaction that makes it, with the
//! administrator as the actor.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rusqlite::Transaction;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Admins, Auth, BadJson, Denied, ErrorBody, NotLoggedIn, Require, Role, password};
use crate::store::StoreError;
use crate::store::accounts::{self, Account, NewAccount};

#[allow(deprecated)] // the old reset route stays served, and documented as deprecated
pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(set_role))
        .routes(routes!(disable))
        .routes(routes!(enable))
        .routes(routes!(reset_password))
}

/// The account named `username` (any case), or `NotFound`.
fn named(tx: &Transaction<'_>, username: &str) -> Result<Account, StoreError> {
    accounts::by_username(tx, username)?
        .map(|(a, _)| a)
        .ok_or_else(|| StoreError::NotFound(format!("account {username:?}")))
}

/// A username in a path within the limit of any username (400 beyond).
fn path_name(username: &str) -> Result<(), Denied> {
    crate::web::errors::text_len("username", username, 0, password::MAX_USERNAME_CHARS)
}

fn parse_role(role: &str) -> Result<Role, Denied> {
    Role::parse(role.trim()).ok_or_else(|| {
        Denied::new(
            StatusCode::BAD_REQUEST,
            format!("unknown role {role:?}: viewer, operator, officer or admin"),
        )
    })
}

/// Every account, by username.
#[utoipa::path(
    get,
    path = "/api/accounts",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Every account, by username", body = Vec<Account>),
        NotLoggedIn,
        (status = 403, description = "Not an administrator", body = ErrorBody),
    )
)]
async fn list(State(auth): State<Auth>, _: Require<Admins>) -> Result<Json<Vec<Account>>, Denied> {
    Ok(Json(auth.store().reader.read(accounts::list).await?))
}

/// A new account.
#[derive(Deserialize, ToSchema)]
pub(super) struct CreateRequest {
    /// Login name: 2–64 ASCII letters, digits, `.`, `_`, `-`, `@`; unique in any case.
    #[schema(min_length = 2, max_length = 64, pattern = "^[A-Za-z0-9._@-]{2,64}$")]
    username: String,
    /// Name shown on the consoles (may be Chinese); the username when empty.
    #[serde(default)]
    #[schema(max_length = 64)]
    display_name: String,
    /// What the account may do.
    #[schema(value_type = Role)]
    role: String,
    /// At least 10 characters, at most 256, not the username.
    #[schema(format = Password, min_length = 10, max_length = 256)]
    password: String,
}

async fn hash_checked(auth: &Auth, username: &str, pw: String) -> Result<String, Denied> {
    password::check_password(username, &pw).map_err(|m| Denied::new(StatusCode::BAD_REQUEST, m))?;
    auth.hashing(move || password::hash(&pw))
        .await?
        .map_err(|m| Denied::new(StatusCode::INTERNAL_SERVER_ERROR, m))
}

/// Create an account.
#[utoipa::path(
    post,
    path = "/api/accounts",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    request_body = CreateRequest,
    responses(
        (status = 201, description = "The account, created", body = Account),
        (status = 400, description = "The username, role or password breaks a rule", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "Not an administrator, or the CSRF token is missing or wrong", body = ErrorBody),
        (status = 409, description = "The username is taken", body = ErrorBody),
        BadJson,
    )
)]
async fn create(
    State(auth): State<Auth>,
    Require(admin, ..): Require<Admins>,
    Json(body): Json<CreateRequest>,
) -> Result<Response, Denied> {
    let username = body.username;
    password::check_username(&username).map_err(|m| Denied::new(StatusCode::BAD_REQUEST, m))?;
    password::check_display_name(&body.display_name)
        .map_err(|m| Denied::new(StatusCode::BAD_REQUEST, m))?;
    let role = parse_role(&body.role)?;
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

/// A new role.
#[derive(Deserialize, ToSchema)]
pub(super) struct RoleRequest {
    /// What the account may do from its next request on.
    #[schema(value_type = Role)]
    role: String,
}

/// Give an account another role; its sessions go on with the new role.
#[utoipa::path(
    put,
    path = "/api/accounts/{username}/role",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    params(("username" = String, Path, max_length = 64, description = "The account's login name (any case)")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "The account with its new role (unchanged and not \
            audited when it had that role already)", body = Account),
        (status = 400, description = "Unknown role", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "Not an administrator, or the CSRF token is missing or wrong", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 409, description = "Refused, with the reason: an administrator cannot \
            change their own role, and the last enabled administrator stays one", body = ErrorBody),
        BadJson,
    )
)]
async fn set_role(
    State(auth): State<Auth>,
    Require(admin, ..): Require<Admins>,
    Path(username): Path<String>,
    Json(body): Json<RoleRequest>,
) -> Result<Json<Account>, Denied> {
    path_name(&username)?;
    let role = parse_role(&body.role)?;
    let account = auth
        .store()
        .writer
        .write(move |tx| {
            let account = named(tx, &username)?;
            accounts::set_role(tx, account.id, role, &admin.actor)
        })
        .await?;
    tracing::info!(username = %account.username, role = %account.role, "role set");
    Ok(Json(account))
}

async fn set_disabled(
    auth: &Auth,
    admin: String,
    username: String,
    disabled: bool,
) -> Result<Json<Account>, Denied> {
    path_name(&username)?;
    let account = auth
        .store()
        .writer
        .write(move |tx| {
            let account = named(tx, &username)?;
            accounts::set_disabled(tx, account.id, disabled, &admin)
        })
        .await?;
    if disabled {
        auth.streams().close_account(account.id);
    }
    tracing::info!(username = %account.username, disabled, "account changed");
    Ok(Json(account))
}

/// Disable an account: it cannot log in, and its sessions end now.
#[utoipa::path(
    post,
    path = "/api/accounts/{username}/disable",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    params(("username" = String, Path, max_length = 64, description = "The account's login name (any case)")),
    responses(
        (status = 200, description = "The account, disabled; its sessions ended", body = Account),
        NotLoggedIn,
        (status = 403, description = "Not an administrator, or the CSRF token is missing or wrong", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 409, description = "Refused, with the reason: the last enabled \
            administrator cannot be disabled, nor can an administrator disable themself", body = ErrorBody),
    )
)]
async fn disable(
    State(auth): State<Auth>,
    Require(admin, ..): Require<Admins>,
    Path(username): Path<String>,
) -> Result<Json<Account>, Denied> {
    set_disabled(&auth, admin.actor, username, true).await
}

/// Enable a disabled account again (and clear a lock).
#[utoipa::path(
    post,
    path = "/api/accounts/{username}/enable",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    params(("username" = String, Path, max_length = 64, description = "The account's login name (any case)")),
    responses(
        (status = 200, description = "The account, enabled", body = Account),
        NotLoggedIn,
        (status = 403, description = "Not an administrator, or the CSRF token is missing or wrong", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
    )
)]
async fn enable(
    State(auth): State<Auth>,
    Require(admin, ..): Require<Admins>,
    Path(username): Path<String>,
) -> Result<Json<Account>, Denied> {
    set_disabled(&auth, admin.actor, username, false).await
}

/// A password set by an administrator.
#[derive(Deserialize, ToSchema)]
pub(super) struct ResetRequest {
    /// At least 10 characters, at most 256, not the username.
    #[schema(format = Password, min_length = 10, max_length = 256)]
    password: String,
}

async fn reset(
    auth: &Auth,
    admin: String,
    account: Option<Account>,
    missing: String,
    password: String,
) -> Result<Json<Account>, Denied> {
    let account = account.ok_or_else(|| Denied::new(StatusCode::NOT_FOUND, missing))?;
    let password_hash = hash_checked(auth, &account.username, password).await?;
    let account = auth
        .store()
        .writer
        .write(move |tx| accounts::set_password(tx, account.id, &password_hash, &admin))
        .await?;
    auth.password_reset(&account.username);
    auth.streams().close_account(account.id);
    tracing::info!(username = %account.username, "password reset");
    Ok(Json(account))
}

/// Set an account's password: ends the account's sessions and its wrong-password delays.
#[utoipa::path(
    post,
    path = "/api/accounts/{username}/password",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    params(("username" = String, Path, max_length = 64, description = "The account's login name (any case)")),
    request_body = ResetRequest,
    responses(
        (status = 200, description = "The account, unlocked; its sessions ended", body = Account),
        (status = 400, description = "The password breaks a rule", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "Not an administrator, or the CSRF token is missing or wrong", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        BadJson,
    )
)]
async fn reset_password(
    State(auth): State<Auth>,
    Require(admin, ..): Require<Admins>,
    Path(username): Path<String>,
    Json(body): Json<ResetRequest>,
) -> Result<Json<Account>, Denied> {
    path_name(&username)?;
    let name = username.clone();
    let account = auth
        .store()
        .reader
        .read(move |c| Ok(accounts::by_username(c, &name)?.map(|(a, _)| a)))
        .await?;
    let missing = format!("no account {username:?}");
    reset(&auth, admin.actor, account, missing, body.password).await
}
