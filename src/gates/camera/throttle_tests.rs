use super::*;

fn ip(last: u8) -> IpAddr {
    IpAddr::from([10, 0, 0, last])
}

fn throttle() -> AuthThrottle {
    AuthThrottle::new(PlateAuthLimits::default())
}

#[test]
fn the_delay_doubles_after_the_free_failures_and_is_capped() {
    let t = throttle();
    assert_eq!(t.delay_after(4), Duration::ZERO);
    assert_eq!(t.delay_after(5), Duration::from_secs(1));
    assert_eq!(t.delay_after(6), Duration::from_secs(2));
    assert_eq!(t.delay_after(10), Duration::from_secs(32));
    assert_eq!(t.delay_after(40), Duration::from_secs(600));
    assert_eq!(t.delay_after(u32::MAX), Duration::from_secs(600));
}

#[test]
fn a_guesser_waits_and_the_camera_elsewhere_does_not() {
    let mut t = throttle();
    let now = Instant::now();
    for _ in 0..4 {
        assert!(t.check("cam", ip(66), now).is_ok());
        assert_eq!(t.failed("cam", ip(66), now).1, Duration::ZERO);
    }
    assert_eq!(t.failed("cam", ip(66), now), (5, Duration::from_secs(1)));
    assert_eq!(
        t.check("cam", ip(66), now),
        Err(Throttled::Source(Duration::from_secs(1)))
    );
    assert!(t.check("cam", ip(7), now).is_ok(), "another address");
    assert!(t.check("other", ip(66), now).is_ok(), "another camera");
    let later = now + Duration::from_secs(1);
    assert!(t.check("cam", ip(66), later).is_ok(), "after the wait");
    assert_eq!(t.failed("cam", ip(66), later).1, Duration::from_secs(2));
    t.succeeded("cam", ip(66));
    assert!(t.check("cam", ip(66), later).is_ok());
    assert_eq!(t.sources(), 0);
}

#[test]
fn failures_long_ago_are_forgotten() {
    let mut t = throttle();
    let now = Instant::now();
    for _ in 0..5 {
        t.failed("cam", ip(66), now);
    }
    let much_later = now + FORGET_AFTER + Duration::from_secs(2);
    assert_eq!(t.failed("cam", ip(66), much_later), (1, Duration::ZERO));
}

#[test]
fn many_addresses_trip_the_camera_and_only_known_addresses_are_checked() {
    let mut t = throttle();
    let now = Instant::now();
    t.succeeded("cam", ip(1));
    for i in 0..30u8 {
        // Four tries each from many addresses: none reaches its own delay.
        assert!(t.check("cam", ip(100 + i / 4), now).is_ok());
        t.failed("cam", ip(100 + i / 4), now);
    }
    let wait = t.check("cam", ip(200), now).unwrap_err();
    assert_eq!(wait, Throttled::Camera(CAMERA_WINDOW));
    assert!(
        t.check("cam", ip(1), now).is_ok(),
        "the camera's own address"
    );
    assert!(t.check("other", ip(200), now).is_ok(), "another camera");
    assert!(
        t.check("cam", ip(200), now + CAMERA_WINDOW).is_ok(),
        "the next minute"
    );
}

#[test]
fn the_map_stays_bounded_and_the_oldest_goes_first() {
    let limits = PlateAuthLimits {
        max_sources: 16,
        camera_failures_per_minute: 10_000,
        ..PlateAuthLimits::default()
    };
    let mut t = AuthThrottle::new(limits);
    let now = Instant::now();
    for _ in 0..5 {
        t.failed("cam", ip(0), now);
    }
    assert!(t.check("cam", ip(0), now).is_err());
    for i in 1..=200u16 {
        let addr = IpAddr::from([10, 1, (i >> 8) as u8, i as u8]);
        t.failed("cam", addr, now);
        assert!(t.sources() <= 16);
    }
    assert!(
        t.check("cam", ip(0), now).is_ok(),
        "the oldest pair was forgotten"
    );
}

#[test]
fn the_log_gate_lets_one_warning_through_per_camera_and_counts_the_rest() {
    let mut g = LogGate::default();
    let now = Instant::now();
    assert_eq!(g.admit("cam", now), Some(0));
    assert_eq!(g.admit("cam", now), None);
    assert_eq!(g.admit("cam", now + Duration::from_secs(1)), None);
    assert_eq!(g.admit("other", now), Some(0));
    assert_eq!(g.admit("cam", now + LogGate::EVERY), Some(2));
}

mod props {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Step {
        Fail(u8, u8),
        Succeed(u8, u8),
        Wait(u16),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            6 => (0..3u8, 0..40u8).prop_map(|(c, a)| Step::Fail(c, a)),
            1 => (0..3u8, 0..40u8).prop_map(|(c, a)| Step::Succeed(c, a)),
            2 => (0..5_000u16).prop_map(Step::Wait),
        ]
    }

    proptest! {
        /// Whatever arrives: memory stays within its cap; an address the camera just
        /// posted from is checked at once; nothing waits longer than the longest delay or
        /// the rest of a minute; and an address under its free failures is only ever held
        /// back by the camera-wide count.
        #[test]
        fn the_throttle_stays_bounded_and_never_holds_back_the_camera_it_just_served(
            steps in proptest::collection::vec(step(), 1..300)
        ) {
            let limits = PlateAuthLimits { max_sources: 16, camera_failures_per_minute: 20, ..PlateAuthLimits::default() };
            let mut t = AuthThrottle::new(limits);
            let mut now = Instant::now();
            let mut fails: HashMap<(u8, u8), u32> = HashMap::new();
            for s in steps {
                match s {
                    Step::Fail(c, a) => {
                        let (camera, ip) = (format!("c{c}"), ip(a));
                        if t.check(&camera, ip, now).is_ok() {
                            t.failed(&camera, ip, now);
                            *fails.entry((c, a)).or_default() += 1;
                        }
                    }
                    Step::Succeed(c, a) => {
                        let (camera, ip) = (format!("c{c}"), ip(a));
                        if t.check(&camera, ip, now).is_ok() {
                            t.succeeded(&camera, ip);
                            fails.remove(&(c, a));
                            prop_assert_eq!(t.check(&camera, ip, now), Ok(()));
                        }
                    }
                    Step::Wait(ms) => now += Duration::from_millis(u64::from(ms)),
                }
                prop_assert!(t.sources() <= 16);
                for c in 0..3u8 {
                    for a in 0..40u8 {
                        match t.check(&format!("c{c}"), ip(a), now) {
                            Ok(()) => {}
                            Err(Throttled::Source(wait)) => {
                                prop_assert!(wait <= Duration::from_secs(600));
                                prop_assert!(fails.get(&(c, a)).copied().unwrap_or(0) >= 5);
                            }
                            Err(Throttled::Camera(wait)) => prop_assert!(wait <= CAMERA_WINDOW),
                        }
                    }
                }
            }
        }
    }
}
