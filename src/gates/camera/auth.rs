//! Who may post: the delays on wrong credentials first, then the camera's one scheme, then
//! its password; and the answers to those who may not (`401` with the camera's own
//! challenge, `429` with `Retry-After`).

use std::net::SocketAddr;
use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use customs_edge_devices::http_auth::{AuthError, Credentials};
use tracing::{debug, warn};

use super::throttle::{AuthThrottle, LogGate, Throttled};
use super::{Camera, Listener, Refusal};
use crate::config::{PlateAuth, PlateAuthLimits};

/// The delays and the log's gate, behind one lock.
#[derive(Debug)]
pub(super) struct Guard {
    throttle: AuthThrottle,
    log: LogGate,
}

impl Guard {
    pub(super) fn new(limits: PlateAuthLimits) -> Self {
        Self {
            throttle: AuthThrottle::new(limits),
            log: LogGate::default(),
        }
    }

    /// `Some(suppressed)` when a warning about `camera` may be logged now.
    pub(super) fn may_warn(&mut self, camera: &str, now: Instant) -> Option<u64> {
        self.log.admit(camera, now)
    }
}

/// Why a request was not let through.
pub(super) enum Denied {
    /// No credentials, or a stale nonce (then `stale`), or wrong ones: `401`.
    Unauthorized {
        stale: bool,
        reason: String,
        code: &'static str,
    },
    /// Not checked: `429`.
    Throttled(Throttled),
}

impl Listener {
    fn guard(&self) -> std::sync::MutexGuard<'_, Guard> {
        self.guard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Some(suppressed)` when a warning about `camera` may be logged now.
    pub(super) fn guard_warn(&self, camera: &str, now: Instant) -> Option<u64> {
        self.guard().may_warn(camera, now)
    }

    /// Lets the request through, or says why not.
    pub(super) fn admit(
        &self,
        camera: &Camera,
        method: &str,
        target: &str,
        headers: &HeaderMap,
        peer: SocketAddr,
    ) -> Result<(), Denied> {
        let now = Instant::now();
        let id = &camera.endpoint.id;
        let checked = self.guard().throttle.check(id, peer.ip(), now);
        if let Err(throttled) = checked {
            self.stats.throttled();
            crate::metrics::record_plate_auth_failure(id, throttled.outcome());
            if let Some(suppressed) = self.guard().may_warn(id, now) {
                warn!(camera = %id, %peer, outcome = throttled.outcome(),
                    retry_after_s = throttled.retry_after().as_secs_f64(), suppressed,
                    "plate camera post not checked: too many wrong credentials");
            }
            return Err(Denied::Throttled(throttled));
        }
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            self.stats.challenged();
            debug!(camera = %id, %peer, "plate camera challenged");
            return Err(Denied::Unauthorized {
                stale: false,
                reason: "credentials required".to_owned(),
                code: "auth_required",
            });
        };
        // UTF-8, not just ASCII: RFC 7616 user names may be UTF-8.
        let credentials = std::str::from_utf8(value.as_bytes())
            .map_err(|_| AuthError::Malformed("Authorization is not UTF-8".to_owned()))
            .and_then(Credentials::parse);
        let credentials = match credentials {
            Ok(c) => c,
            Err(e) => return Err(self.failed(camera, peer, "malformed", e.to_string(), e.code())),
        };
        let scheme_refused = match (camera.endpoint.auth, &credentials) {
            (PlateAuth::Digest, Credentials::Basic { .. }) => Some(
                "this camera authenticates with Digest only: Basic is refused, whatever \
                 the password",
            ),
            (PlateAuth::Basic, Credentials::Digest(_)) => {
                Some("this camera authenticates with Basic only: Digest is refused")
            }
            _ => None,
        };
        if let Some(reason) = scheme_refused {
            let reason = reason.to_owned();
            return Err(self.failed(
                camera,
                peer,
                "scheme_refused",
                reason,
                "auth_scheme_refused",
            ));
        }
        let ep = &camera.endpoint;
        let verified = self.auth.verify_credentials(
            &credentials,
            method,
            target,
            &ep.username,
            &ep.password,
            now,
        );
        match verified {
            Ok(scheme) => {
                self.guard().throttle.succeeded(id, peer.ip());
                debug!(camera = %id, ?scheme, "plate camera authenticated");
                Ok(())
            }
            Err(e) if e.is_stale() && !matches!(e, AuthError::Replay { .. }) => {
                self.stats.challenged();
                debug!(camera = %id, %peer, reason = %e, "plate camera nonce stale; challenged again");
                Err(Denied::Unauthorized {
                    stale: true,
                    reason: e.to_string(),
                    code: e.code(),
                })
            }
            Err(e) => {
                let outcome = match e {
                    AuthError::WrongCredentials => "wrong_credentials",
                    AuthError::Replay { .. } => "replayed",
                    _ => "malformed",
                };
                Err(self.failed(camera, peer, outcome, e.to_string(), e.code()))
            }
        }
    }

    /// Counts a wrong try, slows its address down, and logs it (within the gate).
    fn failed(
        &self,
        camera: &Camera,
        peer: SocketAddr,
        outcome: &'static str,
        reason: String,
        code: &'static str,
    ) -> Denied {
        let now = Instant::now();
        let id = &camera.endpoint.id;
        self.stats.auth_failed();
        crate::metrics::record_plate_auth_failure(id, outcome);
        let mut guard = self.guard();
        let (failures, delay) = guard.throttle.failed(id, peer.ip(), now);
        if let Some(suppressed) = guard.may_warn(id, now) {
            drop(guard);
            warn!(camera = %id, %peer, outcome, code, reason = %reason, failures,
                next_try_in_s = delay.as_secs_f64(), suppressed,
                "plate camera authentication failed");
        }
        Denied::Unauthorized {
            stale: false,
            reason,
            code,
        }
    }

    /// The answer to a request that was not let through.
    pub(super) fn deny(&self, camera: &Camera, denied: &Denied) -> Response {
        match denied {
            Denied::Throttled(t) => throttled(*t),
            Denied::Unauthorized {
                stale,
                reason,
                code,
            } => {
                let refusal = Refusal::new(StatusCode::UNAUTHORIZED, reason.clone(), code);
                let mut response = refusal.into_response();
                let challenges = match camera.endpoint.auth {
                    PlateAuth::Digest => self.auth.digest_challenges(*stale, Instant::now()),
                    PlateAuth::Basic => vec![self.auth.basic_challenge()],
                };
                for challenge in challenges {
                    if let Ok(value) = HeaderValue::from_str(&challenge.to_string()) {
                        response
                            .headers_mut()
                            .append(header::WWW_AUTHENTICATE, value);
                    }
                }
                response
            }
        }
    }
}

/// `429` with `Retry-After` in whole seconds (at least 1).
fn throttled(t: Throttled) -> Response {
    let wait = t.retry_after();
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let reason = match t {
        Throttled::Source(_) => {
            format!("too many wrong credentials from this address: try again in {seconds} s")
        }
        Throttled::Camera(_) => format!(
            "too many wrong credentials for this camera from many addresses: addresses it \
             has not posted from wait {seconds} s"
        ),
    };
    let body = serde_json::json!({
        "error": reason,
        "code": t.outcome(),
        "retry_after_s": seconds,
    });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}
