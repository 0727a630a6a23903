//! Who gets the CPU first when the box is saturated.
//!
//! A parcel's lane command has milliseconds; the platform backlog, the console streams and
//! the cameras' frames have seconds. Under the whole site at once (`scripts/bench-site.sh`)
//! the box runs out of CPU, and then every thread waits its turn. So the threads that do
//! the slow work run at a lower priority (a higher nice value, [`BACKGROUND_NICE`] above
//! the process's own): the main runtime's workers and blocking threads, the camera capture
//! threads and the password hashers. They still get every idle cycle; they only yield when
//! a control thread wakes.
//!
//! Left at the process's priority: the control loops' runtime (lines, gate lanes), the
//! store's writer (every decision commits through it before its command goes out) and the
//! checkpointer. Linux keeps the nice value per thread and a new thread starts with its
//! creator's, so those are made by the main thread, which is never lowered: a lowered
//! thread cannot raise itself again without `CAP_SYS_NICE`, which the service does not
//! have.
//!
//! Priority decides the share of the CPU, not how soon a waking thread runs: for that, the
//! control runtime's threads and the writer ask for a short time slice ([`short_slice`]).

/// How far below the process's own priority the background threads run. Ten steps give a
/// thread about a tenth of the CPU weight of one at the process's priority (the kernel's
/// weights fall by about 1.25× a step).
pub const BACKGROUND_NICE: i32 = 10;

/// The highest nice value (the lowest priority) Linux has.
const LOWEST: i32 = 19;

/// Lowers the calling thread's priority to the background's: [`BACKGROUND_NICE`] above
/// the main thread's (which is never lowered), whatever the thread's own was, so a
/// background thread made by another keeps the same priority. Called at the start of each
/// background thread; a failure is logged and changes nothing else (the thread runs at the
/// priority it had).
pub fn background() {
    let result = main_thread_nice().and_then(|main| {
        let target = (main + BACKGROUND_NICE).min(LOWEST);
        match current()? {
            now if now >= target => Ok(()),
            _ => Ok(rustix::process::setpriority_process(None, target)?),
        }
    });
    if let Err(e) = result {
        tracing::debug!(error = %e, "cannot lower this thread's priority");
    }
}

/// The time slice the control threads ask for: the shortest Linux gives a normal thread.
pub const CONTROL_SLICE: std::time::Duration = std::time::Duration::from_micros(100);

/// Asks the scheduler for a short time slice ([`CONTROL_SLICE`]) for the calling thread, at
/// its priority.
///
/// Linux's scheduler (EEVDF, 6.6 on) picks the runnable thread whose virtual deadline comes
/// first, and a thread's deadline is its slice away; since 6.12 a normal thread may choose
/// its slice (`sched_setattr`'s `sched_runtime`, 0.1 to 100 ms, no privilege needed), and
/// one with a shorter slice preempts the running thread when it wakes. So a line task
/// waking for a PLC event on a box whose CPUs are busy runs within a fraction of a
/// millisecond instead of after the running thread's slice (1.4 ms by default on 2 CPUs).
/// It costs them nothing in share: a thread's weight (its nice value) is unchanged, and
/// the control threads run for far less than a slice at a time. An older kernel takes the
/// call and ignores the slice.
///
/// # Errors
///
/// When the kernel refuses the call (not Linux, or a seccomp filter).
pub fn short_slice() -> std::io::Result<()> {
    let nice = current()?;
    let attr = libc::sched_attr {
        size: std::mem::size_of::<libc::sched_attr>() as u32,
        sched_policy: libc::SCHED_OTHER as u32,
        sched_flags: 0,
        // Said again, or the call would reset it.
        sched_nice: nice,
        sched_priority: 0,
        sched_runtime: CONTROL_SLICE.as_nanos() as u64,
        sched_deadline: 0,
        sched_period: 0,
    };
    // SAFETY: sched_setattr reads `size` bytes from the pointer, which points to a live
    // `sched_attr` of that size; pid 0 is the calling thread; flags 0.
    #[allow(unsafe_code)]
    let done = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, std::ptr::from_ref(&attr), 0) };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// What a control thread does first: checks it kept the process's priority
/// ([`expect_foreground`]) and asks for a short slice ([`short_slice`]).
pub fn control_thread() {
    expect_foreground();
    if let Err(e) = short_slice() {
        tracing::debug!(error = %e, "cannot ask for a short time slice");
    }
}

