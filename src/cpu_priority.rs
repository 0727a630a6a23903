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
/// so ([`expect_foreground`]). Shut down without waiting when dropped, so it may be dropped
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
            .on_thread_start(expect_foreground)
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
}
