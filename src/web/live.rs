//! Live updates for the consoles over Server-Sent Events: `GET /api/events`.
//!
//! One stream carries every kind of change, each as a named event:
//! - `parcel` — a parcel as committed ([`crate::store::parcels::ParcelView`]), as soon as the line announces it;
//! - `line` — a line's belt ([`BeltView`]) when it changed, at most every [`TICK`];
//! - `gate` — a gate lane ([`LaneView`]) when it changed, at most every [`TICK`];
//! - `resync` — this client fell behind and missed parcel events: reload the lists.
//!
//! Belts and lanes change on every poll; sampling them on a tick keeps a console's traffic
//! bounded however fast the devices are polled, and a console never sees a stale one for
//! longer than a tick.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream::{self, StreamExt as _};
use tokio::sync::watch;
use tokio_stream::wrappers::BroadcastStream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppState, WebState};
use crate::gates::view::LaneView;
use crate::sorting::BeltView;

/// How often belts and lanes are looked at for changes.
pub(super) const TICK: Duration = Duration::from_millis(250);

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// One Server-Sent Event of `GET /api/events`, as a client's SSE parser sees it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the stream; the events are built by `named`
struct LiveEvent {
    /// `parcel`, `line`, `gate` or `resync`.
    event: String,
    /// The JSON of the view the event names (`lagged` for `resync`).
    data: String,
}

/// Live updates: `parcel`, `line`, `gate` and `resync` events (see the module docs).
#[utoipa::path(get, path = "/api/events", tag = "line",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "A Server-Sent Events stream: `parcel` events carry a ParcelView, `line` a BeltView, `gate` a LaneView; `resync` asks the console to reload", content_type = "text/event-stream", body = LiveEvent),
        super::auth::NotLoggedIn,
        (status = 429, description = "This session holds the most live-update streams already (8)", body = super::auth::ErrorBody)))]
async fn events(
    State(state): State<AppState>,
    State(auth): State<super::auth::Auth>,
    super::auth::Require(who, ..): super::auth::Require<super::auth::AnyRole>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, super::auth::Denied> {
    // Held by the stream: its place frees when the client goes.
    let slot = auth.stream_slot(&who)?;
    let parcels = BroadcastStream::new(state.events.subscribe()).filter_map(|item| async move {
        match item {
            Ok(view) => named("parcel", &view),
            // A slow console missed some updates: tell it to reload the list.
            Err(_lagged) => Some(Event::default().event("resync").data("lagged")),
        }
    });
    let mut watched = Watched {
        belts: state.belts.clone(),
        lanes: state
            .gates
            .as_ref()
            .map(crate::gates::Gates::watch_views)
            .unwrap_or_default(),
    };
    // A console that just connected gets every belt and lane at the first tick.
    watched
        .belts
        .iter_mut()
        .for_each(watch::Receiver::mark_changed);
    watched
        .lanes
        .iter_mut()
        .for_each(watch::Receiver::mark_changed);
    let sampled = stream::unfold(
        (watched, tokio::time::interval(TICK)),
        |(mut watched, mut tick)| async move {
            tick.tick().await;
            let changed = watched.changed();
            Some((stream::iter(changed), (watched, tick)))
        },
    )
    .flatten();
    // A revoked session's stream ends at once (the body finishes; the console reconnects
    // and is told to log in).
    let ended = slot.closed();
    let merged = stream::select(parcels, sampled)
        .map(move |event| {
            let _held = &slot;
            Ok(event)
        })
        .take_until(ended);
    Ok(Sse::new(merged).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// What one client watches, each receiver remembering what that client has seen.
struct Watched {
    belts: Vec<watch::Receiver<BeltView>>,
    lanes: Vec<watch::Receiver<LaneView>>,
}

impl Watched {
    /// An event for each belt and lane that changed since the last look. The first look
    /// sends them all, so a console that just connected has the whole picture.
    fn changed(&mut self) -> Vec<Event> {
        fn take<T: serde::Serialize>(rx: &mut watch::Receiver<T>, name: &str) -> Option<Event> {
            // A closed channel (the task stopped) has nothing new to tell.
            if !rx.has_changed().unwrap_or(false) {
                return None;
            }
            named(name, &*rx.borrow_and_update())
        }
        let belts = self.belts.iter_mut().filter_map(|rx| take(rx, "line"));
        let lanes = self.lanes.iter_mut().filter_map(|rx| take(rx, "gate"));
        belts.chain(lanes).collect()
    }
}

fn named<T: serde::Serialize>(name: &str, data: &T) -> Option<Event> {
    Event::default().event(name).json_data(data).ok()
}

impl Watched {
    #[cfg(test)]
    fn new(belts: Vec<watch::Receiver<BeltView>>, lanes: Vec<watch::Receiver<LaneView>>) -> Self {
        Self { belts, lanes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_belt_is_sent_once_per_change_and_first_of_all_on_connect() {
        let (tx, rx) = watch::channel(BeltView::default());
        let mut rx = rx;
        rx.mark_changed();
        let mut watched = Watched::new(vec![rx], Vec::new());
        assert_eq!(
            watched.changed().len(),
            1,
            "a new client gets the belt at once"
        );
        assert!(watched.changed().is_empty(), "nothing changed since");
        tx.send_modify(|b| b.speed_mm_s = 500);
        tx.send_modify(|b| b.speed_mm_s = 600);
        assert_eq!(
            watched.changed().len(),
            1,
            "two changes in one tick make one event"
        );
        drop(tx);
        assert!(watched.changed().is_empty(), "a stopped line sends nothing");
    }
}