/// Warns when the calling thread, which should run at the process's priority, was made
/// by a background thread and inherited its lower one (it cannot raise it again).
pub fn expect_foreground() {
    if let (Ok(main), Ok(now)) = (main_thread_nice(), current())
        && now > main
    {
        tracing::warn!(
            thread = std::thread::current().name().unwrap_or("?"),
            nice = now,
            process_nice = main,
            "a control thread runs below the process's priority (made by a background thread)"
        );
    }
}

/// A multi-thread runtime whose threads keep the process's priority: made by the main
/// thread (a thread made by a lowered one would start lowered), each of its threads checks
/// so and asks for a short slice ([`control_thread`]). Shut down without waiting when dropped, so it may be dropped
/// inside another runtime's task; its tasks have stopped by then, or are aborted.
#[derive(Debug)]
pub struct ForegroundRuntime(Option<tokio::runtime::Runtime>);

impl ForegroundRuntime {
    /// Start one, its threads named `name`.
    ///
    /// # Panics
    ///
    /// When the runtime cannot start (no threads left to make).
    #[must_use]
    pub fn start(name: &str) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .thread_name(name)
            .on_thread_start(control_thread)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("start the {name} runtime: {e}"));
        Self(Some(rt))
    }

    /// Where to spawn onto it.
    ///
    /// # Panics
    ///
    /// Never: the runtime runs until this is dropped.
    #[must_use]
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.0
            .as_ref()
            .expect("the runtime runs until dropped")
            .handle()
            .clone()
    }
}

impl Drop for ForegroundRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// The main thread's nice value: its thread id is the process id.
fn main_thread_nice() -> std::io::Result<i32> {
    let main = rustix::process::getpid();
    Ok(rustix::process::getpriority_process(Some(main))?)
}

/// The calling thread's nice value (`None`: the caller; on Linux, `PRIO_PROCESS` with no
/// id is per thread).
pub fn current() -> std::io::Result<i32> {
    Ok(rustix::process::getpriority_process(None)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_lowers_only_the_calling_thread_and_once() {
        let main = main_thread_nice().unwrap();
        let expected = (main + BACKGROUND_NICE).min(LOWEST);
        let (lowered, again, inherited) = std::thread::spawn(|| {
            background();
            let lowered = current().unwrap();
            background();
            let again = current().unwrap();
            // A thread made by a lowered one starts lowered (the reason the writer and the
            // control runtime are made by the main thread), and lowering it is a no-op.
            let inherited = std::thread::spawn(|| {
                let at_start = current().unwrap();
                background();
                (at_start, current().unwrap())
            })
            .join()
            .unwrap();
            (lowered, again, inherited)
        })
        .join()
        .unwrap();
        assert_eq!(lowered, expected);
        assert_eq!(again, expected, "lowering twice lowers once");
        assert_eq!(inherited, (expected, expected));
        // The test harness runs this on a thread of its own, made by the main thread.
        assert_eq!(current().unwrap(), main, "the caller keeps its priority");
    }

    /// `sched_getattr` for the calling thread: (nice, slice in ns).
    fn nice_and_slice() -> (i32, u64) {
        // SAFETY: an all-zero sched_attr is valid; sched_getattr writes at most `size`
        // bytes to it.
        #[allow(unsafe_code)]
        let attr = unsafe {
            let mut attr: libc::sched_attr = std::mem::zeroed();
            let size = std::mem::size_of::<libc::sched_attr>() as u32;
            let got = libc::syscall(libc::SYS_sched_getattr, 0, &raw mut attr, size, 0);
            assert_eq!(got, 0, "{}", std::io::Error::last_os_error());
            attr
        };
        (attr.sched_nice, attr.sched_runtime)
    }

    #[test]
    fn a_short_slice_keeps_the_threads_priority() {
        let (nice, slice, default) = std::thread::spawn(|| {
            background();
            let default = nice_and_slice().1;
            short_slice().unwrap();
            let (nice, slice) = nice_and_slice();
            (nice, slice, default)
        })
        .join()
        .unwrap();
        let expected = (main_thread_nice().unwrap() + BACKGROUND_NICE).min(LOWEST);
        assert_eq!(nice, expected, "the nice value is said again, not reset");
        // Kernels before 6.12 have no slice per thread and report 0.
        if default != 0 {
            assert_eq!(slice, CONTROL_SLICE.as_nanos() as u64);
        }
    }
}
