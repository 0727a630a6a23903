//! Interceptions and bags for the consoles.
//!
//! - `GET /api/interceptions` — open interceptions (or all with `?all=true`);
//! - `POST /api/interceptions/{id}/retrieval {scan | reason}` — an officer or operator
//!   records that the parcel was taken back out of the release lane or its bag; audited,
//!   uplink, its alarm cleared;
//! - `GET /api/bags` — open bags of every lane and the last closed, each with its parcel
//!   count and whether it is marked (an interception open in it);
//! - `GET /api/bags/{id}` — the printable bag list: its parcels with declared and measured
//!   weights;
//! - `POST /api/bags/close {line, lane, bag_no}` — an operator closes a lane's open bag.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{BadJson, Denied, ErrorBody, NotLoggedIn, Operators, Require, Staff};
use super::{AppState, WebState};
use crate::store::bags::{self, BagLine, BagView};
use crate::store::holds::interceptions::{self, InterceptionView, Retrieval};

/// Most rows a list returns.
const MAX_ROWS: u32 = 500;

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(list_interceptions))
        .routes(routes!(record_retrieval))
        .routes(routes!(list_bags))
        .routes(routes!(bag_list))
        .routes(routes!(close_bag))
}

/// Which interceptions.
#[derive(Debug, Deserialize, IntoParams)]
pub(super) struct InterceptionQuery {
    /// Every interception, retrieved too; only the open ones when absent or false.
    #[serde(default)]
    all: bool,
}

/// Interceptions: held parcels that dropped into a release lane.
#[utoipa::path(get, path = "/api/interceptions", tag = "line",
    params(InterceptionQuery),
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = Vec<InterceptionView>),
        NotLoggedIn))]
async fn list_interceptions(
    State(state): State<AppState>,
    Query(q): Query<InterceptionQuery>,
) -> Result<Json<Vec<InterceptionView>>, Denied> {
    let open_only = !q.all;
    Ok(Json(
        state
            .store
            .reader
            .read(move |c| interceptions::list(c, open_only, MAX_ROWS))
            .await?,
    ))
}

/// Record the retrieval of an intercepted parcel: a scan of its label (which must be its
/// waybill) or, by hand, a reason.
#[utoipa::path(post, path = "/api/interceptions/{id}/retrieval", tag = "line",
    params(("id" = i64, Path, description = "Interception id")),
    request_body = Retrieval,
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Recorded: audited, uplink, its alarm cleared; the parcel \
            and its bag no longer count as held", body = InterceptionView),
        NotLoggedIn,
        (status = 403, description = "A viewer, or no CSRF token", body = ErrorBody),
        (status = 400, description = "The scan or the reason is over its limit (80, 500 \
            characters)", body = ErrorBody),
        (status = 404, description = "No such interception", body = ErrorBody),
        (status = 409, description = "Already retrieved, no scan and no reason, or the label \
            scanned is not the parcel's waybill", body = ErrorBody),
        BadJson))]
async fn record_retrieval(
    State(state): State<AppState>,
    Require(who, ..): Require<Staff>,
    Path(id): Path<i64>,
    Json(body): Json<Retrieval>,
) -> Result<Json<InterceptionView>, Denied> {
    super::limits::opt("scan", body.scan.as_deref(), super::limits::SCAN)?;
    super::limits::opt("reason", body.reason.as_deref(), super::limits::REASON)?;
    let actor = who.actor.clone();
    let done = state
        .store
        .writer
        .write(move |tx| interceptions::record_retrieval(tx, id, &actor, &body))
        .await?;
    let view =
        done.ok_or_else(|| Denied::new(StatusCode::NOT_FOUND, format!("no interception {id}")))?;
    tracing::info!(interception = id, parcel = view.parcel_id, by = %who.actor, "retrieval of an intercepted parcel recorded");
    Ok(Json(view))
}

/// Bags: every lane's open bag and the last closed ones.
#[utoipa::path(get, path = "/api/bags", tag = "line",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Newest first; `open_interceptions` > 0 marks a bag",
            body = Vec<BagView>),
        NotLoggedIn))]
async fn list_bags(State(state): State<AppState>) -> Result<Json<Vec<BagView>>, Denied> {
    Ok(Json(
        state.store.reader.read(|c| bags::list(c, MAX_ROWS)).await?,
    ))
}

/// A bag and its parcels: the bag list.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BagDetail {
    bag: BagView,
    /// Its parcels, in the order they dropped.
    parcels: Vec<BagLine>,
}

/// The printable bag list of one bag.
#[utoipa::path(get, path = "/api/bags/{id}", tag = "line",
    params(("id" = i64, Path, description = "Bag id")),
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The bag and its parcels", body = BagDetail),
        NotLoggedIn,
        (status = 404, description = "No such bag", body = ErrorBody)))]
async fn bag_list(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<BagDetail>, Denied> {
    let found = state
        .store
        .reader
        .read(move |c| {
            Ok(match bags::get(c, id)? {
                Some(bag) => Some((bag, bags::contents(c, id)?)),
                None => None,
            })
        })
        .await?;
    let (bag, parcels) =
        found.ok_or_else(|| Denied::new(StatusCode::NOT_FOUND, format!("no bag {id}")))?;
    Ok(Json(BagDetail { bag, parcels }))
}

/// Closing a lane's open bag.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CloseBag {
    /// Line id.
    #[schema(max_length = 64)]
    line: String,
    /// Release lane number.
    #[schema(minimum = 1, maximum = 64)]
    #[serde(deserialize_with = "integral")]
    lane: u16,
    /// The bag's number (totalPackageNo): 1 to 64 characters, unique.
    #[schema(min_length = 1, max_length = 64)]
    bag_no: String,
}

/// An operator closes a lane's open bag with its number; audited, uplink.
#[utoipa::path(post, path = "/api/bags/close", tag = "line",
    request_body = CloseBag,
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Closed", body = BagView),
        NotLoggedIn,
        (status = 403, description = "Not an operator, or no CSRF token", body = ErrorBody),
        (status = 404, description = "That lane has no open bag", body = ErrorBody),
        (status = 409, description = "A bag number that is empty, too long or already used",
            body = ErrorBody),
        BadJson))]
async fn close_bag(
    State(state): State<AppState>,
    Require(operator, ..): Require<Operators>,
    Json(body): Json<CloseBag>,
) -> Result<Json<BagView>, Denied> {
    let actor = operator.actor.clone();
    let CloseBag { line, lane, bag_no } = body;
    super::errors::in_range("lane", Some(lane), 1, 64)?;
    super::errors::text_len("line", &line, 0, super::limits::ID)?;
    super::errors::text_len("bag_no", &bag_no, 0, crate::store::bags::BAG_NO_MAX_CHARS)?;
    let (line_q, bag_q) = (line.clone(), bag_no.clone());
    let closed = state
        .store
        .writer
        .write(move |tx| bags::close(tx, &line_q, lane, &bag_q, &actor))
        .await?;
    let bag = closed.ok_or_else(|| {
        Denied::new(
            StatusCode::NOT_FOUND,
            format!("lane {lane} of line {line} has no open bag"),
        )
    })?;
    tracing::info!(bag = bag.id, %bag_no, %line, lane, by = %operator.actor, "bag closed");
    Ok(Json(bag))
}

/// A lane number as JSON may write an integer: `22` or `22.0`.
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let n = f64::deserialize(d)?;
    if n.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&n) {
        Ok(n as u16)
    } else {
        Err(serde::de::Error::custom(format!(
            "{n} is not a lane number"
        )))
    }
}
