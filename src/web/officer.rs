//! Officer actions on parcels (customs officers only).
//!
//! `POST /api/parcels/{id}/flag {reason}` flags a parcel for inspection: the flag, its
//! audit entry and its uplink message are written in one transaction
//! (`store::instructions::add_flag`), and the decision sends the parcel to the inspection
//! lane if it has not been decided yet. A flag that comes after the parcel was decided for
//! release is a **late hold** (`store::holds`): the answer says what happened — the lane
//! was commanded again before the diverter, or it came too late and an interception is
//! open — after waiting up to [`LATE_ANSWER_WAIT`] for the line to act.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rusqlite::OptionalExtension as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{BadJson, Denied, ErrorBody, NotLoggedIn, Officers, Require};
use super::{AppState, WebState};
use crate::store::instructions::{self, OfficerFlag};

/// Longest reason a flag accepts, in characters.
const MAX_REASON_CHARS: usize = 500;
/// Shortest reason a flag accepts, in characters.
const MIN_REASON_CHARS: usize = 2;

/// How long a late flag's answer waits for the line to say what it did (it reads late
/// holds at every poll, and the PLC acks within a poll or two).
const LATE_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(flag_parcel))
}

/// An officer's flag.
#[derive(Deserialize, ToSchema)]
pub(super) struct FlagRequest {
    /// Why the officer wants it opened: 2 to 500 characters (not counting spaces around).
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 500,
        pattern = "^\\s*\\S[\\s\\S]*\\S\\s*$"
    )]
    reason: String,
}

/// A flag, recorded.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Flagged {
    /// The flag's record id.
    flag_id: i64,
    /// The parcel flagged.
    parcel_id: i64,
    /// Its waybill number, when it was read.
    logistics_no: Option<String>,
    /// The officer who flagged it.
    by: String,
    /// Set when the flag came after the parcel was decided for release: what happened.
    late: Option<LateAnswer>,
}

/// What a flag that came after the release decision did.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct LateAnswer {
    /// `recommanded` (the lane was commanded again before the diverter: the parcel goes to
    /// inspection), `intercepted` (too late: it dropped into the release lane, an
    /// interception is open), or `pending` (the line has not confirmed either yet; if it
    /// drops into the release lane an interception opens).
    outcome: crate::store::holds::LateOutcome,
    /// The late hold's record id.
    late_hold_id: i64,
    /// The interception opened, when too late.
    interception: Option<crate::store::holds::InterceptionView>,
    /// What happened and what happens now, for the officer.
    message: String,
}

/// Flag parcel `id` for inspection.
#[utoipa::path(
    post,
    path = "/api/parcels/{id}/flag",
    tag = "line",
    security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path, description = "The parcel's record id")),
    request_body = FlagRequest,
    responses(
        (status = 200, description = "Flagged: the flag, its audit entry and its uplink \
            message are written; an undecided parcel goes to the inspection lane; one already \
            decided for release is commanded again or intercepted, as `late` says", body = Flagged),
        (status = 400, description = "No reason, or one shorter than 2 characters", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "Not a customs officer, or the CSRF token is missing \
            or wrong", body = ErrorBody),
        (status = 404, description = "No such parcel", body = ErrorBody),
        BadJson,
    )
)]
pub(super) async fn flag_parcel(
    State(state): State<AppState>,
    Require(officer, ..): Require<Officers>,
    Path(id): Path<i64>,
    Json(body): Json<FlagRequest>,
) -> Result<Json<Flagged>, Denied> {
    crate::web::errors::text_len("reason", &body.reason, 0, MAX_REASON_CHARS)?;
    let reason = body.reason.trim().to_owned();
    if reason.chars().count() < MIN_REASON_CHARS {
        return Err(Denied::new(
            StatusCode::BAD_REQUEST,
            format!("a flag needs a reason of at least {MIN_REASON_CHARS} characters"),
        ));
    }
    let actor = officer.actor.clone();
    let flagged = state
        .store
        .writer
        .write(move |tx| {
            let waybill: Option<Option<String>> = tx
                .prepare_cached("SELECT logistics_no FROM parcels WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            let Some(waybill) = waybill else {
                return Ok(None);
            };
            let flag = OfficerFlag {
                parcel_id: Some(id),
                logistics_no: None,
                officer: &actor,
                reason: &reason,
            };
            let (flag_id, late) = instructions::add_flag_acting(tx, &flag)?;
            Ok(Some((flag_id, waybill, late.into_iter().next())))
        })
        .await?;
    let (flag_id, waybill, late) =
        flagged.ok_or_else(|| Denied::new(StatusCode::NOT_FOUND, format!("no parcel {id}")))?;
    tracing::info!(parcel = id, officer = %officer.actor, late = late.is_some(), "parcel flagged for inspection");
    let late = match late {
        Some(hold) => Some(late_answer(&state, hold).await?),
        None => None,
    };
    Ok(Json(Flagged {
        flag_id,
        parcel_id: id,
        logistics_no: waybill,
        by: officer.actor,
        late,
    }))
}

/// Wait (bounded) for the line to act on a late hold, then say what happened.
async fn late_answer(
    state: &AppState,
    mut hold: crate::store::holds::LateHold,
) -> Result<LateAnswer, Denied> {
    use crate::store::holds::{self, LateOutcome};
    let deadline = tokio::time::Instant::now() + LATE_ANSWER_WAIT;
    while hold.outcome == LateOutcome::Pending && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let id = hold.id;
        if let Some(now) = state.store.reader.read(move |c| holds::get(c, id)).await? {
            hold = now;
        }
    }
    let interception = match hold.interception_id {
        Some(i) => {
            state
                .store
                .reader
                .read(move |c| holds::interceptions::get(c, i))
                .await?
        }
        None => None,
    };
    let message = match (&hold.outcome, &interception) {
        (LateOutcome::Recommanded, _) => "the flag came after the parcel was decided for release, \
            before it reached the diverter: its lane was commanded again and it goes to the \
            inspection lane (the decision is revised, both versions kept)"
            .to_owned(),
        (LateOutcome::Intercepted, Some(i)) => format!(
            "the flag came too late: the parcel had already dropped into release lane {} of \
             line {}{}; interception {} is open and its alarm raised; the parcel and its bag \
             count as held (a truck carrying them is held at the gate) until its retrieval \
             is recorded",
            i.lane,
            i.line_id,
            i.bag_id
                .map_or_else(String::new, |b| format!(" into bag {b}")),
            i.id
        ),
        _ => "the flag came after the parcel was decided for release; the line has not yet \
            confirmed the new lane: if the parcel drops into the release lane an interception \
            opens, with an alarm"
            .to_owned(),
    };
    Ok(LateAnswer {
        outcome: hold.outcome,
        late_hold_id: hold.id,
        interception,
        message,
    })
}
