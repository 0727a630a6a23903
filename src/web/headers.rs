//! Security headers on every response of the console server, whatever answered it (a
//! handler, an asset, an error, the framework):
//!
//! - `Content-Security-Policy`: scripts, styles, images and connections from this origin
//!   only, no inline script or style, no framing, no plugins (`web-ui/` has no inline
//!   script or style attribute; the pages set styles through the CSSOM, which CSP allows);
//! - `X-Frame-Options: DENY` for browsers without `frame-ancestors`;
//! - `Referrer-Policy: no-referrer`: URLs (parcel ids, search terms) stay on the site;
//! - `X-Content-Type-Options: nosniff`: evidence and exports are what their type says.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The console's content security policy.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Every header this layer sets, with its value.
pub const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// Around the whole router: add [`SECURITY_HEADERS`] to the answer.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    res
}
