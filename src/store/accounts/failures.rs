//! Wrong passwords: at a login, and when a logged-in person gets their current password
//! wrong while changing it. Both are counted on the account (`failed_logins`, shown to
//! administrators) and audited. Nothing here locks an account: a lock anyone can trigger
//! locks the staff out (`web::auth::throttle` slows the guesser instead).

use chrono::{DateTime, Utc};
use rusqlite::Transaction;

use super::super::{StoreError, append_audit, now, timestamp};
use super::{Account, LoginSource};

/// Count a wrong password against `account` at `now`; returns the count since the last
/// right one.
pub fn record_failed_login(
    tx: &Transaction<'_>,
    account: &Account,
    now: DateTime<Utc>,
    source: &LoginSource,
) -> Result<u32, StoreError> {
    // Whoever typed the wrong password is not known to be the account's owner.
    count_failure(
        tx,
        account,
        now,
        "anonymous",
        "login_failed",
        source,
        "wrong password",
    )
}

/// Count a wrong current password given by `account`'s own session while changing it,
/// like a wrong password at a login; audited with the account as the actor.
pub fn record_wrong_current_password(
    tx: &Transaction<'_>,
    account: &Account,
    now: DateTime<Utc>,
    source: &LoginSource,
) -> Result<u32, StoreError> {
    count_failure(
        tx,
        account,
        now,
        &account.username,
        "password_change_failed",
        source,
        "wrong current password",
    )
}

fn count_failure(
    tx: &Transaction<'_>,
    account: &Account,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    source: &LoginSource,
    reason: &str,
) -> Result<u32, StoreError> {
    let failures: u32 = tx
        .prepare_cached(
            "UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = ?1 RETURNING failed_logins",
        )?
        .query_row([account.id], |r| r.get(0))?;
    let at = timestamp(now);
    let subject = format!("account:{}", account.username);
    append_audit(
        tx,
        &at,
        actor,
        action,
        &subject,
        &serde_json::json!({ "reason": reason, "failures": failures, "source": source }),
    )?;
    Ok(failures)
}

/// Audit an attempt that was refused before any password was checked: an unknown
/// username, a locked or a disabled account.
pub fn record_refused_login(
    tx: &Transaction<'_>,
    username: &str,
    reason: &str,
    source: &LoginSource,
) -> Result<(), StoreError> {
    let name: String = username.chars().take(64).collect();
    append_audit(
        tx,
        &now(),
        "anonymous",
        "login_failed",
        &format!("account:{name}"),
        &serde_json::json!({ "reason": reason, "source": source }),
    )?;
    Ok(())
}
