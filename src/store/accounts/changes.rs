//! Changes to an existing account: its role, disabling and enabling it, a password reset
//! by an administrator and a person's change of their own password.
//!
//! Each change checks its rules inside the writer's transaction (so two administrators
//! racing each other cannot both remove "the other" last administrator), ends the sessions
//! it must, and is appended to the audit log in the same transaction.

use rusqlite::{OptionalExtension as _, Transaction, params};

use super::super::{StoreError, append_audit, now};
use super::{Account, Role, by_id, sessions};

fn must_exist(tx: &Transaction<'_>, id: i64) -> Result<Account, StoreError> {
    by_id(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("account {id}")))
}

fn subject(account: &Account) -> String {
    format!("account:{}", account.username)
}

fn is_self(account: &Account, actor: &str) -> bool {
    account.username.eq_ignore_ascii_case(actor)
}

/// Refuse a change that would take away the last enabled administrator (`change` says
/// what, for the message).
fn keep_an_admin(tx: &Transaction<'_>, account: &Account, change: &str) -> Result<(), StoreError> {
    if account.role != Role::Admin || account.disabled {
        return Ok(());
    }
    let admins: i64 = tx
        .prepare_cached("SELECT count(*) FROM accounts WHERE role = 'admin' AND disabled = 0")?
        .query_row([], |r| r.get(0))?;
    if admins <= 1 {
        return Err(StoreError::Invalid(format!(
            "{} is the last enabled administrator and cannot be {change}: \
             make another account an administrator first",
            account.username
        )));
    }
    Ok(())
}

/// Give account `id` the role `role` on behalf of `actor`; audited with the old and the
/// new role. An administrator cannot change their own role, and the last enabled
/// administrator keeps theirs. The account's sessions go on with the new role from their
/// next request. Setting the role it has already changes and audits nothing.
pub fn set_role(
    tx: &Transaction<'_>,
    id: i64,
    role: Role,
    actor: &str,
) -> Result<Account, StoreError> {
    let account = must_exist(tx, id)?;
    if account.role == role {
        return Ok(account);
    }
    keep_an_admin(tx, &account, "given another role")?;
    if is_self(&account, actor) {
        return Err(StoreError::Invalid(
            "an administrator cannot change their own role: another administrator can".into(),
        ));
    }
    tx.prepare_cached("UPDATE accounts SET role = ?2 WHERE id = ?1")?
        .execute(params![id, role.as_str()])?;
    append_audit(
        tx,
        &now(),
        actor,
        "account_role",
        &subject(&account),
        &serde_json::json!({ "id": id, "from": account.role, "to": role }),
    )?;
    must_exist(tx, id)
}

/// Disable (or enable again) an account on behalf of `actor`; audited. Disabling ends its
/// sessions; the last enabled administrator cannot be disabled, nor can an administrator
/// disable their own account. Enabling also clears a lock.
pub fn set_disabled(
    tx: &Transaction<'_>,
    id: i64,
    disabled: bool,
    actor: &str,
) -> Result<Account, StoreError> {
    let account = must_exist(tx, id)?;
    if disabled {
        keep_an_admin(tx, &account, "disabled")?;
        if is_self(&account, actor) {
            return Err(StoreError::Invalid(
                "an administrator cannot disable their own account: another administrator can"
                    .into(),
            ));
        }
    }
    tx.prepare_cached(
        "UPDATE accounts SET disabled = ?2, failed_logins = 0, locked_until = NULL WHERE id = ?1",
    )?
    .execute(params![id, disabled])?;
    let ended = if disabled {
        sessions::end_all_sessions(tx, id)?
    } else {
        0
    };
    append_audit(
        tx,
        &now(),
        actor,
        if disabled {
            "account_disable"
        } else {
            "account_enable"
        },
        &subject(&account),
        &serde_json::json!({ "id": id, "sessions_ended": ended }),
    )?;
    must_exist(tx, id)
}

/// Give an account a new password on behalf of `actor` (an administrator's reset);
/// audited without the password. Clears a lock and ends the account's sessions.
pub fn set_password(
    tx: &Transaction<'_>,
    id: i64,
    password_hash: &str,
    actor: &str,
) -> Result<Account, StoreError> {
    let account = must_exist(tx, id)?;
    tx.prepare_cached(
        "UPDATE accounts SET password_hash = ?2, failed_logins = 0, locked_until = NULL WHERE id = ?1",
    )?
    .execute(params![id, password_hash])?;
    let ended = sessions::end_all_sessions(tx, id)?;
    append_audit(
        tx,
        &now(),
        actor,
        "account_reset_password",
        &subject(&account),
        &serde_json::json!({ "id": id, "sessions_ended": ended }),
    )?;
    must_exist(tx, id)
}

/// A person's change of their own password, the current one already verified.
#[derive(Debug, Clone)]
pub struct OwnPassword<'a> {
    /// Whose password it is (the person changing it).
    pub account_id: i64,
    /// The hash the current password was verified against: if it is no longer the stored
    /// one, the password changed meanwhile and this change is refused.
    pub verified_hash: &'a str,
    /// The new password's hash.
    pub new_hash: &'a str,
    /// SHA-256 of the session asking: it stays, every other session of the account ends.
    pub session_sha256: &'a str,
}

/// Change a person's own password; audited with the account as the actor. Clears the count
/// of wrong passwords, ends the account's other sessions and keeps the one that asked.
/// Refused (`Invalid`) when that session has ended or the password changed meanwhile.
/// Returns the account and how many other sessions ended.
pub fn change_own_password(
    tx: &Transaction<'_>,
    change: &OwnPassword<'_>,
) -> Result<(Account, usize), StoreError> {
    let id = change.account_id;
    let account = must_exist(tx, id)?;
    let stored: String = tx
        .prepare_cached("SELECT password_hash FROM accounts WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    let session_alive = tx
        .prepare_cached("SELECT 1 FROM sessions WHERE token_sha256 = ?1 AND account_id = ?2")?
        .query_row(params![change.session_sha256, id], |_| Ok(()))
        .optional()?
        .is_some();
    if !session_alive || account.disabled {
        return Err(StoreError::Invalid(
            "your session has ended; log in again".into(),
        ));
    }
    if stored != change.verified_hash {
        return Err(StoreError::Invalid(
            "the password was changed meanwhile; log in again with the new one".into(),
        ));
    }
    tx.prepare_cached(
        "UPDATE accounts SET password_hash = ?2, failed_logins = 0, locked_until = NULL WHERE id = ?1",
    )?
    .execute(params![id, change.new_hash])?;
    let ended = tx
        .prepare_cached("DELETE FROM sessions WHERE account_id = ?1 AND token_sha256 != ?2")?
        .execute(params![id, change.session_sha256])?;
    append_audit(
        tx,
        &now(),
        &account.username,
        "password_change",
        &subject(&account),
        &serde_json::json!({ "id": id, "other_sessions_ended": ended }),
    )?;
    Ok((must_exist(tx, id)?, ended))
}
