//! The bag-label scanner at a line's release lane, worked by hand over HTTP:
//!
//! - `POST /bags/close {"bag_no": "ZB0001", "line": "L1"}` → someone scans that bag label
//!   at the release lane: the lane's open bag is closed with it (ground truth) and the
//!   scanner sends the label; `201` with the [`BagRecord`](crate::conveyor::BagRecord);
//!   no open bag, a used or bad label, an unknown line → `400`.
//! - `POST /bags/retrieve {"code": "SF1001", "line": "L1"}` → someone takes the parcel
//!   with that label back out of its bag and scans it at the lane; `201 {"parcel_id": N}`;
//!   no such parcel in a bag → `400`.
//!
//! - `POST /holds {"code": "SF1001", "held": true}` → customs holds the parcel labelled
//!   `code` from now on (`"held": false` releases it): a truck that leaves carrying it is
//!   a custody escape. `200 {"code": …, "held": …}`.
//!
//! `line` may be left out on a one-line site (the first line).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::json;

use super::error;
use crate::site::Site;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBag {
    bag_no: String,
    #[serde(default)]
    line: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Retrieve {
    code: String,
    #[serde(default)]
    line: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hold {
    code: String,
    #[serde(default = "held")]
    held: bool,
}

fn held() -> bool {
    true
}

pub(super) async fn hold(State(site): State<Site>, body: Bytes) -> Response {
    let request = match serde_json::from_slice::<Hold>(&body) {
        Ok(r) if !r.code.trim().is_empty() => r,
        Ok(_) => return error(StatusCode::BAD_REQUEST, "code must not be empty"),
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                format_args!(
                    "body must be JSON like {{\"code\": \"SF1001\", \"held\": true}}: {err}"
                ),
            );
        }
    };
    if request.held {
        site.custody().hold(&request.code);
    } else {
        site.custody().release(&request.code);
    }
    Json(json!({ "code": request.code, "held": request.held })).into_response()
}

pub(super) async fn close(State(site): State<Site>, body: Bytes) -> Response {
    let request: CloseBag = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                format_args!(
                    "body must be JSON like {{\"bag_no\": \"ZB0001\", \"line\": \"L1\"}}: {err}"
                ),
            );
        }
    };
    let line = match site.line(request.line.as_deref()) {
        Ok(line) => line,
        Err(err) => return error(StatusCode::BAD_REQUEST, err),
    };
    match line.close_bag(&request.bag_no) {
        Ok(bag) => (StatusCode::CREATED, Json(bag)).into_response(),
        Err(err) => error(StatusCode::BAD_REQUEST, err),
    }
}

pub(super) async fn retrieve(State(site): State<Site>, body: Bytes) -> Response {
    let request: Retrieve = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                format_args!(
                    "body must be JSON like {{\"code\": \"SF1001\", \"line\": \"L1\"}}: {err}"
                ),
            );
        }
    };
    let line = match site.line(request.line.as_deref()) {
        Ok(line) => line,
        Err(err) => return error(StatusCode::BAD_REQUEST, err),
    };
    match line.retrieve(&request.code) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "parcel_id": id }))).into_response(),
        Err(err) => error(StatusCode::BAD_REQUEST, err),
    }
}
