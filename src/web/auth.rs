//! Who is asking, and may they: accounts and roles, sessions, CSRF, login lockout.
//!
//! - **First start.** Until an administrator exists, every guarded `/api` route answers 409
//!   "set up the administrator first"; `POST /api/setup` creates one, once. Unattended
//!   installs set `CUSTOMS_EDGE_ADMIN_USER` and `CUSTOMS_EDGE_ADMIN_PASSWORD` (or
//!   `_PASSWORD_FILE`), or run `customs-edge accounts create-admin` ([`bootstrap`]).
//! - **Who.** `guard` runs before every `/api` route except setup and login. It takes the
//!   principal from `Authorization: Bearer <token>` (an `[[operators]]` token of the config,
//!   for API clients: operator role, no cookie, no CSRF) or else from the `ce_session`
//!   cookie ([`session`]); an explicit `Authorization` header wins over a cookie.
//! - **CSRF.** A change (POST, PUT, PATCH, DELETE) made with the cookie must carry the
//!   session's token in `X-CSRF-Token`, or it is refused with 403.
//! - **Roles.** A viewer changes nothing but their own session and password (enforced
//!   here, for every route); each handler names who may call it with [`Require`] and a
//!   [`Policy`] (`Require<Officers>`).
//! - **Wrong passwords** slow down the next try of that name from that address
//!   exponentially ([`throttle`]); nobody can lock an account for everyone, and an unknown
//!   name is answered like a known one. Each client address also gets
//!   [`limiter::ATTEMPTS_PER_WINDOW`] login attempts a minute.

mod accounts_api;
pub mod bootstrap;
mod client;
mod denied;
mod hashers;
pub mod limiter;
mod own_password;
pub mod password;
mod routes;
pub mod session;
mod sessions_api;
pub mod setup_code;
pub mod streams;
pub mod throttle;

use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use crate::store::accounts::Role;
use crate::store::{Store, StoreError, accounts};
pub use denied::{BadJson, Denied, ErrorBody, NotLoggedIn};

pub(super) use client::client_addr;
pub(crate) use client::client_ip;
pub use client::{ClientAddr, resolve_client};
pub(super) use routes::{protected_routes, public_routes};

/// The auth half of the web state: a cheap `Clone` handle.
#[derive(Clone, Debug)]
pub struct Auth {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    /// Bearer tokens of `[[operators]]` are checked by the gates, which hold them.
    gates: Option<crate::gates::Gates>,
    /// Set once an administrator is seen; never unset, since the last enabled
    /// administrator cannot be disabled.
    set_up: AtomicBool,
    /// The environment bootstrap, run once, awaited by every request that needs accounts.
    bootstrap: tokio::sync::OnceCell<()>,
    /// A `std` mutex: a map lookup, never held across `.await`.
    limiter: std::sync::Mutex<limiter::Limiter>,
    /// A `std` mutex for the same reason: the wrong-password delays per name and address.
    throttle: std::sync::Mutex<throttle::Throttle>,
    /// The threads password hashes run on, two: each hash takes 19 MiB and a core for tens
    /// of ms.
    hashers: hashers::Hashers,
    /// The one-time code a first-start setup from another host must give
    /// ([`setup_code`]); loopback needs none.
    setup_code: String,
    /// Open live-update streams per session.
    streams: streams::StreamBook,
}

impl Auth {
    /// Auth over `store`; starts the environment bootstrap when a runtime is running.
    pub fn new(store: Store, gates: Option<crate::gates::Gates>) -> Self {
        let auth = Self {
            inner: Arc::new(Inner {
                store,
                gates,
                set_up: AtomicBool::new(false),
                bootstrap: tokio::sync::OnceCell::new(),
                limiter: std::sync::Mutex::new(limiter::Limiter::default()),
                throttle: std::sync::Mutex::new(throttle::Throttle::default()),
                hashers: hashers::Hashers::start(2),
                setup_code: setup_code::new_code(),
                streams: streams::StreamBook::default(),
            }),
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let auth = auth.clone();
            rt.spawn(async move {
                auth.bootstrapped().await;
                if let Ok(false) = auth.is_set_up().await {
                    setup_code::announce(auth.store(), &auth.inner.setup_code);
                }
            });
        }
        auth
    }

