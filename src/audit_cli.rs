//! The offline tools for who did what: `audit verify` walks the hash chain of the audit
//! log; `accounts create-admin` makes an administrator from the command line (unattended
//! installs, or a lost administrator password: file access is the authority here).
//!
//! The chain proves that no entry was changed, inserted or removed in the middle. Alone
//! it cannot prove that the newest entries were not cut off, or that the whole log was not
//! rewritten and re-hashed: for that `audit verify` checks it against an anchor held
//! outside the site (`crate::audit_anchor`) — the last one the platform acknowledged, kept
//! in the store, and an anchor file the platform exported (`--anchor`).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rusqlite::{Connection, OpenFlags};

use crate::store::audit::{GENESIS, entry_hash};

/// Where the store is: a site config naming it, or the data directory itself.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// Site config naming the data directory.
    #[arg(long, short, required_unless_present = "data", conflicts_with = "data")]
    pub config: Option<PathBuf>,
    /// Data directory of the store (instead of --config).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

impl DataArgs {
    /// The data directory: `--data` as given, else the one `--config` names.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        match (&self.config, &self.data) {
            (_, Some(dir)) => Ok(dir.clone()),
            (Some(config), None) => Ok(crate::config::load(config)?.storage.data_dir),
            (None, None) => anyhow::bail!("give --config or --data"),
        }
    }
}

/// `audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain, and the chain against the platform's anchors: exit
    /// 0 if intact and matching, 1 naming the first broken entry or the anchor it fails.
    Verify(VerifyArgs),
}

/// `audit verify`'s arguments.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Where the store is.
    #[command(flatten)]
    pub data: DataArgs,
    /// An anchor file exported by the platform (its signature is checked against
    /// `platform.signing.platform_keys` when `--config` names them).
    #[arg(long)]
    pub anchor: Option<PathBuf>,
}

/// `accounts …`
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an administrator; the password is the first line of standard input.
    ///
    /// Works whether or not an administrator exists (to recover a lost password, create
    /// another); the username must be free. Example:
    /// `printf '%s\n' "$PW" | customs-edge accounts create-admin --data /var/lib/customs-edge`
    CreateAdmin {
        /// Where the store is.
        #[command(flatten)]
        data: DataArgs,
        /// The administrator's username.
        #[arg(long, default_value = "admin")]
        username: String,
        /// The name shown on the consoles.
        #[arg(long, default_value = "")]
        display_name: String,
    },
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry hashes to what it says, chained from the genesis hash.
    Intact {
        /// Entries checked.
        entries: u64,
        /// The newest entry's hash (the genesis hash for an empty log).
        head: String,
    },
    /// The first entry that does not fit.
    Broken {
        /// Entries before it that were fine.
        intact_before: u64,
        /// Its id.
        id: i64,
        /// What does not match.
        problem: String,
    },
}

/// Walk the audit log in id order, recomputing each hash; stops at the first break.
pub fn verify_chain(conn: &Connection) -> rusqlite::Result<Verdict> {
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, action, coalesce(subject, ''), coalesce(detail, ''), prev_hash, hash
         FROM audit_log ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let (mut prev, mut prev_id, mut entries) = (GENESIS.to_owned(), None::<i64>, 0u64);
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let fields: [String; 5] = [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?];
        let (stored_prev, stored): (String, String) = (r.get(6)?, r.get(7)?);
        if stored_prev != prev {
            let problem = match prev_id {
                Some(p) => format!(
                    "its prev_hash {} is not the hash of entry {p} ({}): an entry between them \
                     was removed, or entry {p} was changed and re-hashed",
                    short(&stored_prev),
                    short(&prev)
                ),
                None => format!(
                    "it is the first entry but its prev_hash {} is not the genesis hash: \
                     entries before it were removed",
                    short(&stored_prev)
                ),
            };
            return Ok(Verdict::Broken {
                intact_before: entries,
                id,
                problem,
            });
        }
        let [at, actor, action, subject, detail] = &fields;
        let computed = entry_hash(&prev, at, actor, action, subject, detail);
        if computed != stored {
            return Ok(Verdict::Broken {
                intact_before: entries,
                id,
                problem: format!(
                    "its contents do not match its hash (stored {}, computed {}): its time, \
                     actor, action, subject or detail was changed",
                    short(&stored),
                    short(&computed)
                ),
            });
        }
        (prev, prev_id, entries) = (stored, Some(id), entries + 1);
    }
    Ok(Verdict::Intact {
        entries,
        head: prev,
    })
}

