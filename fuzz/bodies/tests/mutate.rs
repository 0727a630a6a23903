//! CI's brief fuzzing run, on stable: every target gets `FUZZ_MUTATE_MS` milliseconds
//! (default 1,500) of inputs made by mutating its committed seeds — bit flips, boundary
//! bytes, inserted and deleted runs, repeated chunks, huge numbers, splices of two seeds.
//!
//! It is not coverage-guided (that is libFuzzer's job in `scripts/fuzz.sh`, which needs a
//! nightly toolchain and minutes of build); it runs the same bodies in every `cargo test`, so
//! a parser that panics on an input a step away from a real one is caught on every change.
//!
//! Reproducible: the run prints its seed; `FUZZ_MUTATE_SEED=N` replays it. An input that
//! panics is written to `fuzz/artifacts/<target>/` and named in the failure, ready to be
//! moved to `fuzz/regressions/<target>/` with its fix.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use customs_edge_fuzz_bodies::{TARGETS, Target};

/// Inputs never grow past this: the largest real peer input (a plate event with its
/// picture) is far smaller than the 64 KiB `scripts/fuzz.sh` allows it.
const MAX_LEN: usize = 64 * 1024;

/// Bytes that sit on the edges parsers decide on.
const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'\r', b'\n', b'"', b'\\', b'<', b'>', b'&', b'=', b',', b';', b':',
    b'-', b'{', b'}', b'[', b']', 0x02, 0x03, b' ', b'0', b'9',
];

/// Tokens whose insertion reaches branches single bytes rarely do.
const TOKENS: &[&[u8]] = &[
    b"99999999999999999999999",
    b"-1",
    b"NaN",
    b"1e309",
    b"\xe4\xb8\xad",
    b"\xf0\x9f\x92\xa3",
    b"\xc3",
    b"null",
    b"\"\"",
    b"<![CDATA[",
    b"]]>",
    b"&#xFFFFFFFF;",
    b"--",
    b"\r\n\r\n",
    b"%00",
];

/// xorshift64*: enough randomness for mutation, no dependency, replayable from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n` > 0); the bias of a modulo does not matter here.
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below a usize")
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

/// One mutation of `input` in place; `other` is another seed of the same target to splice.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    let len = input.len();
    match rng.below(10) {
        0 if len > 0 => {
            let at = rng.below(len);
            input[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            input[at] = INTERESTING[rng.below(INTERESTING.len())];
        }
        2 if len > 0 => {
            let at = rng.below(len);
            input[at] = rng.byte();
        }
        3 => {
            let at = rng.below(len + 1);
            let token = TOKENS[rng.below(TOKENS.len())];
            input.splice(at..at, token.iter().copied());
        }
        4 if len > 0 => {
            let from = rng.below(len);
            let to = (from + 1 + rng.below(16)).min(len);
            input.drain(from..to);
        }
        5 if len > 0 => {
            // A chunk repeated many times: lengths, counts and nesting past their limits.
            let from = rng.below(len);
            let to = (from + 1 + rng.below(32)).min(len);
            let chunk = input[from..to].to_vec();
            let times = 1 + rng.below(256);
            let at = rng.below(len + 1);
            let repeated: Vec<u8> = chunk
                .iter()
                .copied()
                .cycle()
                .take(chunk.len() * times)
                .collect();
            input.splice(at..at, repeated);
        }
        6 if len > 0 => input.truncate(rng.below(len)),
        7 if !other.is_empty() => {
            let keep = rng.below(len + 1);
            let from = rng.below(other.len());
            input.truncate(keep);
            input.extend_from_slice(&other[from..]);
        }
        8 => {
            let at = rng.below(len + 1);
            let byte = rng.byte();
            let count = 1 + rng.below(8);
            input.splice(at..at, std::iter::repeat_n(byte, count));
        }
        _ if len > 1 => {
            let a = rng.below(len);
            let b = rng.below(len);
            input.swap(a, b);
        }
        _ => input.push(rng.byte()),
    }
    input.truncate(MAX_LEN);
}

fn seeds(target: &Target) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target.name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .collect()
}

/// Writes the input that panicked where `scripts/fuzz.sh` puts libFuzzer's crashes.
fn keep_crash(target: &Target, input: &[u8], seed: u64, run: u64) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../artifacts")
        .join(target.name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(format!("mutated-seed{seed}-run{run}"));
    std::fs::write(&path, input).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

/// Mutates `target`'s seeds for `budget`; returns the runs made, or the crash's file.
fn fuzz(target: &Target, seed: u64, budget: Duration) -> Result<u64, String> {
    let seeds = seeds(target);
    assert!(!seeds.is_empty(), "no seeds for {}", target.name);
    let mut rng = Rng(seed ^ u64::from(crc(target.name)) | 1);
    let started = Instant::now();
    let mut runs = 0u64;
    while started.elapsed() < budget {
        let mut input = seeds[rng.below(seeds.len())].clone();
        let other = &seeds[rng.below(seeds.len())];
        // Stacked mutations, as libFuzzer does: one to a handful per input.
        for _ in 0..=rng.below(5) {
            mutate(&mut rng, &mut input, other);
        }
        runs += 1;
        if catch_unwind(AssertUnwindSafe(|| (target.run)(&input))).is_err() {
            let path = keep_crash(target, &input, seed, runs);
            return Err(format!(
                "{} panicked on a mutated seed (FUZZ_MUTATE_SEED={seed}, run {runs}): {}",
                target.name,
                path.display()
            ));
        }
    }
    Ok(runs)
}

/// A name's checksum, so each target walks its own sequence from one run seed.
fn crc(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[test]
fn every_target_survives_its_mutated_seeds() {
    let seed = std::env::var("FUZZ_MUTATE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("a clock after 1970")
                .as_secs()
        });
    let budget = Duration::from_millis(
        std::env::var("FUZZ_MUTATE_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1_500),
    );
    eprintln!("mutation fuzzing: FUZZ_MUTATE_SEED={seed}, {budget:?} per target");
    let mut crashes = Vec::new();
    for target in TARGETS {
        match fuzz(target, seed, budget) {
            Ok(runs) => eprintln!("fuzz-mutate: target={} runs={runs}", target.name),
            Err(crash) => crashes.push(crash),
        }
    }
    assert!(crashes.is_empty(), "{crashes:#?}");
}

#[test]
fn a_mutation_changes_the_input_and_stays_within_bounds() {
    let mut rng = Rng(7);
    let seed = b"<EventNotificationAlert>plate</EventNotificationAlert>".to_vec();
    let mut changed = 0;
    for _ in 0..1_000 {
        let mut input = seed.clone();
        mutate(&mut rng, &mut input, b"{\"plate\":\"1\"}");
        assert!(input.len() <= MAX_LEN);
        if input != seed {
            changed += 1;
        }
    }
    // A swap of two equal bytes or a truncation to the same length can leave it unchanged;
    // nearly every mutation must not.
    assert!(
        changed > 950,
        "only {changed} of 1000 mutations changed the input"
    );
}
