//! The first administrator: created once, from the environment at start, from
//! `POST /api/setup`, or by `customs-edge accounts create-admin`.
//!
//! There is no default password anywhere: until an administrator exists the API answers
//! "set up the administrator first".

use crate::store::accounts::{self, Account, NewAccount, Role};
use crate::store::{Store, StoreError};

/// The administrator's username, for unattended installs.
pub const ENV_USER: &str = "CUSTOMS_EDGE_ADMIN_USER";
/// The administrator's password, for unattended installs.
pub const ENV_PASSWORD: &str = "CUSTOMS_EDGE_ADMIN_PASSWORD";
/// A file holding the administrator's password (a container secret), instead of
/// [`ENV_PASSWORD`].
pub const ENV_PASSWORD_FILE: &str = "CUSTOMS_EDGE_ADMIN_PASSWORD_FILE";

/// Why an administrator was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The username or password breaks a rule.
    #[error("{0}")]
    Rules(String),
    /// An administrator exists already and only the first was asked for.
    #[error("the administrator is set up already; log in instead")]
    AlreadySetUp,
    /// The store refused (a taken username is `StoreError::Invalid`).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Check the rules, hash the password off the async threads, and create an administrator
/// on behalf of `actor`. With `first_only`, refuse when any enabled administrator exists.
pub async fn create_admin(
    store: &Store,
    username: &str,
    display_name: &str,
    password: &str,
    first_only: bool,
    actor: &str,
) -> Result<Account, CreateError> {
    let username = username.to_owned();
    super::password::check_username(&username).map_err(CreateError::Rules)?;
    super::password::check_password(&username, password).map_err(CreateError::Rules)?;
    super::password::check_display_name(display_name).map_err(CreateError::Rules)?;
    let password = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || super::password::hash(&password))
        .await
        .map_err(|e| CreateError::Rules(e.to_string()))?
        .map_err(CreateError::Rules)?;
    let new = NewAccount {
        username,
        display_name: display_name.to_owned(),
        role: Role::Admin,
        password_hash,
    };
    let actor = actor.to_owned();
    let created = store
        .writer
        .write(move |tx| {
            if first_only {
                accounts::create_first_admin(tx, &new, &actor)
            } else {
                accounts::create(tx, &new, &actor).map(Some)
            }
        })
        .await?;
    created.ok_or(CreateError::AlreadySetUp)
}

/// The accounts `customs-edge demo` creates, one per role, named after it.
pub const DEMO_ACCOUNTS: [(&str, Role); 4] = [
    ("admin", Role::Admin),
    ("operator", Role::Operator),
    ("officer", Role::Officer),
    ("viewer", Role::Viewer),
];

/// For the demo only: one account per role ([`DEMO_ACCOUNTS`]) sharing `password`; on a
/// demo rerun with the same `--data` they get the new password.
pub async fn demo_accounts(store: &Store, password: &str) -> Result<(), CreateError> {
    super::password::check_password("viewer", password).map_err(CreateError::Rules)?;
    let pw = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || super::password::hash(&pw))
        .await
        .map_err(|e| CreateError::Rules(e.to_string()))?
        .map_err(CreateError::Rules)?;
    store
        .writer
        .write(move |tx| {
            for (username, role) in DEMO_ACCOUNTS {
                if let Some((existing, _)) = accounts::by_username(tx, username)? {
                    accounts::set_password(tx, existing.id, &password_hash, "demo")?;
                } else {
                    let new = NewAccount {
                        username: username.to_owned(),
                        display_name: String::new(),
                        role,
                        password_hash: password_hash.clone(),
                    };
                    accounts::create(tx, &new, "demo")?;
                }
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// The password from [`ENV_PASSWORD`] or the file named by [`ENV_PASSWORD_FILE`].
fn env_password() -> Result<Option<String>, String> {
    let direct = std::env::var(ENV_PASSWORD).ok().filter(|p| !p.is_empty());
    let file = std::env::var_os(ENV_PASSWORD_FILE).filter(|f| !f.is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => Err(format!(
            "set {ENV_PASSWORD} or {ENV_PASSWORD_FILE}, not both"
        )),
        (Some(p), None) => Ok(Some(p)),
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map(|s| Some(s.trim_end_matches(['\r', '\n']).to_owned()))
            .map_err(|e| format!("{ENV_PASSWORD_FILE}={}: {e}", path.to_string_lossy())),
        (None, None) => Ok(None),
    }
}

/// At start: create the first administrator from the environment when it names one and
/// none exists. Problems are logged (never the password); the API then asks for setup.
pub async fn from_env(store: &Store) {
    let Some(username) = std::env::var(ENV_USER)
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        return;
    };
    let password = match env_password() {
        Ok(Some(p)) => p,
        Ok(None) => {
            tracing::error!(
                "{ENV_USER} is set but neither {ENV_PASSWORD} nor {ENV_PASSWORD_FILE}; no administrator created"
            );
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "no administrator created from the environment");
            return;
        }
    };
    match create_admin(store, &username, "", &password, true, "environment").await {
        Ok(account) => {
            tracing::info!(username = %account.username, "administrator created from the environment");
        }
        Err(CreateError::AlreadySetUp) => {
            tracing::info!("an administrator exists; {ENV_USER} is ignored");
        }
        Err(e) => {
            tracing::error!(%username, error = %e, "no administrator created from the environment");
        }
    }
}
