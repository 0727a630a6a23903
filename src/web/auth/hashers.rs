//! Password hashing on threads of its own.
//!
//! An argon2 hash takes 19 MiB by design. Run on tokio's blocking pool, each hash landed
//! on whichever pool thread was free, and the allocator kept the freed memory in that
//! thread's arena: after 50 consoles logged in, the controller was 650 MB larger for
//! good (`scripts/bench-site.sh`, BENCHMARKS.md). A fixed set of long-lived threads keeps
//! that memory in as many places, reused by every hash; a caller beyond them waits for
//! one to be free.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads; they end when this is dropped.
#[derive(Debug)]
pub(super) struct Hashers {
    jobs: mpsc::Sender<Job>,
    /// One permit per thread: a hash waits here, not in the threads' queue.
    free: tokio::sync::Semaphore,
}

impl Hashers {
    /// Start `threads` hashing threads.
    pub(super) fn start(threads: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    crate::cpu_priority::background();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let next = queue.lock().map_or(Err(mpsc::RecvError), |q| q.recv());
                        let Ok(job) = next else { return };
                        job();
                    }
                })
                .expect("spawn a password hashing thread");
        }
        Self {
            jobs,
            free: tokio::sync::Semaphore::new(threads),
        }
    }

    /// Run `f` on a hashing thread once one is free; `None` if it panicked or the threads
    /// are gone.
    pub(super) async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Option<R> {
        let _free = self.free.acquire().await.ok()?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic fails this hash only; the thread stays for the next.
            if let Ok(value) = std::panic::catch_unwind(AssertUnwindSafe(f)) {
                let _ = done.send(value);
            }
        });
        self.jobs.send(job).ok()?;
        result.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Hashers;

    #[tokio::test]
    async fn jobs_run_on_the_hashing_threads_and_a_panic_fails_only_its_own() {
        let hashers = Hashers::start(2);
        let name = hashers
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .flatten();
        assert!(
            name.as_deref()
                .is_some_and(|n| n.starts_with("password-hash-")),
            "{name:?}"
        );
        assert_eq!(hashers.run(|| -> u8 { panic!("a bad hash") }).await, None);
        // Both threads still take work.
        let (a, b) = tokio::join!(hashers.run(|| 1), hashers.run(|| 2));
        assert_eq!((a, b), (Some(1), Some(2)));
    }
}
