//! What `customs-edge demo` can be asked besides where it listens and keeps its data.

/// The environment variable behind `--no-accounts` (clap reads it: `1`, `true`, `yes`, `on`
/// mean yes).
pub const NO_ACCOUNTS_ENV: &str = "CUSTOMS_EDGE_DEMO_NO_ACCOUNTS";

/// The demo's options.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct DemoOptions {
    /// Create no console accounts: the console first asks for the administrator, exactly
    /// as a fresh install does, who then creates the others on the accounts page.
    #[arg(long, env = NO_ACCOUNTS_ENV, value_parser = clap::builder::BoolishValueParser::new())]
    pub no_accounts: bool,
    /// Once everything runs, print every address as one JSON line on stdout, for scripts
    /// (console, health, simulator API and reports, platform ledger, broker, PLC and
    /// scanners, gate I/O and weighbridges, plate listener and cameras, operator token,
    /// logins, data directory); the banner then goes to stderr.
    #[arg(long)]
    pub print_addresses_json: bool,
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        demo: DemoOptions,
    }

    #[test]
    fn no_accounts_is_a_flag_and_off_by_default() {
        let on = Cli::try_parse_from(["demo", "--no-accounts"]).unwrap();
        assert!(on.demo.no_accounts);
        assert_eq!(
            DemoOptions::default(),
            DemoOptions {
                no_accounts: false,
                print_addresses_json: false
            }
        );
    }
}
