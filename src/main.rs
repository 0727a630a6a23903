//! The `customs-edge` binary: parses the command line and hands over to [`customs_edge::cli`].

fn main() -> std::process::ExitCode {
    customs_edge::cli::main()
}
