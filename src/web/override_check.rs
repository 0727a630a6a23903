//! What an operator's override of a gate lane needs before the barrier is asked to open:
//! a truck present and held at the lane, and — when the hold is for an outbound truck
//! without an approved exit permit (none, applied for, used, voided, deleted, unknown, no
//! plate agreed on) — a
//! customs officer's confirmation as well: the officer's own username and password, checked
//! here, and the confirmation audited under the officer's name. Two people, both on record.

use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiError, AppState};
use crate::gates::Gates;
use crate::gates::view::Phase;
use crate::store::accounts::{self, Role};

/// The officer who confirms an override, in the operator's request.
#[derive(Deserialize, ToSchema)]
pub(super) struct OfficerConfirmation {
    /// The officer's username.
    #[schema(max_length = 64)]
    pub(super) username: String,
    /// The officer's password (checked, never stored).
    #[schema(format = Password, max_length = 256)]
    pub(super) password: String,
}

impl OfficerConfirmation {
    /// Both within their limits, or a 400 naming the one that is not.
    pub(super) fn check(&self) -> Result<(), super::auth::Denied> {
        use super::auth::password::{MAX_PASSWORD_CHARS, MAX_USERNAME_CHARS};
        super::errors::text_len("officer.username", &self.username, 0, MAX_USERNAME_CHARS)?;
        super::errors::text_len("officer.password", &self.password, 0, MAX_PASSWORD_CHARS)
    }
}

/// Why the held truck's override needs an officer, when it does: the hold's permit reasons
/// in words (`核放单未审批`), or `None` when the operator alone may open.
pub(super) async fn officer_needed(
    state: &AppState,
    gates: &Gates,
    gate: &str,
) -> Result<Option<String>, ApiError> {
    let view = gates
        .views()
        .into_iter()
        .find(|l| l.gate == gate)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no gate lane {gate:?}")))?;
    if view.phase != Phase::Held {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!(
                "lane {gate} holds no truck (it is {:?}): an override is only for a truck present and held",
                view.phase
            ),
        ));
    }
    let Some(pass_id) = view.pass_id else {
        return Ok(None);
    };
    let pass = state
        .store
        .reader
        .read(move |c| crate::store::passes::pass(c, pass_id))
        .await?;
    let Some(pass) = pass else {
        return Ok(None);
    };
    Ok(permit_problem(&pass.direction, &pass.reasons))
}

/// The verdict reasons that say the truck has no approved permit: none issued, not yet
/// approved, used, voided, deleted, of an unknown status, or no plate agreed on (so no
/// permit is known for it).
const PERMIT_PROBLEMS: [&str; 7] = [
    "no_permit",
    "permit_not_approved",
    "permit_used",
    "permit_voided",
    "permit_deleted",
    "permit_unknown_status",
    "manual_decision_needed",
];

/// The permit reasons of an outbound hold that make an officer necessary, in words; `None`
/// when its permit is approved and the hold is for something else (the weight) or the
/// truck is coming in. A hold that gives no reason at all needs an officer too. Pure.
pub(super) fn permit_problem(direction: &str, reasons: &serde_json::Value) -> Option<String> {
    if direction != "out" {
        return None;
    }
    let list = reasons.as_array().cloned().unwrap_or_default();
    let code = |r: &serde_json::Value| r["code"].as_str().unwrap_or_default().to_owned();
    let words: Vec<String> = list
        .iter()
        .filter(|r| PERMIT_PROBLEMS.contains(&code(r).as_str()))
        .map(|r| r["zh"].as_str().map_or_else(|| code(r), str::to_owned))
        .collect();
    if !words.is_empty() {
        Some(words.join("、"))
    } else if list.is_empty() {
        Some("核放单状态未知".to_owned())
    } else {
        None
    }
}

/// Check the confirming officer: an enabled, unlocked officer account whose password
/// matches, and not the operator themself. Returns the officer's username.
pub(super) async fn confirm_officer(
    state: &AppState,
    operator: &str,
    confirm: OfficerConfirmation,
) -> Result<String, ApiError> {
    let refused = |why: &str| ApiError(StatusCode::FORBIDDEN, why.to_owned());
    let username = confirm.username.trim().to_owned();
    if username.is_empty() || confirm.password.is_empty() {
        return Err(refused(
            "this override needs a customs officer's confirmation: officer username and password",
        ));
    }
    if username.eq_ignore_ascii_case(operator) {
        return Err(refused("the confirming officer must be another person"));
    }
    let lookup = username.clone();
    let found = state
        .store
        .reader
        .read(move |c| accounts::by_username(c, &lookup))
        .await?;
    let password = confirm.password;
    let (account, hash) = match found {
        Some((a, h)) if a.role == Role::Officer && !a.disabled && a.locked_until.is_none() => {
            (Some(a), h)
        }
        _ => (None, String::new()),
    };
    // The hash is checked off the async threads (argon2 takes tens of milliseconds); an
    // unknown or unfit account costs the same as a wrong password.
    let ok = tokio::task::spawn_blocking(move || {
        if hash.is_empty() {
            super::auth::password::verify_decoy(&password);
            false
        } else {
            super::auth::password::verify(&password, &hash)
        }
    })
    .await
    .unwrap_or(false);
    match account {
        Some(a) if ok => Ok(a.username),
        _ => Err(refused(
            "the officer's confirmation was refused: not an enabled customs officer, or a wrong password",
        )),
    }
}

/// Record the officer's confirmation in the audit log, under the officer's name.
pub(super) async fn audit_confirmation(
    state: &AppState,
    officer: &str,
    operator: &str,
    gate: &str,
    why: &str,
    pass_id: i64,
) -> Result<(), ApiError> {
    let (officer, subject) = (officer.to_owned(), format!("gate:{gate}"));
    let detail = serde_json::json!({ "operator": operator, "permit": why, "pass_id": pass_id });
    state
        .store
        .writer
        .write(move |tx| {
            crate::store::append_audit(
                tx,
                &crate::store::now(),
                &officer,
                "confirm_override",
                &subject,
                &detail,
            )
            .map(|_| ())
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_outbound_hold_without_an_approved_permit_needs_an_officer() {
        let not_approved =
            json!([{ "code": "permit_not_approved", "zh": "核放单未审批", "detail": "" }]);
        assert_eq!(
            permit_problem("out", &not_approved).as_deref(),
            Some("核放单未审批")
        );
        let none = json!([{ "code": "no_permit", "zh": "无核放单", "detail": "" }]);
        assert_eq!(permit_problem("out", &none).as_deref(), Some("无核放单"));
        let weight = json!([{ "code": "weight_mismatch", "zh": "重量不符", "detail": "" }]);
        let voided = json!([{ "code": "permit_voided", "zh": "核放单已作废", "detail": "" }]);
        assert_eq!(
            permit_problem("out", &voided).as_deref(),
            Some("核放单已作废")
        );
        assert_eq!(
            permit_problem("out", &weight),
            None,
            "approved: the operator decides"
        );
        assert_eq!(permit_problem("in", &none), None, "inbound needs no permit");
        assert!(
            permit_problem("out", &json!([])).is_some(),
            "nothing known: fail closed"
        );
    }
}
