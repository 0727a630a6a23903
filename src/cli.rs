//! The command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::{self, ConfigError};
use crate::runtime::{self, LogFormat};

/// customs-edge — edge controller for the customs supervision site at the Sanming land port.
///
/// Runs the X-ray sorting line (PLC over Modbus TCP, barcode scanners), decides each
/// parcel's lane against its declaration list, keeps every record in SQLite, and serves the
/// operators' console. `demo` runs the whole site simulated, with nothing to configure.
#[derive(Debug, Parser)]
#[command(version, propagate_version = true)]
pub struct Cli {
    /// Log format: `auto` is `journal` when stderr is the systemd journal (under the
    /// service), `text` otherwise. The level comes from RUST_LOG (default: info).
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controller for a site until SIGINT or SIGTERM.
    Run {
        /// The site config (TOML); see config/site.example.toml.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check a config file and print every problem with its path; exit 0 if valid, 2 if not.
    CheckConfig {
        /// The config file to check.
        file: PathBuf,
    },
    /// Run the simulated site (PLC, conveyor, scanner) and the controller together.
    ///
    /// Uses the built-in config/demo.toml and sample declaration lists; prints the console
    /// URL; stops cleanly on Ctrl-C. Data goes to a fresh temporary directory unless --data
    /// is given. It also runs a Mosquitto broker and the platform simulator of its own, and
    /// the simulated line and gate lanes, all on free loopback ports: the banner (or
    /// --print-addresses-json) says where. The console's address is bound first: on a busy
    /// port the demo stops at once, naming it, with nothing started.
    #[cfg(feature = "demo")]
    Demo {
        /// Where the console listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Keep the demo's database here instead of a temporary directory.
        #[arg(long)]
        data: Option<PathBuf>,
        /// The demo's own options.
        #[command(flatten)]
        options: crate::demo::DemoOptions,
    },
    /// Load declaration lists from a JSON-lines file into the store.
    ///
    /// One list per line in the customs field names (docs/manifest-format.md). Bad lines are
    /// reported with their line number and kept in the store's rejected_inputs table; the
    /// rest are imported. Exit 0 if every line was imported, 1 if some were rejected.
    ImportManifests {
        /// The JSON-lines file.
        file: PathBuf,
        /// Site config naming the data directory.
        #[arg(long, short, required_unless_present = "data", conflicts_with = "data")]
        config: Option<PathBuf>,
        /// Data directory of the store (instead of --config).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Cameras: find ONVIF cameras on the network and print them as config.
    Cameras {
        /// What to do.
        #[command(subcommand)]
        command: crate::cameras_cli::CamerasCommand,
    },
    /// The audit log: `audit verify` checks its hash chain and names the first broken entry.
    Audit {
        /// What to do.
        #[command(subcommand)]
        command: crate::audit_cli::AuditCommand,
    },
    /// Ed25519 keys for the signed platform link: `keys generate --out FILE`.
    Keys {
        /// What to do.
        #[command(subcommand)]
        command: crate::keys_cli::KeysCommand,
    },
    /// Console accounts: `accounts create-admin` (password on standard input).
    Accounts {
        /// What to do.
        #[command(subcommand)]
        command: crate::audit_cli::AccountsCommand,
    },
    /// Back up the store and its evidence into a new directory, while the controller runs.
    ///
    /// The database is copied with SQLite's online backup API as one consistent snapshot;
    /// every evidence file its records refer to is hard-linked (same filesystem) or copied,
    /// and checked against its SHA-256. The copy must pass PRAGMA integrity_check and the
    /// audit chain check. The directory gets a manifest.json (when, schema version, record
    /// counts, every file with its checksum) and a README.txt. Exit 0 when complete, 1 when
    /// evidence was missing or damaged in the data directory (the backup names it).
    Backup(crate::backup_cli::BackupArgs),
    /// Put a backup back (the controller must be stopped).
    ///
    /// Refuses while anything has the store open. Checks every checksum in the manifest,
    /// PRAGMA integrity_check and the audit chain first; only then moves the database and
    /// evidence in use to replaced-<time>/ in the data directory and the backup's into place.
    Restore(crate::backup_cli::RestoreArgs),
    /// Check that the site is ready to run: every device, the broker, the store, the host.
    ///
    /// For each PLC, gate I/O and weighbridge: reachable, and its blocks decode as the
    /// register map says; scanners and cameras reachable (ONVIF login, clock against ours,
    /// snapshot, stream); X-ray directories readable; listen addresses free; the broker
    /// with TLS and credentials; the store's quick_check and schema; disk space;
    /// permissions of the data directory and secret files; NTP status. Nothing is written
    /// to any device. One row per check; exit 0 when nothing failed, 1 when something did,
    /// 2 when the config is not valid.
    Doctor {
        /// The site config (TOML).
        #[arg(long, short)]
        config: PathBuf,
        /// Print the rows as a JSON array (subject, check, result, detail) instead of a table.
        #[arg(long)]
        json: bool,
        /// Longest wait for one device's answer, in seconds.
        #[arg(long, default_value_t = 3.0)]
        timeout_s: f64,
    },
}

/// `run`'s exit status when the config cannot be read or is invalid (`EX_CONFIG` of
/// sysexits.h); the systemd unit does not restart on it.
pub const EXIT_CONFIG: u8 = 78;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let large_blocks_returned = crate::memory::return_large_blocks();
    let cli = Cli::parse();
    if let Command::CheckConfig { file } = &cli.command {
        return check_config(file);
    }
    let log = runtime::init_tracing(cli.log_format);
    if !large_blocks_returned {
        tracing::warn!("glibc refused the mmap threshold; freed large blocks may stay resident");
    }
    // The main runtime's threads do the slow work (platform link, consoles, listeners) at
    // the background priority; the control loops and the store's writer, made by this
    // thread, keep the process's (cpu_priority).
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(crate::cpu_priority::background)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = rt.block_on(dispatch(cli.command));
    // What was logged before the outcome is written before it.
    drop(rt);
    drop(log);
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(file: &Path) -> ExitCode {
    match config::load(file) {
        Ok(config) => {
            println!(
                "{}: valid — site {}, {} line(s), {} gate(s), {} camera(s)",
                file.display(),
                config.site.code,
                config.lines.len(),
                config.gates.len(),
                config.cameras.len()
            );
            ExitCode::SUCCESS
        }
        Err(
            e @ (ConfigError::Invalid { .. }
            | ConfigError::Syntax { .. }
            | ConfigError::Read { .. }),
        ) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config } => {
            let config = match config::load(&config) {
                Ok(config) => config,
                Err(e) => {
                    // Restarting cannot fix a config: the unit's RestartPreventExitStatus.
                    eprintln!("{e}");
                    return Ok(ExitCode::from(EXIT_CONFIG));
                }
            };
            let shutdown = runtime::shutdown_on_signals();
            crate::daemon::run(config, shutdown).await?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "demo")]
        Command::Demo {
            listen,
            data,
            options,
        } => {
            let shutdown = runtime::shutdown_on_signals();
            crate::demo::run(listen, data, options, shutdown).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ImportManifests { file, config, data } => {
            let data_dir = match (config, data) {
                (_, Some(dir)) => dir,
                (Some(config), None) => config::load(&config)?.storage.data_dir,
                (None, None) => unreachable!("clap requires --config or --data"),
            };
            let store = crate::store::Store::open(&data_dir)
                .with_context(|| format!("opening the store in {}", data_dir.display()))?;
            let report =
                crate::import::import_file(&store, &file, crate::import::print_progress).await?;
            eprintln!(
                "{}: {} line(s) read, {} list(s) imported ({} new, {} updated), {} rejected",
                file.display(),
                report.lines,
                report.inserted + report.updated,
                report.inserted,
                report.updated,
                report.rejected.len()
            );
            Ok(if report.rejected.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Cameras { command } => crate::cameras_cli::run(command).await,
        Command::Audit { command } => crate::audit_cli::run_audit(&command),
        Command::Accounts { command } => crate::audit_cli::run_accounts(command).await,
        Command::Keys { command } => crate::keys_cli::run(&command),
        Command::Backup(args) => crate::backup_cli::run_backup(&args),
        Command::Restore(args) => crate::backup_cli::run_restore(&args),
        Command::Doctor {
            config,
            json,
            timeout_s,
        } => {
            let options = crate::doctor::Options {
                timeout: std::time::Duration::from_secs_f64(timeout_s.clamp(0.1, 60.0)),
            };
            Ok(crate::doctor::run_cli(&config, json, options).await)
        }
        Command::CheckConfig { .. } => unreachable!("handled before the runtime starts"),
    }
}
