//! The SOAP endpoint: read the envelope, check the credentials (every operation but
//! `GetSystemDateAndTime`): the WS-Security UsernameToken when there is one, else HTTP
//! Digest (or Basic), as ONVIF allows either; answer the operation ([`dispatch`]) or a
//! fault. Media operations are answered at the device service path too, as many cameras
//! do.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tracing::{debug, info};

use super::camera::{Shared, bump};
use super::dispatch;
use super::http::authorize;
use super::soap::{self, Fault, SoapRequest};

/// Operations answered without credentials (ONVIF clients read the clock first, to
/// correct their WS-Security timestamps).
const OPEN: &[&str] = &["GetSystemDateAndTime"];

/// `POST /onvif/device_service` and `/onvif/media_service`.
pub(crate) async fn soap(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        shared.counters.soap("(malformed)");
        return fault(&Fault::well_formed("the request is not UTF-8"));
    };
    let request = match SoapRequest::parse(text) {
        Ok(r) => r,
        Err(f) => {
            shared.counters.soap("(malformed)");
            debug!(camera = %shared.cfg.name, reason = %f.reason, "unreadable SOAP request");
            return fault(&f);
        }
    };
    shared.counters.soap(&request.action);
    let now = shared.camera_now();
    if !OPEN.contains(&request.action.as_str())
        && let Err(denied) = authenticate(&shared, &request, &method, &uri, &headers)
    {
        return *denied;
    }
    let base = base_from_host(&headers).unwrap_or_else(|| shared.base_url());
    match dispatch::answer(&request, shared.ctx(&base, now)) {
        Ok(body) => soap_response(StatusCode::OK, soap::envelope(&body)),
        Err(f) => fault(&f),
    }
}

/// A request with a WS-Security UsernameToken is judged by it (a wrong one is HTTP 400
/// `ter:NotAuthorized`); one without is judged by HTTP Digest (or Basic): none, or wrong
/// ones, are HTTP 401 with the challenges and a `ter:NotAuthorized` fault.
fn authenticate(
    shared: &Shared,
    request: &SoapRequest,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), Box<Response>> {
    let action = &request.action;
    if let Some(token) = &request.token {
        let password = shared.password();
        let user = &shared.cfg.username;
        return (shared.tokens)
            .verify(Some(token), user, &password, shared.camera_now())
            .map_err(|e| {
                bump(&shared.counters.auth_failures);
                info!(camera = %shared.cfg.name, %action, "SOAP request not authorized: {e}");
                Box::new(fault(&Fault::not_authorized()))
            });
    }
    authorize(shared, method, uri, headers).map_err(|challenge| {
        debug!(camera = %shared.cfg.name, %action, "SOAP request without credentials: challenged");
        let mut response =
            soap_response(StatusCode::UNAUTHORIZED, Fault::not_authorized().to_xml());
        for value in challenge.headers().get_all(header::WWW_AUTHENTICATE) {
            response
                .headers_mut()
                .append(header::WWW_AUTHENTICATE, value.clone());
        }
        Box::new(response)
    })
}

/// `http://<Host>` when the request's `Host` header is a plain host and port, so answers
/// name the address the client actually used.
fn base_from_host(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    plain.then(|| format!("http://{host}"))
}

fn soap_response(status: StatusCode, xml: String) -> Response {
    let mut response = (status, xml).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(soap::CONTENT_TYPE),
    );
    response
}

/// A fault with its HTTP status.
fn fault(f: &Fault) -> Response {
    let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_REQUEST);
    soap_response(status, f.to_xml())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_becomes_the_base_url_only_when_plain() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("10.1.2.3:8080"));
        assert_eq!(base_from_host(&h).as_deref(), Some("http://10.1.2.3:8080"));
        h.insert(header::HOST, HeaderValue::from_static("evil/<x>"));
        assert_eq!(base_from_host(&h), None);
    }
}
