//! Builds an outbox backlog for `scripts/bench-sync.sh`: a data directory whose outbox holds
//! N sort results (as a site that lost its platform link for a while would have), written
//! through the same store functions the controller uses.
//!
//!     cargo run --release --example sync_backlog -- DATA_DIR N

#[path = "common/backlog.rs"]
mod backlog;

use customs_edge::store::Store;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: sync_backlog DATA_DIR N");
    };
    let n: u64 = n.parse()?;
    let store = Store::open(std::path::Path::new(&dir))?;
    backlog::fill(&store, n).await?;
    eprintln!("sync_backlog: {n} sort results in the outbox of {dir}");
    Ok(())
}
