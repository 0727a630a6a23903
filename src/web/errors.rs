//! One shape for every API error: `{"error": "<what went wrong>", "code": "<machine name>"}`,
//! plus any details a refusal adds (`parameter`, `retry_after_s`, …).
//!
//! Handlers refuse with [`super::auth::Denied`] or their own JSON errors; the framework
//! refuses by itself too (a body that is not JSON, a missing `Content-Type`, a path or
//! query value that does not parse, an unknown `/api` path, a method a route does not
//! take) with a `text/plain` body. [`json_errors`] runs around the whole router and makes
//! every one of those answers the documented shape, so no route — present or future, with
//! axum's own extractors or not — can answer an error the OpenAPI document does not
//! describe. It is the one place error bodies are shaped; `code` is derived here from the
//! status and the refusal's details ([`code_for`]).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value};

use super::auth::Denied;

/// Error bodies larger than this are not parsed to add a `code` (none is near it).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Whether `path` is served as API (JSON errors) rather than as a console asset.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/api" || path == "/healthz" || path == "/metrics"
}

/// The machine-readable `code` of an error: a refusal's own detail where it has one
/// (`setup_required`, `login_required`, `csrf_missing`, `csrf_mismatch`), else the status.
pub fn code_for(status: StatusCode, body: &Map<String, Value>) -> String {
    if body.get("setup_required") == Some(&Value::Bool(true)) {
        return "setup_required".into();
    }
    if body.get("login_required") == Some(&Value::Bool(true)) {
        return "login_required".into();
    }
    if let Some(Value::String(csrf)) = body.get("csrf") {
        return format!("csrf_{csrf}");
    }
    if body.contains_key("locked_until") {
        return "locked".into();
    }
    status_code_name(status).into()
}

/// The `code` for a bare status.
pub fn status_code_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable_entity",
        423 => "locked",
        429 => "too_many_requests",
        500 => "internal_error",
        503 => "unavailable",
        s if s >= 500 => "server_error",
        _ => "client_error",
    }
}

/// A JSON error body of the documented shape.
pub fn body(status: StatusCode, message: impl Into<String>) -> Value {
    let mut map = Map::new();
    map.insert("error".into(), Value::String(message.into()));
    let code = code_for(status, &map);
    map.insert("code".into(), Value::String(code));
    Value::Object(map)
}

/// A numeric query or body value checked against the limits its schema documents
/// (`minimum`, `maximum`): refused with 400 naming it, never clamped.
pub fn in_range<T>(parameter: &str, value: Option<T>, min: T, max: T) -> Result<Option<T>, Denied>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    match value {
        Some(v) if v < min || v > max => Err(Denied::new(
            StatusCode::BAD_REQUEST,
            format!("{parameter} must be from {min} to {max}; it is {v}"),
        )
        .with("parameter", parameter)),
        v => Ok(v),
    }
}

/// A text value from outside checked against the limits its schema documents
/// (`minLength`, `maxLength`, in characters): refused with 400 naming it.
pub fn text_len(parameter: &str, value: &str, min: usize, max: usize) -> Result<(), Denied> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(Denied::new(
            StatusCode::BAD_REQUEST,
            format!("{parameter} must be {min} to {max} characters; it is {n}"),
        )
        .with("parameter", parameter));
    }
    Ok(())
}

/// Around the whole router: every error answer of an API path leaves as
/// `{"error", "code", …}` JSON (see the module doc).
pub async fn json_errors(req: Request, next: Next) -> Response {
    let api = is_api(req.uri().path());
    let res = next.run(req).await;
    let status = res.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (mut parts, body_in) = res.into_parts();
    let bytes = to_bytes(body_in, MAX_ERROR_BODY).await.unwrap_or_default();
    let value = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut map)) if is_json => {
            if !map.contains_key("error") {
                // Not an error body (e.g. `/healthz`'s report when degraded): as it was.
                return Response::from_parts(parts, Body::from(bytes));
            }
            if !map.contains_key("code") {
                let code = code_for(status, &map);
                map.insert("code".into(), Value::String(code));
            }
            Value::Object(map)
        }
        _ => {
            let text = String::from_utf8_lossy(&bytes).trim().to_owned();
            let message = if text.is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("the request was refused")
                    .to_owned()
            } else {
                text
            };
            body(status, message)
        }
    };
    let out = serde_json::to_vec(&value).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusals_detail_names_its_code() {
        let mut m = Map::new();
        m.insert("csrf".into(), "missing".into());
        assert_eq!(code_for(StatusCode::FORBIDDEN, &m), "csrf_missing");
        assert_eq!(
            code_for(StatusCode::PAYLOAD_TOO_LARGE, &Map::new()),
            "payload_too_large"
        );
        assert_eq!(body(StatusCode::NOT_FOUND, "no x")["code"], "not_found");
    }
}
