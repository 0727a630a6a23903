//! The bodies of the fuzz targets: one plain function per parser that takes bytes from
//! outside the controller, and [`TARGETS`], the list of them by name.
//!
//! Two drivers call the same functions, so what the fuzzer explores is what CI replays:
//!
//! - `fuzz/fuzz_targets/<name>.rs` (cargo-fuzz, libFuzzer, nightly): coverage-guided
//!   exploration, `scripts/fuzz.sh`;
//! - `tests/replay.rs` (stable, part of `cargo test --workspace`): every file of
//!   `fuzz/corpus/<name>/` (the committed seeds) and `fuzz/regressions/<name>/` (inputs
//!   that once crashed) through its target;
//! - `tests/mutate.rs` (stable, same): CI's brief fuzzing run, a second and a half of
//!   mutated seeds per target (not coverage-guided; replayable from its printed seed).
//!
//! A body panics only where the code under test broke a promise: a panic inside a parser,
//! or an invariant checked here (a frame longer than allowed, a buffer that grows past its
//! bound, a round trip that does not come back). Rejecting input with an error is the
//! expected outcome for most inputs and is never a failure.
//!
//! Multi-part inputs are laid out as text so seeds stay readable: a first line and the rest
//! (plate events: the Content-Type, then the body), or a selector byte then the payload.

#[cfg(feature = "config")]
mod config;
mod devices;
mod protocol;

#[cfg(feature = "config")]
pub use config::site_config;
pub use devices::{
    digest_authorization, digest_challenge, digest_roundtrip, gate_registers, onvif_soap,
    plate_dahua, plate_hikvision, plc_status, scanner_frames, ws_discovery,
};
pub use protocol::{declaration_line, downlink, downlink_body};

/// One fuzz target: its name (the file in `fuzz/fuzz_targets/`, the folder in
/// `fuzz/corpus/`) and its body.
#[derive(Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// What it reads.
    pub about: &'static str,
    /// The body: runs one input, panics on a broken promise.
    pub run: fn(&[u8]),
}

/// Every fuzz target (`scripts/fuzz.sh` runs them in the order of their file names).
pub const TARGETS: &[Target] = &[
    Target {
        name: "scanner_frames",
        about: "a barcode scanner's TCP stream (STX/ETX or CR/LF), split into reads",
        run: scanner_frames,
    },
    Target {
        name: "plate_hikvision",
        about: "a Hikvision ISAPI plate event: Content-Type line, then the multipart or XML body",
        run: plate_hikvision,
    },
    Target {
        name: "plate_dahua",
        about: "a Dahua JSON plate event",
        run: plate_dahua,
    },
    Target {
        name: "downlink",
        about: "a downlink MQTT payload: the envelope, then the body by its kind",
        run: downlink,
    },
    Target {
        name: "downlink_body",
        about: "a downlink body of each kind (selector byte, then the body's JSON)",
        run: downlink_body,
    },
    Target {
        name: "declaration_line",
        about: "one JSON line of a declaration-list (CEB603) import",
        run: declaration_line,
    },
    Target {
        name: "onvif_soap",
        about: "an ONVIF SOAP answer, read as every operation the client sends",
        run: onvif_soap,
    },
    Target {
        name: "ws_discovery",
        about: "a WS-Discovery ProbeMatches datagram",
        run: ws_discovery,
    },
    Target {
        name: "plc_status",
        about: "the sorting-line PLC's status block (big-endian registers)",
        run: plc_status,
    },
    Target {
        name: "gate_registers",
        about: "a gate I/O status block, its LED text, a weighbridge status block",
        run: gate_registers,
    },
    Target {
        name: "digest_challenge",
        about: "a WWW-Authenticate header a camera sends the ONVIF client, and the answer to it",
        run: digest_challenge,
    },
    Target {
        name: "digest_authorization",
        about: "an Authorization header a plate camera sends the listener",
        run: digest_authorization,
    },
    Target {
        name: "digest_roundtrip",
        about: "user, password, method and URI through challenge, answer and verification",
        run: digest_roundtrip,
    },
    #[cfg(feature = "config")]
    Target {
        name: "site_config",
        about: "a site config file (TOML), read and validated",
        run: site_config,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Splits `data` at its first `\n`: the first line (without a trailing `\r`) and the rest.
fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(at) => {
            let line = &data[..at];
            (line.strip_suffix(b"\r").unwrap_or(line), &data[at + 1..])
        }
        None => (data, &[]),
    }
}