    /// A live-update stream's place for `who`, or a 429 when its session holds the most.
    pub(crate) fn stream_slot(&self, who: &Principal) -> Result<streams::StreamSlot, Denied> {
        let (key, account) = match &who.via {
            Via::Session {
                token_sha256,
                account_id,
                ..
            } => (token_sha256.clone(), Some(*account_id)),
            Via::Bearer => (format!("bearer:{}", who.actor), None),
        };
        self.inner.streams.take(&key, account).ok_or_else(|| {
            Denied::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "this session has {} live-update streams open already; close a console tab",
                    streams::MAX_STREAMS_PER_SESSION
                ),
            )
            .retry_after(5)
        })
    }

    /// The live-update streams of sessions and accounts, to count and close them.
    pub(crate) fn streams(&self) -> &streams::StreamBook {
        &self.inner.streams
    }

    /// Whether `given` is this start's setup code.
    pub(crate) fn setup_code_matches(&self, given: &str) -> bool {
        session::same_secret(given.trim(), &self.inner.setup_code)
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Wait until the environment bootstrap has run (at most once per process).
    pub async fn bootstrapped(&self) {
        self.inner
            .bootstrap
            .get_or_init(|| bootstrap::from_env(&self.inner.store))
            .await;
    }

    /// Whether an administrator exists.
    pub async fn is_set_up(&self) -> Result<bool, StoreError> {
        self.bootstrapped().await;
        if self.inner.set_up.load(Ordering::Acquire) {
            return Ok(true);
        }
        let yes = self.inner.store.reader.read(accounts::admin_exists).await?;
        if yes {
            self.inner.set_up.store(true, Ordering::Release);
        }
        Ok(yes)
    }

    /// Run `f` (a password hash or verification) on a hashing thread.
    pub(crate) async fn hashing<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, Denied> {
        self.inner
            .hashers
            .run(f)
            .await
            .ok_or_else(Denied::unavailable)
    }

    /// Count a login attempt from `client`; `Err(seconds to wait)` when over the limit.
    pub(crate) fn login_attempt(&self, client: Option<IpAddr>) -> Result<(), u64> {
        let mut limiter = self.inner.limiter.lock().expect("login limiter lock");
        limiter
            .attempt(client, std::time::Instant::now())
            .map_err(|wait| wait.as_secs().max(1))
    }

    /// `Err(seconds to wait)` while `key` waits after wrong passwords.
    pub(crate) fn throttled(&self, key: &throttle::Key) -> Result<(), u64> {
        let t = self.inner.throttle.lock().expect("login throttle lock");
        t.check(key, std::time::Instant::now())
            .map_err(|wait| wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
    }

    /// Count a wrong password by `key`.
    pub(crate) fn wrong_password(&self, key: throttle::Key) {
        let mut t = self.inner.throttle.lock().expect("login throttle lock");
        t.failed(key, std::time::Instant::now());
    }

    /// An administrator reset `username`'s password: its delays end everywhere.
    pub(crate) fn password_reset(&self, username: &str) {
        let mut t = self.inner.throttle.lock().expect("login throttle lock");
        t.forget_name(username);
    }

    /// The right password by `key`: its delays start over.
    pub(crate) fn right_password(&self, key: &throttle::Key) {
        let mut t = self.inner.throttle.lock().expect("login throttle lock");
        t.succeeded(key);
    }
}

/// Who made a request, as `guard` found it.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The name written into records and the audit log.
    pub actor: String,
    /// The name shown on the consoles.
    pub display_name: String,
    /// The account's role (operator for a bearer token).
    pub role: Role,
    /// How the request proved it.
    pub via: Via,
}

/// How a request authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    /// The session cookie.
    Session {
        /// The account's id.
        account_id: i64,
        /// SHA-256 of the session token.
        token_sha256: String,
        /// The session's CSRF token.
        csrf: String,
    },
    /// An `[[operators]]` bearer token (API clients).
    Bearer,
}

/// The roles a route admits.
pub trait Policy {
    /// Who may.
    const ROLES: &'static [Role];
}

/// Any logged-in role.
#[derive(Debug)]
pub struct AnyRole;
/// Operators and administrators: the line and the gates.
#[derive(Debug)]
pub struct Operators;
/// Customs officers only: flags, X-ray judgements, inspection results.
#[derive(Debug)]
pub struct Officers;
/// Administrators only: accounts and settings.
#[derive(Debug)]
pub struct Admins;
/// Everyone who works the site (operators, officers, administrators), not viewers:
/// recording the retrieval of an intercepted parcel.
#[derive(Debug)]
pub struct Staff;

impl Policy for AnyRole {
    const ROLES: &'static [Role] = &Role::ALL;
}
impl Policy for Operators {
    const ROLES: &'static [Role] = &[Role::Operator, Role::Admin];
}
impl Policy for Officers {
    const ROLES: &'static [Role] = &[Role::Officer];
}
impl Policy for Staff {
    const ROLES: &'static [Role] = &[Role::Operator, Role::Officer, Role::Admin];
}
impl Policy for Admins {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// Extracts the [`Principal`] and refuses with 403 unless its role is one `P` admits.
#[derive(Debug)]
pub struct Require<P>(pub Principal, pub PhantomData<P>);

impl<S: Send + Sync, P: Policy> FromRequestParts<S> for Require<P> {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Denied> {
        let who = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| Denied::new(StatusCode::UNAUTHORIZED, "log in first"))?;
        if !P::ROLES.contains(&who.role) {
            let allowed: Vec<&str> = P::ROLES.iter().map(|r| r.as_str()).collect();
            return Err(Denied::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this needs the role {}; {} is {}",
                    allowed.join(" or "),
                    who.actor,
                    who.role
                ),
            ));
        }
        Ok(Self(who, PhantomData))
    }
}

