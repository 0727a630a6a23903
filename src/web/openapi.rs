//! The API's OpenAPI document, put together from the handlers' own `#[utoipa::path]`
//! annotations as their routes are registered (`utoipa_axum::routes!`), so a route cannot
//! be served without being described. Served at `/api/openapi.json`.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's fixed part: title, version, how to authenticate.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "customs-edge console API",
        description = "The edge controller's API: the sorting lines, X-ray judging, parcels, \
            gates, devices, statistics, accounts. Log in with `POST /api/login` (a session \
            cookie `ce_session`; send its CSRF token as `X-CSRF-Token` on every state-changing \
            request) or send an operator's bearer token. Times are RFC 3339 UTC.",
    ),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Setup, login, sessions, accounts"),
        (name = "line", description = "Sorting lines, parcels, X-ray judging"),
        (name = "gates", description = "Truck gates"),
        (name = "devices", description = "Devices and cameras"),
        (name = "stats", description = "Statistics and exports"),
        (name = "site", description = "Site, sync, evidence"),
    )
)]
pub(super) struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("ce_session"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The error answers every operation can give whatever its handler does, added to the
/// served document so that it is true for every route (present or added later):
///
/// - any path or query parameter, or a body: 400 (a value that cannot be read);
/// - a JSON body: 413 (over the body limit), 415 (not `application/json`), 422 (JSON, but
///   not this shape: a field missing, of the wrong type, unknown, or out of its limits);
/// - guarded (has `security`): 401 (no or an ended session), 403 (role, CSRF, an unknown
///   bearer token), 409 (no administrator yet), 503 (the store is not available);
///
/// and every error answer gets the `ErrorBody` JSON (`{"error", "code"}`) as its content.
/// `doc` is the document as JSON; `/healthz`, `/metrics` and `/api/openapi.json` keep
/// their own answers.
pub(super) fn complete(doc: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let error_content = json!({
        "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } }
    });
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        if !path.starts_with("/api/") {
            continue;
        }
        let item_params = item
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty());
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if !matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch") {
                continue;
            }
            let has_params = item_params
                || op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .is_some_and(|p| !p.is_empty());
            let has_body = op.get("requestBody").is_some();
            let guarded = op
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| {
                    s.iter()
                        .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
                });
            let mut add: Vec<(&str, &str)> = Vec::new();
            if has_params || has_body {
                add.push(("400", "A path or query value, or the body, cannot be read (not JSON, not a number, …); `parameter` names it where known"));
            }
            if has_body {
                add.push(("413", "The body is over the API's body limit (64 KiB)"));
                add.push((
                    "415",
                    "The body is not sent as `Content-Type: application/json`",
                ));
                add.push(("422", "The body is JSON but not this route's shape: a field missing, of the wrong type, unknown, or outside its limits; the error names it"));
            }
            if guarded {
                add.push(("401", "Not logged in, or the session has ended (idle, expired, revoked, logged out, disabled, password changed): log in again (`code` `login_required`)"));
                add.push(("403", "Not for this role, a missing or wrong `X-CSRF-Token` on a change (`csrf_missing`, `csrf_mismatch`), or a bearer token no operator holds"));
                add.push(("409", "No administrator is set up yet (`code` `setup_required`): `POST /api/setup` first"));
                add.push(("503", "The store is not available"));
            }
            let Some(responses) = op
                .as_object_mut()
                .map(|o| o.entry("responses").or_insert_with(|| json!({})))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (status, description) in add {
                responses
                    .entry(status)
                    .or_insert_with(|| json!({ "description": description }));
            }
            for (status, response) in responses.iter_mut() {
                let is_error = status.starts_with('4') || status.starts_with('5');
                let Some(response) = response.as_object_mut() else {
                    continue;
                };
                if !is_error || response.contains_key("$ref") {
                    continue;
                }
                let json_content = response
                    .get("content")
                    .and_then(Value::as_object)
                    .is_some_and(|c| c.contains_key("application/json"));
                if !json_content {
                    response.insert("content".into(), error_content.clone());
                }
            }
        }
    }
}
