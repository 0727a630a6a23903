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
