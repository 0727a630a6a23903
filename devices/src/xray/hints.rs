//! Filesystem events as the feed understands them, and the watcher that sends them.
//!
//! [`actions`] is a pure translation of one `notify` event into what the feed should do,
//! so the mapping (which rename half completes a file, which close counts) is tested
//! without a filesystem. Events are hints only: the feed stats the file before deciding.
//! The watcher's own thread, which may block, stats a file that arrived or was closed as
//! it translates the event, so the feed's task need not hand that stat to a blocking
//! thread and wait for it: one hop fewer between the X-ray image and the decision.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::scan::snapshot;
use super::state::{Hint, Snapshot};

/// What the watcher thread hands to the feed task: the actions of one event, or why
/// watching failed.
pub(super) type Raw = notify::Result<Vec<Seen>>;

/// One action of an event, with the stat the watcher thread took for it.
#[derive(Debug)]
pub(super) struct Seen {
    pub(super) action: Action,
    /// For a file that arrived or was closed after writing: its stat as the event came.
    /// `None` for the rest (a write burst costs no stat per write).
    pub(super) stat: Option<io::Result<Option<Snapshot>>>,
}

impl Seen {
    /// `action`, statted now when it completes a file.
    fn of(action: Action) -> Self {
        let stat = match &action {
            Action::Look(path, Hint::Arrived | Hint::Closed) => Some(snapshot(path)),
            _ => None,
        };
        Self { action, stat }
    }
}

/// What one filesystem event asks the feed to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Action {
    /// Stat this file and tell the tracker.
    Look(PathBuf, Hint),
    /// This file was removed or renamed away.
    Gone(PathBuf),
    /// The watched directory itself went away: the watch is dead.
    DirGone,
    /// Events were lost: rescan the directory.
    Rescan,
}

/// Translate one event about `dir` into actions.
pub(super) fn actions(dir: &Path, event: Event) -> Vec<Action> {
    let mut out = Vec::new();
    if event.need_rescan() {
        out.push(Action::Rescan);
    }
    let gone = |p: PathBuf| {
        if p == dir {
            Action::DirGone
        } else {
            Action::Gone(p)
        }
    };
    let look = |hint: Hint| move |p: PathBuf| Action::Look(p, hint);
    let paths = event.paths;
    match event.kind {
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
            out.extend(paths.into_iter().map(gone));
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
            out.extend(paths.into_iter().map(look(Hint::Arrived)));
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            if let Ok([from, to]) = <[PathBuf; 2]>::try_from(paths) {
                out.push(gone(from));
                out.push(Action::Look(to, Hint::Arrived));
            }
        }
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
            out.extend(paths.into_iter().map(look(Hint::Closed)));
        }
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Any => {
            out.extend(paths.into_iter().map(look(Hint::Changed)));
        }
        EventKind::Access(_) | EventKind::Other => {}
    }
    out
}

/// Watch `dir` (not its subdirectories) with the platform's watcher. Events go to `tx`
/// without blocking the watcher thread; when `tx` is full they are dropped and
/// `overflow` is set, so the feed rescans instead.
pub(super) fn start_watcher(
    dir: &Path,
    tx: mpsc::Sender<Raw>,
    overflow: Arc<AtomicBool>,
) -> notify::Result<RecommendedWatcher> {
    let dir_path = dir.to_owned();
    let mut watcher = notify::recommended_watcher(move |raw: notify::Result<Event>| {
        let seen = raw.map(|event| {
            let actions = actions(&dir_path, event);
            actions.into_iter().map(Seen::of).collect()
        });
        if tx.try_send(seen).is_err() {
            overflow.store(true, Ordering::Relaxed);
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, DataChange, Flag, RemoveKind};

    use super::*;

    fn dir() -> PathBuf {
        PathBuf::from("/feed")
    }

    fn file(name: &str) -> PathBuf {
        dir().join(name)
    }

    fn event(kind: EventKind, names: &[&str]) -> Event {
        names
            .iter()
            .fold(Event::new(kind), |e, n| e.add_path(file(n)))
    }

    #[test]
    fn a_rename_completes_its_target_and_forgets_its_source() {
        let both = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        assert_eq!(
            actions(&dir(), event(both, &["a.png.tmp", "a.png"])),
            [
                Action::Gone(file("a.png.tmp")),
                Action::Look(file("a.png"), Hint::Arrived)
            ]
        );
        let to = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert_eq!(
            actions(&dir(), event(to, &["a.png"])),
            [Action::Look(file("a.png"), Hint::Arrived)]
        );
    }

    #[test]
    fn writes_are_changes_and_a_close_after_writing_is_a_close() {
        let create = EventKind::Create(CreateKind::File);
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let close = EventKind::Access(AccessKind::Close(AccessMode::Write));
        let read = EventKind::Access(AccessKind::Close(AccessMode::Read));
        assert_eq!(
            actions(&dir(), event(create, &["a.png"])),
            [Action::Look(file("a.png"), Hint::Changed)]
        );
        assert_eq!(
            actions(&dir(), event(write, &["a.png"])),
            [Action::Look(file("a.png"), Hint::Changed)]
        );
        assert_eq!(
            actions(&dir(), event(close, &["a.png"])),
            [Action::Look(file("a.png"), Hint::Closed)]
        );
        assert!(actions(&dir(), event(read, &["a.png"])).is_empty());
    }

    #[test]
    fn removing_the_directory_itself_kills_the_watch() {
        let remove = EventKind::Remove(RemoveKind::Folder);
        let e = Event::new(remove).add_path(dir());
        assert_eq!(actions(&dir(), e), [Action::DirGone]);
        let remove = EventKind::Remove(RemoveKind::File);
        assert_eq!(
            actions(&dir(), event(remove, &["a.png"])),
            [Action::Gone(file("a.png"))]
        );
    }

    #[test]
    fn an_overflowed_queue_asks_for_a_rescan() {
        let e = Event::new(EventKind::Other).set_flag(Flag::Rescan);
        assert_eq!(actions(&dir(), e), [Action::Rescan]);
    }
}
