//! Process plumbing: logging setup and the shutdown signal.

use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

mod journal;

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

/// Log lines held for the log writer's thread; past this, new ones are dropped (and
/// counted) until it catches up. About 5 MB of lines.
const LOG_QUEUE_LINES: usize = 16 * 1024;

/// Keeps the log writer's thread; dropping it writes what is queued (waiting at most a
/// second) and ends the thread. Hold it until the process ends.
#[must_use = "logs queued when this is dropped are written then; later ones are lost"]
pub struct LogGuard {
    _writer: tracing_appender::non_blocking::WorkerGuard,
}

static LOG_LINES_DROPPED: std::sync::OnceLock<tracing_appender::non_blocking::ErrorCounter> =
    std::sync::OnceLock::new();

/// Log lines (or journal entries) dropped since start because the log's destination did
/// not take them as fast as they came (a stuck journald, a full pipe).
pub fn log_lines_dropped() -> u64 {
    LOG_LINES_DROPPED
        .get()
        .map_or(0, |c| c.dropped_lines() as u64)
}

/// Install the global tracing subscriber. The filter comes from `RUST_LOG` (default `info`).
///
/// Every format is written from a thread of its own ([`tracing_appender::non_blocking`],
/// lossy): the control loops log each decision, and a destination that blocks (journald
/// busy, a pipe nobody reads, a disk throttled for writeback) must not stop them.
pub fn init_tracing(format: LogFormat) -> LogGuard {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let format = match format {
        LogFormat::Auto if stderr_is_journal() => LogFormat::Journal,
        LogFormat::Auto => LogFormat::Text,
        other => other,
    };
    let queue = || {
        tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(true)
            .buffered_lines_limit(LOG_QUEUE_LINES)
            .thread_name("log-writer")
    };
    let mut journal_error = None;
    if format == LogFormat::Journal {
        match journal::JournalSocket::open(std::path::Path::new(journal::JOURNALD_SOCKET)) {
            Ok(socket) => {
                let (writer, guard) = queue().finish(socket);
                let _ = LOG_LINES_DROPPED.set(writer.error_counter());
                let layer =
                    journal::JournalLayer::new(writer, "customs-edge", JOURNAL_FIELD_PREFIX);
                tracing_subscriber::registry()
                    .with(filter())
                    .with(layer)
                    .init();
                return LogGuard { _writer: guard };
            }
            Err(e) => journal_error = Some(e),
        }
    }
    let (writer, guard) = queue().finish(std::io::stderr());
    let _ = LOG_LINES_DROPPED.set(writer.error_counter());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(writer);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        _ => builder.init(),
    }
    if let Some(e) = journal_error {
        tracing::warn!(error = %e, "cannot reach the journal's socket; logging text to stderr");
    }
    LogGuard { _writer: guard }
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