/// The only changes a viewer makes: to their own session and their own password.
const VIEWER_MAY_POST: [&str; 2] = ["/api/logout", "/api/me/password"];
/// A viewer may also end their own sessions (`DELETE /api/sessions/{id}` checks whose).
const VIEWER_MAY_DELETE_UNDER: &str = "/api/sessions/";

/// Before every guarded `/api` route: setup done, who is asking, CSRF, viewers read only.
pub(super) async fn guard(State(auth): State<Auth>, mut req: Request, next: Next) -> Response {
    match auth.is_set_up().await {
        Ok(true) => {}
        Ok(false) => return Denied::setup_required().into_response(),
        Err(e) => return Denied::from(e).into_response(),
    }
    let who = match authenticate(&auth, req.headers()).await {
        Ok(who) => who,
        Err(denied) => return denied.into_response(),
    };
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes {
        if let Via::Session { csrf, .. } = &who.via {
            let sent = req
                .headers()
                .get(session::CSRF_HEADER)
                .and_then(|v| v.to_str().ok());
            match sent {
                None => {
                    return Denied::new(
                        StatusCode::FORBIDDEN,
                        "this change needs the X-CSRF-Token header (from the login or GET /api/me)",
                    )
                    .with("csrf", "missing")
                    .into_response();
                }
                Some(t) if !session::same_secret(t, csrf) => {
                    return Denied::new(
                        StatusCode::FORBIDDEN,
                        "the X-CSRF-Token header does not match this session; reload and log in again",
                    )
                    .with("csrf", "mismatch")
                    .into_response();
                }
                Some(_) => {}
            }
        }
        let own_session = *req.method() == Method::DELETE
            && req.uri().path().starts_with(VIEWER_MAY_DELETE_UNDER);
        if who.role == Role::Viewer && !own_session && !VIEWER_MAY_POST.contains(&req.uri().path())
        {
            return Denied::new(StatusCode::FORBIDDEN, "a viewer cannot change anything")
                .into_response();
        }
    }
    req.extensions_mut().insert(who);
    next.run(req).await
}

async fn authenticate(auth: &Auth, headers: &HeaderMap) -> Result<Principal, Denied> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Denied::new(
                    StatusCode::UNAUTHORIZED,
                    "Authorization takes an operator's token (Bearer …); people log in instead",
                )
            })?;
        let actor = auth
            .inner
            .gates
            .as_ref()
            .and_then(|g| g.operator_for_token(token))
            .ok_or_else(|| {
                tracing::warn!("request refused: unknown bearer token");
                Denied::new(
                    StatusCode::FORBIDDEN,
                    "this token belongs to no operator in the config's [[operators]]",
                )
            })?;
        return Ok(Principal {
            display_name: actor.clone(),
            actor,
            role: Role::Operator,
            via: Via::Bearer,
        });
    }
    let token = session::token_from(headers).ok_or_else(|| {
        Denied::new(StatusCode::UNAUTHORIZED, "log in first").with("login_required", true)
    })?;
    let hash = session::token_sha256(&token);
    let key = hash.clone();
    let found = auth
        .store()
        .reader
        .read(move |c| accounts::session(c, &key))
        .await?;
    let now = chrono::Utc::now();
    let ended = || {
        Denied::new(
            StatusCode::UNAUTHORIZED,
            "your session has ended; log in again",
        )
        .with("login_required", true)
    };
    let Some(s) = found else { return Err(ended()) };
    let idle_cutoff = crate::store::timestamp(now - session::IDLE_TIMEOUT);
    if s.account.disabled
        || s.expires_at <= crate::store::timestamp(now)
        || s.last_seen < idle_cutoff
    {
        return Err(ended());
    }
    if s.last_seen < crate::store::timestamp(now - session::TOUCH_EVERY) {
        let (key, at) = (hash.clone(), crate::store::timestamp(now));
        // Queued, not awaited: losing one touch costs a minute of idle time at most.
        let _ = auth
            .store()
            .writer
            .submit(move |tx| accounts::touch_session(tx, &key, &at))
            .await;
    }
    Ok(Principal {
        actor: s.account.username.clone(),
        display_name: s.account.display_name.clone(),
        role: s.account.role,
        via: Via::Session {
            account_id: s.account.id,
            token_sha256: hash,
            csrf: s.csrf_token,
        },
    })
}
