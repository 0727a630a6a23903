//! Process plumbing: logging setup and the shutdown signal.

use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `journal` when stderr is the systemd journal, `text` otherwise.
    Auto,
    /// Human-readable lines with fields.
    Text,
    /// One JSON object per event, for log collectors.
    Json,
    /// Native journal entries: each event's fields become journal fields (`EDGE_LINE=L1`),
    /// its level the entry's priority.
    Journal,
}

/// The prefix of our fields in the journal: `line` becomes `EDGE_LINE`, clear of the
/// journal's own fields (`MESSAGE`, `PRIORITY`, …).
const JOURNAL_FIELD_PREFIX: &str = "EDGE";

/// Install the global tracing subscriber. The filter comes from `RUST_LOG` (default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let format = match format {
        LogFormat::Auto if stderr_is_journal() => LogFormat::Journal,
        LogFormat::Auto => LogFormat::Text,
        other => other,
    };
    let mut journal_error = None;
    if format == LogFormat::Journal {
        match tracing_journald::layer() {
            Ok(layer) => {
                use tracing_subscriber::layer::SubscriberExt as _;
                use tracing_subscriber::util::SubscriberInitExt as _;
                let layer = layer.with_field_prefix(Some(JOURNAL_FIELD_PREFIX.to_owned()));
                tracing_subscriber::registry()
                    .with(filter())
                    .with(layer)
                    .init();
                return;
            }
            Err(e) => journal_error = Some(e),
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        _ => builder.init(),
    }
    if let Some(e) = journal_error {
        tracing::warn!(error = %e, "cannot reach the journal's socket; logging text to stderr");
    }
}

/// Whether stderr is the journal: systemd sets `JOURNAL_STREAM` to the device and inode of
/// the stream it connects stdout/stderr to; a child whose stderr was redirected elsewhere
/// inherits the variable but not the stream, hence the comparison.
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    // The link names the socket; metadata follows it to the socket's own device and inode.
    std::fs::metadata("/proc/self/fd/2")
        .is_ok_and(|m| dev.parse() == Ok(m.dev()) && ino.parse() == Ok(m.ino()))
}

/// One token for the whole process, cancelled on SIGINT or SIGTERM.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let fire = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("install the SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => tracing::info!("SIGINT received, shutting down"),
                _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
            tracing::info!("Ctrl-C received, shutting down");
        }
        fire.cancel();
    });
    token
}
