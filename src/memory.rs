//! How the process's allocator hands memory back.
//!
//! glibc's malloc serves a block of 128 KiB or more with its own mapping, returned to the
//! system when it is freed, but each such free raises that threshold to the block's size
//! (up to 32 MiB). After the first decoded 720p frame (2.7 MB) or password hash (19 MiB) is
//! freed, blocks of that size come from the allocator's arenas instead, one per thread
//! that allocates, and the freed ones stay resident there. Under the whole site (16 cameras,
//! 50 consoles) that held the controller at 550-650 MB, against under 300 MB with the
//! threshold fixed. Fixing it costs a mapping and its page faults per large block: about
//! 6 % of one core there (BENCHMARKS.md, "The whole site on one box").

/// Blocks this large or larger get a mapping of their own, returned when freed.
const MMAP_THRESHOLD: usize = 1 << 20;

/// Fix glibc's mmap threshold at [`MMAP_THRESHOLD`]. Called first thing in `main`, before
/// any thread is made; `false` when glibc refused (elsewhere than on glibc it does nothing
/// and says `true`).
#[must_use]
pub fn return_large_blocks() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let threshold = libc::c_int::try_from(MMAP_THRESHOLD).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets a parameter of the allocator, under its lock; no other
        // thread exists yet.
        #[allow(unsafe_code)]
        let set = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, threshold) };
        set == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    true
}

#[cfg(test)]
mod tests {
    #[test]
    fn glibc_takes_the_threshold() {
        assert!(super::return_large_blocks());
    }
}
