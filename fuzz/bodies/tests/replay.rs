//! Replays every committed fuzz input through its target on stable Rust: the seeds in
//! `fuzz/corpus/<target>/` and the inputs that once crashed a parser in
//! `fuzz/regressions/<target>/`. What libFuzzer explores (`scripts/fuzz.sh`) runs the
//! same bodies; this keeps them passing in every `cargo test`.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use customs_edge_fuzz_bodies::{TARGETS, target};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable directory entry"))
        .map(|e| {
            let path = e.path();
            let stem = path.file_stem().expect("a file name");
            stem.to_string_lossy().into_owned()
        })
        .collect()
}

/// Runs every file of `dir` through `target`; returns how many ran and which panicked.
fn replay(name: &str, dir: &Path) -> (usize, Vec<String>) {
    let target = target(name).expect("a known target");
    let mut failures = Vec::new();
    let files = files_in(dir);
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if catch_unwind(AssertUnwindSafe(|| (target.run)(&data))).is_err() {
            failures.push(file.display().to_string());
        }
    }
    (files.len(), failures)
}

#[test]
fn every_seed_runs_through_its_target_without_a_panic() {
    let mut failures = Vec::new();
    for t in TARGETS {
        let dir = fuzz_dir().join("corpus").join(t.name);
        let (ran, failed) = replay(t.name, &dir);
        assert!(
            ran > 0,
            "no seeds for target {} in {}",
            t.name,
            dir.display()
        );
        failures.extend(failed);
    }
    assert!(failures.is_empty(), "inputs that panicked: {failures:#?}");
}

#[test]
fn every_input_that_once_crashed_a_parser_runs_clean() {
    let mut failures = Vec::new();
    for t in TARGETS {
        let (_, failed) = replay(t.name, &fuzz_dir().join("regressions").join(t.name));
        failures.extend(failed);
    }
    assert!(
        failures.is_empty(),
        "regressions that panic again: {failures:#?}"
    );
}

#[test]
fn every_fuzz_target_file_has_a_body_and_seeds_and_nothing_else() {
    let listed: BTreeSet<String> = TARGETS.iter().map(|t| t.name.to_owned()).collect();
    assert_eq!(
        names_in(&fuzz_dir().join("fuzz_targets")),
        listed,
        "fuzz/fuzz_targets/*.rs against TARGETS"
    );
    assert_eq!(
        names_in(&fuzz_dir().join("corpus")),
        listed,
        "fuzz/corpus/* against TARGETS"
    );
}
