//! Refusals: a status, `{"error": …, "code": …}` with any details, and `Retry-After` when
//! waiting helps. Store failures are logged and answered without internals. The `code`
//! is added by [`crate::web::errors`], the one place every error body is shaped.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

/// The body of every refusal, as the API documents it: `error` always, the other fields
/// when they apply.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words a person can act on.
    pub error: String,
    /// What went wrong, for programs: `bad_request`, `unauthorized`, `login_required`,
    /// `forbidden`, `csrf_missing`, `csrf_mismatch`, `not_found`, `method_not_allowed`,
    /// `conflict`, `setup_required`, `payload_too_large`, `unsupported_media_type`,
    /// `unprocessable_entity`, `too_many_requests`, `unavailable`, `internal_error`.
    pub code: String,
    /// The query or path parameter, or the body field, that was refused.
    #[schema(nullable = false)]
    pub parameter: Option<String>,
    /// Nothing works until the first administrator is set up (`POST /api/setup`).
    #[schema(nullable = false)]
    pub setup_required: Option<bool>,
    /// Log in (again) first.
    #[schema(nullable = false)]
    pub login_required: Option<bool>,
    /// The CSRF token is `missing` or a `mismatch`.
    #[schema(nullable = false)]
    pub csrf: Option<String>,
    /// The account is locked until this time (UTC).
    #[schema(nullable = false)]
    pub locked_until: Option<String>,
    /// Seconds to wait before trying again (also sent as `Retry-After`).
    #[schema(nullable = false)]
    pub retry_after_s: Option<u64>,
}

/// The answer of every guarded route to a request without a live session or token.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 401,
    description = "Not logged in, or the session has ended (idle, expired, logged out, \
        disabled, password changed): log in again"
)]
pub struct NotLoggedIn(pub ErrorBody);

/// The answer to a body that is JSON but not the JSON a route takes (a field missing or
/// of the wrong type); the error names the field.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 422,
    description = "The body is JSON but not the JSON this route takes (a field missing, of \
        the wrong type, or unknown); the error names the field (a body that is not JSON at \
        all gets 400, one without `Content-Type: application/json` 415)"
)]
pub struct BadJson(pub ErrorBody);

/// A refusal (or failure) answered as `{"error": …}` plus any details, never internals.
#[derive(Debug)]
pub struct Denied {
    status: StatusCode,
    body: serde_json::Map<String, serde_json::Value>,
    retry_after_s: Option<u64>,
}

impl Denied {
    /// A refusal with `status` and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), message.into().into());
        Self {
            status,
            body,
            retry_after_s: None,
        }
    }

    /// The HTTP status it is answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message (`error`).
    pub fn message(&self) -> &str {
        self.body
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }

    /// Add a field to the body.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.body.insert(key.into(), value.into());
        self
    }

    /// Add `Retry-After`.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self.with("retry_after_s", seconds)
    }

    pub(super) fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        )
    }

    /// 409: nothing works until the first administrator exists.
    pub fn setup_required() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "set up the administrator first (POST /api/setup, or CUSTOMS_EDGE_ADMIN_USER and \
             CUSTOMS_EDGE_ADMIN_PASSWORD at start)",
        )
        .with("setup_required", true)
    }
}

impl From<StoreError> for Denied {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(m) => Self::new(StatusCode::CONFLICT, m),
            StoreError::NotFound(what) => Self::new(StatusCode::NOT_FOUND, format!("no {what}")),
            e => {
                tracing::error!(error = %e, "store error while checking who is asking");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the store is not available",
                )
            }
        }
    }
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(serde_json::Value::Object(self.body))).into_response();
        if let Some(s) = self.retry_after_s {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}
