//! Accounts, their roles, failed logins and lockout, and login sessions.
//!
//! Passwords arrive here already hashed (argon2id PHC strings, made off the writer thread
//! by `web::auth::password`); session tokens arrive as their SHA-256. Every change to an
//! account, every login, failed login, lock and logout is appended to the audit log in the
//! same transaction as the change itself. Here: the accounts themselves; `changes` (role,
//! disable, passwords), `failures` (wrong passwords, lockout) and `sessions` hold the rest.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

mod changes;
mod failures;
mod session_list;
mod sessions;

pub use changes::{OwnPassword, change_own_password, set_disabled, set_password, set_role};
pub use failures::{record_failed_login, record_refused_login, record_wrong_current_password};
pub use session_list::{LiveSession, Revoked, live_sessions, revoke_session};
pub use sessions::{NewSession, SessionRecord, end_session, record_login, session, touch_session};

use super::{StoreError, append_audit};

/// What an account may do. Roles are not ranked: each route names the roles it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything, changes nothing (the big screen).
    Viewer,
    /// Runs the line and the gates; overrides with a reason.
    Operator,
    /// Customs: judges X-ray images, flags parcels, records inspections.
    Officer,
    /// Manages accounts and settings.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Self::Viewer, Self::Operator, Self::Officer, Self::Admin];

    /// Name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Officer => "officer",
            Self::Admin => "admin",
        }
    }

    /// The role with this name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account as the API shows it (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Account {
    /// Record id.
    pub id: i64,
    /// Login name, unique regardless of case.
    pub username: String,
    /// Name shown on the consoles (may be Chinese).
    pub display_name: String,
    /// What the account may do.
    pub role: Role,
    /// When it was created (UTC).
    pub created_at: String,
    /// A disabled account cannot log in and has no sessions.
    pub disabled: bool,
    /// Wrong passwords since the last login or lock.
    pub failed_logins: u32,
    /// No login before this time (UTC), when locked.
    pub locked_until: Option<String>,
}

const ACCOUNT_COLUMNS: &str = "a.id, a.username, a.display_name, a.role, a.created_at, a.disabled, a.failed_logins, a.locked_until";

fn account_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    let role: String = r.get(3)?;
    Ok(Account {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        // The schema's CHECK admits only the four names.
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        created_at: r.get(4)?,
        disabled: r.get(5)?,
        failed_logins: r.get(6)?,
        locked_until: r.get(7)?,
    })
}

/// A new account, its password already hashed.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Login name.
    pub username: String,
    /// Name shown on the consoles; the username when empty.
    pub display_name: String,
    /// Its role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// Whether an enabled administrator exists (the site is set up).
pub fn admin_exists(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE role = 'admin' AND disabled = 0)",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Create an account on behalf of `actor`; audited. A taken username is `Invalid`.
pub fn create(tx: &Transaction<'_>, new: &NewAccount, actor: &str) -> Result<Account, StoreError> {
    if by_username(tx, &new.username)?.is_some() {
        return Err(StoreError::Invalid(format!(
            "the username {:?} is taken",
            new.username
        )));
    }
    let at = super::now();
    let display = if new.display_name.trim().is_empty() {
        new.username.as_str()
    } else {
        new.display_name.trim()
    };
    tx.prepare_cached(
        "INSERT INTO accounts (username, display_name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![new.username, display, new.role.as_str(), new.password_hash, at])?;
    let id = tx.last_insert_rowid();
    append_audit(
        tx,
        &at,
        actor,
        "account_create",
        &format!("account:{}", new.username),
        &serde_json::json!({ "id": id, "role": new.role, "display_name": display }),
    )?;
    by_id(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("account {id}")))
}

/// Create the first administrator; `None` when an administrator exists already.
///
/// The check and the insert are one transaction on the single writer, so two setups racing
/// each other create one administrator.
pub fn create_first_admin(
    tx: &Transaction<'_>,
    new: &NewAccount,
    actor: &str,
) -> Result<Option<Account>, StoreError> {
    if admin_exists(tx)? {
        return Ok(None);
    }
    let new = NewAccount {
        role: Role::Admin,
        ..new.clone()
    };
    create(tx, &new, actor).map(Some)
}

/// The account with this id.
pub fn by_id(conn: &Connection, id: i64) -> Result<Option<Account>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ?1"
        ))?
        .query_row([id], account_row)
        .optional()?)
}

/// The account with this username (any case) and its password hash.
pub fn by_username(
    conn: &Connection,
    username: &str,
) -> Result<Option<(Account, String)>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS}, a.password_hash FROM accounts a WHERE a.username = ?1"
        ))?
        .query_row([username], |r| Ok((account_row(r)?, r.get(8)?)))
        .optional()?)
}

/// Where a login attempt came from, for the audit log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoginSource {
    /// The client's address, when known.
    pub ip: Option<String>,
    /// Its User-Agent, shortened.
    pub user_agent: Option<String>,
}

/// Every account, by username.
pub fn list(conn: &Connection) -> Result<Vec<Account>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.username"
    ))?;
    let rows = stmt.query_map([], account_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;
