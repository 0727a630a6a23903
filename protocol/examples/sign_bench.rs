//! The cost of signing the platform link, per message, on one core: Ed25519 seal (the
//! sender) and open (the receiver: wrapper parse, signature check, expiry) of payloads the
//! size of what the link carries — a sort result (~1 KiB, the drain bench's messages), an
//! ack, and a batch of 1,000 declaration lists (~450 KiB, the ingest bench's messages).
//!
//!     cargo run --release -p customs-edge-protocol --example sign_bench [-- SECONDS_PER_CASE]
//!
//! Prints one line per case: `sign-bench: case=… bytes=… seal_us=… open_us=…
//! per_core_msgs_per_s=… seal_wall_us=… open_wall_us=…`. The `_us` figures are CPU time of
//! this process per call (from `/proc/self/stat`), so a machine busy with other work does
//! not inflate them; the `_wall_us` ones are elapsed time.

use std::time::{Duration, Instant};

use customs_edge_protocol::signed::{SealKey, TrustedKeys};

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let budget = Duration::from_secs_f64(secs);
    let key = SealKey::from_seed(&[5; 32]);
    let mut trusted = TrustedKeys::default();
    trusted.add(key.public());
    let sort_result = envelope(&"x".repeat(900));
    let ack = envelope("");
    let lists = envelope(&"l".repeat(450 * 1024));
    for (case, topic, msg) in [
        (
            "sort_result",
            "customs-edge/3511W001/up/decisions",
            &sort_result,
        ),
        ("ack", "customs-edge/3511W001/down/ack", &ack),
        (
            "lists_batch_1000",
            "customs-edge/3511W001/down/lists",
            &lists,
        ),
    ] {
        let exp = i64::MAX;
        let ((seal_us, seal_wall), sealed) =
            time_per_call(budget, || key.seal(topic, msg.as_bytes(), exp));
        let ((open_us, open_wall), _) = time_per_call(budget, || {
            trusted
                .open(topic, &sealed, 0)
                .expect("a sealed message opens")
                .msg
                .len()
        });
        println!(
            "sign-bench: case={case} bytes={} seal_us={seal_us:.1} open_us={open_us:.1} \
             per_core_msgs_per_s={:.0} seal_wall_us={seal_wall:.1} open_wall_us={open_wall:.1}",
            msg.len(),
            1e6 / (seal_us + open_us)
        );
    }
}

/// A plausible envelope whose body carries `filler`.
fn envelope(filler: &str) -> String {
    format!(
        r#"{{"schema":1,"id":"3511W001:decisions:41","stream":"decisions","seq":41,"site":"3511W001","created":"2026-12-06T10:00:00.000Z","kind":"sort_result","body":{{"parcel_id":41,"filler":"{filler}"}}}}"#
    )
}

/// CPU time of this process so far, in microseconds (user + system, from `/proc`).
fn cpu_us() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (in parentheses): utime and stime are the 12th and
    // 13th, in clock ticks of 1/100 s on Linux.
    let rest = stat.rsplit(')').next().expect("a stat line");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks * 10_000.0
}

/// Mean (CPU, wall) microseconds per call of `f` over about `budget`, and the last result.
fn time_per_call<T>(budget: Duration, mut f: impl FnMut() -> T) -> ((f64, f64), T) {
    let mut out = f();
    let cpu0 = cpu_us();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..16 {
            out = std::hint::black_box(f());
        }
        n += 16;
    }
    let wall = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    ((((cpu_us() - cpu0) / n as f64), wall), out)
}
