//! The SOAP endpoint: read the envelope, check the UsernameToken (every operation but
//! `GetSystemDateAndTime`), answer the operation or a fault. Media operations are answered
//! at the device service path too, as many cameras do.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use customs_edge_devices::onvif::ns;
use tracing::{debug, info};

use super::camera::{Shared, bump};
use super::messages::{self, Ctx};
use super::soap::{self, Fault, SoapRequest};

/// Operations answered without credentials (ONVIF clients read the clock first, to
/// correct their WS-Security timestamps).
const OPEN: &[&str] = &["GetSystemDateAndTime"];

/// `POST /onvif/device_service` and `/onvif/media_service`.
pub(crate) async fn soap(
    State(shared): State<Arc<Shared>>,
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
    if !OPEN.contains(&request.action.as_str()) {
        let password = shared.password();
        if let Err(e) =
            shared
                .tokens
                .verify(request.token.as_ref(), &shared.cfg.username, &password, now)
        {
            bump(&shared.counters.auth_failures);
            let (camera, action) = (&shared.cfg.name, &request.action);
            info!(%camera, %action, "SOAP request not authorized: {e}");
            return fault(&Fault::not_authorized());
        }
    }
    let base = base_from_host(&headers).unwrap_or_else(|| shared.base_url());
    let ctx = Ctx {
        cfg: &shared.cfg,
        base: &base,
        now,
    };
    match answer(&request, ctx) {
        Ok(body) => soap_response(StatusCode::OK, soap::envelope(&body)),
        Err(f) => fault(&f),
    }
}

/// The body answering `request`.
fn answer(request: &SoapRequest, ctx: Ctx<'_>) -> Result<String, Fault> {
    let cfg = ctx.cfg;
    match (request.action_ns.as_str(), request.action.as_str()) {
        (ns::TDS, "GetSystemDateAndTime") => Ok(messages::system_date_and_time(ctx.now)),
        (ns::TDS, "GetCapabilities") => messages::capabilities(ctx, request.param("Category")),
        (ns::TDS, "GetServices") => {
            let include = matches!(request.param("IncludeCapability"), Some("true" | "1"));
            Ok(messages::services(ctx, include))
        }
        (ns::TDS, "GetDeviceInformation") => Ok(messages::device_information(cfg)),
        (ns::TDS, "GetScopes") => Ok(messages::scopes_response(cfg)),
        (ns::TRT, "GetProfiles") => Ok(messages::profiles(cfg)),
        (ns::TRT, "GetProfile") => {
            messages::profile_response(cfg, request.param("ProfileToken").unwrap_or_default())
        }
        (ns::TRT, "GetVideoSources") => Ok(messages::video_sources(cfg)),
        (ns::TRT, op @ ("GetSnapshotUri" | "GetStreamUri")) => {
            messages::media_uri(ctx, op, request.param("ProfileToken"))
        }
        (_, other) => Err(Fault::action_not_supported(other, false)),
    }
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