fn short(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

/// `audit verify`: prints the verdict; exit 0 when intact, 1 when broken.
pub fn run_audit(command: &AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify(args) = command;
    let path = args.data.data_dir()?.join(crate::store::DB_FILE);
    // Read the anchor file first: a file that is not authentic is an error before anything.
    let file = match &args.anchor {
        Some(file) => Some(anchor_from_file(&args.data, file)?),
        None => None,
    };
    let conn = open_read_only(&path)?;
    let verdict = verify_chain(&conn)
        .with_context(|| format!("reading the audit log in {}", path.display()))?;
    Ok(match verdict {
        Verdict::Intact { entries, head } => {
            println!("audit log OK: {entries} entries, chain intact, head {head}");
            let local = crate::audit_anchor::last_acked(&conn)?;
            if local.is_none() && file.is_none() {
                println!(
                    "no anchor to check against: none acknowledged by the platform yet, and no --anchor file"
                );
            }
            let mut ok = true;
            for anchor in local.iter().chain(file.iter()) {
                match crate::audit_anchor::check(&conn, anchor)? {
                    Ok(()) => println!(
                        "anchor OK: entry {} matches {}",
                        anchor.audit_seq, anchor.source
                    ),
                    Err(problem) => {
                        println!("audit log DOES NOT MATCH its anchor: {problem}");
                        ok = false;
                    }
                }
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Verdict::Broken {
            intact_before,
            id,
            problem,
        } => {
            println!("audit log BROKEN at entry {id}: {problem}");
            println!("({intact_before} earlier entries are intact)");
            ExitCode::FAILURE
        }
    })
}

/// The anchor in an exported file; signed by a platform key when the config names keys.
fn anchor_from_file(
    data: &DataArgs,
    file: &Path,
) -> anyhow::Result<crate::audit_anchor::AnchorPoint> {
    let config = data
        .config
        .as_deref()
        .map(crate::config::load)
        .transpose()?;
    let signing = config.as_ref().and_then(|c| {
        let keys = c.platform.as_ref()?.signing.as_ref()?.trusted().ok()?;
        Some((keys, c.site.code.clone()))
    });
    let (export, checked) =
        crate::audit_anchor::read_file(file, signing.as_ref().map(|(k, s)| (k, s.as_str())))?;
    if let Some(config) = &config {
        anyhow::ensure!(
            export.site == config.site.code,
            "anchor file {} is for site {:?}, not {:?}",
            file.display(),
            export.site,
            config.site.code
        );
    }
    if !checked {
        eprintln!(
            "warning: the anchor file's signature was not checked (give --config with platform.signing.platform_keys)"
        );
    }
    Ok(crate::audit_anchor::AnchorPoint {
        audit_seq: export.audit_seq,
        hash: export.hash,
        source: format!(
            "the platform's exported anchor{} (received {})",
            if checked { ", signature verified" } else { "" },
            export.received_at
        ),
    })
}

fn open_read_only(path: &Path) -> anyhow::Result<Connection> {
    anyhow::ensure!(path.exists(), "no database at {}", path.display());
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// `accounts create-admin`.
pub async fn run_accounts(command: AccountsCommand) -> anyhow::Result<ExitCode> {
    let AccountsCommand::CreateAdmin {
        data,
        username,
        display_name,
    } = command;
    let dir = data.data_dir()?;
    let password = read_password(&username)?;
    let store = crate::store::Store::open(&dir)
        .with_context(|| format!("opening the store in {}", dir.display()))?;
    let account = crate::web::auth::bootstrap::create_admin(
        &store,
        &username,
        &display_name,
        &password,
        false,
        "cli",
    )
    .await?;
    eprintln!(
        "administrator {:?} created (account {}) in {}",
        account.username,
        account.id,
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The first line of standard input; at a terminal, asked for twice (it is echoed).
fn read_password(username: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let ask = |prompt: &str| -> anyhow::Result<String> {
        if interactive {
            eprint!("{prompt}");
            std::io::stderr().flush()?;
        }
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    let password = ask(&format!("password for {username} (shown as typed): "))?;
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    if interactive {
        anyhow::ensure!(ask("again: ")? == password, "the two passwords differ");
    }
    Ok(password)
}
