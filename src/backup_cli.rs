//! `customs-edge backup` and `customs-edge restore`: the command-line side of
//! [`crate::backup`], with a progress line on stderr for long work.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use crate::audit_cli::DataArgs;
use crate::backup::{self, Progress};

/// `backup --to DIR`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where the store is.
    #[command(flatten)]
    pub data: DataArgs,
    /// The backup directory: new, or empty.
    #[arg(long)]
    pub to: PathBuf,
    /// A previous backup: evidence files it holds are hard-linked from it instead of
    /// copied again (on the same filesystem).
    #[arg(long)]
    pub reuse: Option<PathBuf>,
}

/// `restore --from DIR`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Where the store goes.
    #[command(flatten)]
    pub data: DataArgs,
    /// The backup directory (the one with manifest.json).
    #[arg(long)]
    pub from: PathBuf,
}

/// `backup`: exit 0 when everything the records need is in the backup, 1 when evidence
/// was missing or damaged in the data directory (the backup is written and says which).
pub fn run_backup(args: &BackupArgs) -> anyhow::Result<ExitCode> {
    let data_dir = args.data.data_dir()?;
    let options = backup::Options {
        reuse: args.reuse.clone(),
        ..backup::Options::default()
    };
    let mut line = ProgressLine::new();
    let manifest = backup::backup(&data_dir, &args.to, &options, &mut |p| line.show(p))?;
    line.finish();
    let e = &manifest.evidence;
    eprintln!(
        "backup of {} written to {}: database {} bytes (schema {}, integrity ok, {} audit \
         entries, head {}), {} evidence file(s) of {} bytes ({} reused, {} linked, {} copied)",
        data_dir.display(),
        args.to.display(),
        manifest.database.bytes,
        manifest.database.schema_version,
        manifest.database.audit_entries,
        manifest.database.audit_head,
        e.files,
        e.bytes,
        e.reused,
        e.linked,
        e.copied,
    );
    if e.purged_during_backup > 0 {
        eprintln!(
            "{} evidence file(s) purged by retention during the backup are left out, with their rows",
            e.purged_during_backup
        );
    }
    if e.unusable.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "warning: {} evidence file(s) the records refer to could not be backed up:",
        e.unusable.len()
    );
    for u in e.unusable.iter().take(20) {
        eprintln!("  {}: {}", u.path, u.reason);
    }
    Ok(ExitCode::FAILURE)
}

/// `restore`.
pub fn run_restore(args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    let data_dir = args.data.data_dir()?;
    let mut line = ProgressLine::new();
    let report = backup::restore(&args.from, &data_dir, &mut |p| line.show(p))?;
    line.finish();
    let m = &report.manifest;
    eprintln!(
        "restored {} into {}: the store as of {} (schema {}; {} parcels; audit chain intact, \
         {} entries, head {}), {} evidence file(s)",
        args.from.display(),
        data_dir.display(),
        m.snapshot_at,
        m.database.schema_version,
        m.counts.get("parcels").copied().unwrap_or(0),
        m.database.audit_entries,
        m.database.audit_head,
        m.files.len(),
    );
    if let Some(aside) = &report.replaced {
        eprintln!(
            "the data it replaced is kept in {} (delete it once the restored store is checked)",
            aside.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress line on stderr, at most once a second: rewritten in place at a terminal,
/// one line each time in a log.
struct ProgressLine {
    last: Option<Instant>,
    /// What the line on screen is about, if one is shown and not ended.
    showing: Option<&'static str>,
    terminal: bool,
}

impl ProgressLine {
    fn new() -> Self {
        use std::io::IsTerminal as _;
        Self {
            last: None,
            showing: None,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, p: Progress) {
        let (what, done, total, unit) = match p {
            Progress::Database {
                pages_done,
                pages_total,
            } => ("database", pages_done, pages_total, "pages"),
            Progress::Evidence {
                files_done,
                files_total,
            } => ("evidence", files_done, files_total, "files"),
        };
        let due = self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if !due && done < total {
            return;
        }
        self.last = Some(Instant::now());
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        let text = format!("{what}: {done}/{total} {unit} ({pct} %)");
        if !self.terminal {
            eprintln!("{text}");
            return;
        }
        if self.showing.is_some_and(|w| w != what) {
            eprintln!();
        }
        eprint!("\r{text}    ");
        self.showing = Some(what);
    }

    fn finish(&self) {
        if self.showing.is_some() {
            eprintln!();
        }
    }
}
