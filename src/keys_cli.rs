//! `customs-edge keys generate`: an Ed25519 key for the signed platform link
//! (`[platform.signing]`, `docs/security.md`). The private key goes to a new file readable
//! by its owner only; the public key is printed for the other side's configuration.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use customs_edge_protocol::signed::SealKey;

/// `keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new Ed25519 key: the private key (its 32-byte seed as hex) into a new file,
    /// mode 600; the public key on standard output. Refuses to overwrite a file.
    Generate {
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public key of a private key file.
    Public {
        /// The private key file.
        key: PathBuf,
    },
}

/// Run a `keys` command.
pub fn run(command: &KeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::Generate { out } => {
            let key = generate();
            write_new(out, &key)?;
            println!("{}", key.public_hex());
            eprintln!("private key written to {} (mode 600)", out.display());
        }
        KeysCommand::Public { key } => {
            let text = std::fs::read_to_string(key)
                .with_context(|| format!("reading {}", key.display()))?;
            let key =
                SealKey::from_hex(&text).map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?;
            println!("{}", key.public_hex());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A new key from the operating system's random generator (through `rand`'s thread RNG,
/// a CSPRNG seeded from it).
pub fn generate() -> SealKey {
    SealKey::from_seed(&rand::random::<[u8; 32]>())
}

/// Write `key` to a file that must not exist yet, readable by its owner only.
pub fn write_new(path: &Path, key: &SealKey) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{}", key.to_hex()).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
