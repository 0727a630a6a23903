//! The store writer under bulk load: how long a control write (a parcel's entry, as a line
//! writes it) waits for its commit while the platform link's bulk work runs through the same
//! writer — declaration lists ingested in downlink messages and an outbox backlog drained by
//! cumulative acks, each deleted in steps (`outbox::ack_in_chunks`).
//!
//! - `BENCH_LISTS` (100,000) lists in messages of `BENCH_PER_MESSAGE` (1,000), each message
//!   applied whole as one bulk write (`store::downlink::apply`);
//! - `BENCH_BACKLOG` (100,000) outbox messages, acknowledged every `BENCH_ACK_EVERY_MS` (50)
//!   ms by `BENCH_ACK_STEP` (2,000) at a time;
//! - control writes every `BENCH_CONTROL_EVERY_MS` (5) ms until the bulk work is done.
//!
//! Ends with one line:
//! `writer-bench: control_p50_ms= control_p99_ms= control_max_ms= control_writes=
//! bulk_rows_per_s= lists= acked=`, where bulk_rows_per_s counts the lists written and the
//! outbox rows deleted per second of the run.
//!
//!     cargo run --release --example writer_bench

#[path = "common/backlog.rs"]
mod backlog;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use customs_edge::store::{Store, downlink, outbox, parcels};
use customs_edge_protocol::declaration::{DeclarationList, GoodsLine};
use customs_edge_protocol::downlink::{Downlink, Lists};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A released list with one goods line, as the platform sends them.
fn list(n: u64) -> DeclarationList {
    DeclarationList {
        logistics_no: format!("WB{n:012}"),
        invt_no: Some(format!("35112026E{:09}", n % 1_000_000_000)),
        order_no: Some(format!("WBO{n:012}")),
        trade_mode: Some("9610".to_owned()),
        ebc_code: None,
        ebc_name: None,
        country: Some("MYS".to_owned()),
        gross_weight: Some(0.5 + (n % 40) as f64 * 0.1),
        net_weight: None,
        pack_no: Some(1),
        total_package_no: Some(format!("BAG{:06}", n / 100)),
        loct_no: Some("3511W001".to_owned()),
        return_status: 800,
        return_info: None,
        goods: vec![GoodsLine {
            gnum: 1,
            item_name: "棉制T恤".to_owned(),
            gcode: Some("6109100021".to_owned()),
            qty: Some(1.0),
            unit: Some("011".to_owned()),
            price: Some(35.0),
            total_price: Some(35.0),
            currency: Some("142".to_owned()),
        }],
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let lists: u64 = env_or("BENCH_LISTS", 100_000);
    let per_message: u64 = env_or("BENCH_PER_MESSAGE", 1_000).max(1);
    let backlog_n: u64 = env_or("BENCH_BACKLOG", 100_000);
    let ack_every = Duration::from_millis(env_or("BENCH_ACK_EVERY_MS", 50));
    let ack_step: u64 = env_or("BENCH_ACK_STEP", 2_000).max(1);
    let control_every = Duration::from_millis(env_or("BENCH_CONTROL_EVERY_MS", 5).max(1));

    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    eprintln!("writer-bench: filling an outbox backlog of {backlog_n}");
    backlog::fill(&store, backlog_n).await?;
    eprintln!("writer-bench: running");

    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));

    let ingest = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut first = 0;
            while first < lists {
                let upto = (first + per_message).min(lists);
                let message = Downlink::Lists(Lists {
                    lists: (first..upto).map(list).collect(),
                });
                let id = format!("writer-bench-{first}");
                store
                    .writer
                    .write_bulk(move |tx| downlink::apply(tx, &id, &message))
                    .await?;
                first = upto;
            }
            anyhow::Ok(lists)
        })
    };
    let acks = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut acked = 0;
            let mut tick = tokio::time::interval(ack_every);
            while acked < backlog_n {
                tick.tick().await;
                acked = (acked + ack_step).min(backlog_n);
                outbox::ack_in_chunks(&store.writer, "decisions", acked).await?;
            }
            anyhow::Ok(acked)
        })
    };
    let control = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut tick = tokio::time::interval(control_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut n: u16 = 0;
            while !done.load(Ordering::Relaxed) {
                tick.tick().await;
                n = n.wrapping_add(1);
                let at = customs_edge::store::now();
                let asked = Instant::now();
                store
                    .writer
                    .write(move |tx| parcels::insert_entry(tx, "L1", n, &at, 400))
                    .await?;
                latencies.push(asked.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(latencies)
        })
    };

    let lists_in = ingest.await??;
    let acked = acks.await??;
    let elapsed = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let mut latencies = control.await??;
    latencies.sort_by(f64::total_cmp);
    let rows = lists_in + acked;
    println!(
        "writer-bench: control_p50_ms={:.2} control_p99_ms={:.2} control_max_ms={:.2} \
         control_writes={} bulk_rows_per_s={:.0} lists={lists_in} acked={acked}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0),
        latencies.len(),
        rows as f64 / elapsed,
    );
    Ok(())
}
