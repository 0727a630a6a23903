//! libFuzzer driver of `customs_edge_fuzz_bodies::digest_challenge` (see `fuzz/bodies`).
#![no_main]

use customs_edge_fuzz as _; // the allocation cap

libfuzzer_sys::fuzz_target!(|data: &[u8]| customs_edge_fuzz_bodies::digest_challenge(data));
