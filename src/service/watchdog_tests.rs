use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::*;

fn beat(name: &str, last: Option<Instant>, stall_after_ms: u64) -> Beat {
    Beat {
        name: name.to_owned(),
        last,
        stall_after: Duration::from_millis(stall_after_ms),
    }
}

/// The instant `ms` milliseconds before `now`.
fn ago(now: Instant, ms: u64) -> Instant {
    now.checked_sub(Duration::from_millis(ms))
        .expect("an instant that long ago")
}

#[test]
fn loops_beaten_within_their_bound_are_fresh() {
    let now = Instant::now();
    let beats = [
        beat("line L1", Some(ago(now, 900)), 1000),
        beat("store writer", Some(now), 1000),
    ];
    assert!(stalled(&beats, now).is_empty());
}

#[test]
fn a_loop_past_its_bound_is_stalled_by_name_and_the_others_are_not() {
    let now = Instant::now();
    let beats = [
        beat("line L1", Some(ago(now, 1001)), 1000),
        beat("line L2", Some(ago(now, 999)), 1000),
        beat("gate 01", Some(ago(now, 60_000)), 10_000),
    ];
    assert_eq!(stalled(&beats, now), ["line L1", "gate 01"]);
}

#[test]
fn a_loop_that_has_not_started_is_not_judged() {
    let now = Instant::now();
    assert!(stalled(&[beat("line L1", None, 0)], now).is_empty());
}

#[test]
fn a_beat_after_now_counts_as_fresh() {
    // The pinger read `now` before a loop beat: no underflow, no stall.
    let now = Instant::now();
    let beats = [beat("line L1", Some(now + Duration::from_millis(5)), 0)];
    assert!(stalled(&beats, now).is_empty());
}

#[test]
fn a_pulse_is_unset_until_beaten_then_remembers_the_beat() {
    let pulse = Pulse::new();
    assert_eq!(pulse.last(), None);
    let before = Instant::now();
    pulse.clone().beat();
    let last = pulse.last().expect("beaten");
    assert!(
        last + Duration::from_millis(2) >= before,
        "{last:?} vs {before:?}"
    );
    assert!(last <= Instant::now());
}

#[test]
fn the_registry_judges_every_pulse_it_watches() {
    let watchdog = Watchdog::default();
    let (fresh, silent) = (Pulse::new(), Pulse::new());
    watchdog.watch("fresh", fresh.clone(), Duration::from_secs(60));
    watchdog.watch("silent", silent.clone(), Duration::ZERO);
    fresh.beat();
    silent.beat();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(watchdog.len(), 2);
    assert_eq!(watchdog.stalled_now(), ["silent"]);
}

/// Beats `pulse` every 10 ms until the returned token is cancelled: a loop at work.
fn keep_beating(pulse: Pulse) -> CancellationToken {
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        while !token.is_cancelled() {
            pulse.beat();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    stop
}

/// Waits (10 s at most) until the recorded pings satisfy `until`; returns their count then.
async fn wait_for(seen: &Mutex<Vec<Ping>>, until: impl Fn(&[Ping]) -> bool) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        {
            let pings = seen.lock().unwrap();
            if until(&pings) {
                return pings.len();
            }
            assert!(Instant::now() < deadline, "{pings:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_stalled_loop_stops_the_pings_until_it_beats_again() {
    let watchdog = Watchdog::default();
    let line = Pulse::new();
    watchdog.watch("line L1", line.clone(), Duration::from_millis(150));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let sink = seen.clone();
    let pinger = tokio::spawn(ping_loop(
        watchdog,
        Duration::from_millis(20),
        move |p| sink.lock().unwrap().push(p),
        shutdown.clone(),
    ));

    let working = keep_beating(line.clone());
    wait_for(&seen, |p| {
        p.iter().filter(|p| **p == Ping::Alive).count() >= 3
    })
    .await;
    working.cancel(); // the line task stalls
    let stalled_at = wait_for(&seen, |p| p.iter().any(|p| matches!(p, Ping::Stalled(_)))).await;
    let working = keep_beating(line); // and makes progress again
    wait_for(&seen, |p| p[stalled_at..].contains(&Ping::Alive)).await;
    working.cancel();
    shutdown.cancel();
    pinger.await.unwrap();

    let pings = seen.lock().unwrap().clone();
    let first_stall = pings
        .iter()
        .position(|p| matches!(p, Ping::Stalled(_)))
        .unwrap();
    assert!(
        pings[..first_stall].iter().all(|p| *p == Ping::Alive),
        "{pings:?}"
    );
    assert_eq!(
        pings[first_stall],
        Ping::Stalled(vec!["line L1".to_owned()])
    );
    let back = first_stall
        + pings[first_stall..]
            .iter()
            .position(|p| *p == Ping::Alive)
            .unwrap();
    assert!(
        pings[first_stall..back - 1]
            .iter()
            .all(|p| matches!(p, Ping::Stalled(_))),
        "no ping while stalled: {pings:?}"
    );
    assert_eq!(pings[back - 1], Ping::Recovered, "{pings:?}");
}

#[tokio::test]
async fn a_changing_view_beats_its_pulse() {
    let (tx, rx) = tokio::sync::watch::channel(0_u32);
    let pulse = Pulse::new();
    let shutdown = CancellationToken::new();
    beat_on_change(rx, pulse.clone(), shutdown.clone());
    assert_eq!(pulse.last(), None);
    tx.send_modify(|v| *v += 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while pulse.last().is_none() {
        assert!(Instant::now() < deadline, "never beaten");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
}
