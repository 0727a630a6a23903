//! What every fuzz target links besides its body: an allocator that refuses any single
//! allocation above [`MAX_ALLOCATION`].
//!
//! The inputs are at most 64 KiB (`-max_len` in `scripts/fuzz.sh`), and every parser has a
//! size limit of its own, so one allocation of tens of megabytes can only mean a size read
//! from the input and trusted. Without a sanitizer libFuzzer's `-malloc_limit_mb` does not
//! see allocations, and a large `Vec::with_capacity` that is never written does not raise
//! the RSS that `-rss_limit_mb` watches; refusing it here aborts the process
//! (`handle_alloc_error`), which libFuzzer reports as a crash with the input saved.
#![allow(unsafe_code)] // GlobalAlloc is an unsafe trait; this only forwards to System.

use std::alloc::{GlobalAlloc, Layout, System};

/// The largest single allocation a target may make.
pub const MAX_ALLOCATION: usize = 64 * 1024 * 1024;

struct Capped;

// SAFETY: every call is forwarded to `System` unchanged, or answered with null (an
// allocation failure, which the caller handles) when the size is above the cap.
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `dealloc`; the new size was checked like an allocation's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;
