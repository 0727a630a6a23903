//! One log subscriber for the whole test binary: every test's logs on the test's output
//! (errors only unless RUST_LOG says more), and the controller's own events at info and
//! above kept in memory, so a test can check what reaches the log (and what never does).
//! A process has one global subscriber; whichever test starts first installs this one.

use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

/// The kept log, installing the subscriber on first use.
pub fn captured() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        let shown = fmt::layer()
            .with_test_writer()
            .with_filter(EnvFilter::from_default_env());
        let kept = fmt::layer()
            .with_ansi(false)
            .with_writer(move || Sink(Arc::clone(&sink)))
            .with_filter(Targets::new().with_target("customs_edge", tracing::Level::INFO));
        let _ = tracing_subscriber::registry()
            .with(shown)
            .with(kept)
            .try_init();
        buf
    })
    .clone()
}

/// Install the subscriber (once per process).
pub fn init() {
    captured();
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
