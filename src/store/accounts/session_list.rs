//! Sessions as an administrator sees them: every live one with where it logged in from,
//! and revoking one at once by its handle (audited). The handle is random and unrelated to
//! the token, so a listing gives nobody a way into a session.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::super::{StoreError, append_audit, now};
use super::Role;

/// A live session, with its token's hash for the web layer (which never shows it).
#[derive(Debug, Clone)]
pub struct LiveSession {
    /// What it is listed and revoked by.
    pub handle: String,
    /// SHA-256 of its token: the key its live-update streams are counted under.
    pub token_sha256: String,
    /// The account's id.
    pub account_id: i64,
    /// Login name.
    pub username: String,
    /// The account's role.
    pub role: Role,
    /// The address the login came from, when known.
    pub source_ip: Option<String>,
    /// Login (UTC).
    pub created_at: String,
    /// Last request (UTC), to the minute.
    pub last_seen: String,
    /// Absolute end (UTC).
    pub expires_at: String,
    /// The browser's User-Agent at login, shortened.
    pub user_agent: Option<String>,
}

/// Sessions not expired at `now` nor idle since before `idle_cutoff`, newest first; only
/// `account_id`'s when given.
pub fn live_sessions(
    conn: &Connection,
    now: &str,
    idle_cutoff: &str,
    account_id: Option<i64>,
) -> Result<Vec<LiveSession>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.handle, s.token_sha256, a.id, a.username, a.role, s.source_ip, s.created_at,
                s.last_seen, s.expires_at, s.user_agent
         FROM sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.expires_at > ?1 AND s.last_seen >= ?2 AND a.disabled = 0
           AND (?3 IS NULL OR a.id = ?3)
         ORDER BY s.created_at DESC, s.handle",
    )?;
    let rows = stmt.query_map(params![now, idle_cutoff, account_id], |r| {
        let role: String = r.get(4)?;
        Ok(LiveSession {
            handle: r.get(0)?,
            token_sha256: r.get(1)?,
            account_id: r.get(2)?,
            username: r.get(3)?,
            role: Role::parse(&role).unwrap_or(Role::Viewer),
            source_ip: r.get(5)?,
            created_at: r.get(6)?,
            last_seen: r.get(7)?,
            expires_at: r.get(8)?,
            user_agent: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A revoked session: whose it was and its token's hash (to close its streams).
#[derive(Debug, Clone)]
pub struct Revoked {
    /// SHA-256 of its token.
    pub token_sha256: String,
    /// Its account's login name.
    pub username: String,
}

/// End the session `handle` at once, audited as `session_revoked` by `actor`; `None` when
/// there is none (or, with `only_account`, it is another account's).
pub fn revoke_session(
    tx: &Transaction<'_>,
    handle: &str,
    actor: &str,
    only_account: Option<i64>,
) -> Result<Option<Revoked>, StoreError> {
    let found: Option<(String, String, Option<String>)> = tx
        .prepare_cached(
            "SELECT s.token_sha256, a.username, s.source_ip
             FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.handle = ?1 AND (?2 IS NULL OR a.id = ?2)",
        )?
        .query_row(params![handle, only_account], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((token_sha256, username, source_ip)) = found else {
        return Ok(None);
    };
    tx.prepare_cached("DELETE FROM sessions WHERE token_sha256 = ?1")?
        .execute([&token_sha256])?;
    append_audit(
        tx,
        &now(),
        actor,
        "session_revoked",
        &format!("account:{username}"),
        &serde_json::json!({ "session": handle, "source_ip": source_ip }),
    )?;
    Ok(Some(Revoked {
        token_sha256,
        username,
    }))
}
