//! Login sessions: opened at a login (audited with the account's unlocking), looked up
//! by the token's SHA-256, touched as they are used, and ended at logout or when the
//! account is disabled or its password reset.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::super::{StoreError, append_audit, now, timestamp};
use super::{ACCOUNT_COLUMNS, Account, LoginSource, account_row};

/// A new login session: only the token's SHA-256 is stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the session token, hex.
    pub token_sha256: String,
    /// The handle the session is listed and revoked by: random, unrelated to the token.
    pub handle: String,
    /// The account logged in.
    pub account_id: i64,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// Start (UTC).
    pub created_at: DateTime<Utc>,
    /// Absolute end (UTC).
    pub expires_at: DateTime<Utc>,
    /// Where the login came from.
    pub source: LoginSource,
}

/// Record a successful login: clear the failures, start the session, drop sessions that
/// ended before `idle_cutoff` or their expiry; audited.
pub fn record_login(
    tx: &Transaction<'_>,
    account: &Account,
    session: &NewSession,
    idle_cutoff: DateTime<Utc>,
) -> Result<(), StoreError> {
    let at = timestamp(session.created_at);
    tx.prepare_cached("UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = ?1")?
        .execute([account.id])?;
    tx.prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen < ?2")?
        .execute(params![at, timestamp(idle_cutoff)])?;
    tx.prepare_cached(
        "INSERT INTO sessions (token_sha256, account_id, csrf_token, created_at, last_seen, expires_at, user_agent, handle, source_ip)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        session.token_sha256,
        session.account_id,
        session.csrf_token,
        at,
        timestamp(session.expires_at),
        session.source.user_agent,
        session.handle,
        session.source.ip,
    ])?;
    append_audit(
        tx,
        &at,
        &account.username,
        "login",
        &format!("account:{}", account.username),
        &serde_json::json!({ "role": account.role, "source": session.source }),
    )?;
    Ok(())
}

/// A stored session and its account.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The account it belongs to, as stored now: its role and whether it is disabled.
    pub account: Account,
    /// Its CSRF token.
    pub csrf_token: String,
    /// Last request (UTC), to the minute.
    pub last_seen: String,
    /// Absolute end (UTC).
    pub expires_at: String,
}

/// The session with this token hash, whatever its age (the caller judges expiry).
pub fn session(conn: &Connection, token_sha256: &str) -> Result<Option<SessionRecord>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS}, s.csrf_token, s.last_seen, s.expires_at
             FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_sha256 = ?1"
        ))?
        .query_row([token_sha256], |r| {
            Ok(SessionRecord {
                account: account_row(r)?,
                csrf_token: r.get(8)?,
                last_seen: r.get(9)?,
                expires_at: r.get(10)?,
            })
        })
        .optional()?)
}

/// Note activity on a session.
pub fn touch_session(tx: &Transaction<'_>, token_sha256: &str, at: &str) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE sessions SET last_seen = ?2 WHERE token_sha256 = ?1")?
        .execute(params![token_sha256, at])?;
    Ok(())
}

/// End one session (logout); audited when `actor` is given. Returns whether it existed.
pub fn end_session(
    tx: &Transaction<'_>,
    token_sha256: &str,
    actor: Option<&str>,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached("DELETE FROM sessions WHERE token_sha256 = ?1")?
        .execute([token_sha256])?;
    if let Some(actor) = actor.filter(|_| n > 0) {
        append_audit(
            tx,
            &now(),
            actor,
            "logout",
            &format!("account:{actor}"),
            &serde_json::json!({}),
        )?;
    }
    Ok(n > 0)
}

pub(super) fn end_all_sessions(tx: &Transaction<'_>, account_id: i64) -> Result<usize, StoreError> {
    Ok(tx
        .prepare_cached("DELETE FROM sessions WHERE account_id = ?1")?
        .execute([account_id])?)
}
