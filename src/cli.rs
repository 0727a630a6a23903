//! The command line.

use std::net::SocketAddr;
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
    /// is given.
    Demo {
        /// Where the console listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
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
    /// Console accounts: `accounts create-admin` (password on standard input).
    Accounts {
        /// What to do.
        #[command(subcommand)]
        command: crate::audit_cli::AccountsCommand,
    },
}

/// `run`'s exit status when the config cannot be read or is invalid (`EX_CONFIG` of
/// sysexits.h); the systemd unit does not restart on it.
pub const EXIT_CONFIG: u8 = 78;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::CheckConfig { file } = &cli.command {
        return check_config(file);
    }
    runtime::init_tracing(cli.log_format);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(dispatch(cli.command)) {
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
        Command::CheckConfig { .. } => unreachable!("handled before the runtime starts"),
    }
}
