//! What a vnode carries for the files opened on it: the I/O lock (DragonFly's `v_lock` as
//! the file layer uses it), the POSIX record locks (`v_lockf`), and a FIFO's pipe (fifofs's
//! `fifoinfo`).
use super::lockf::LockList;
use crate::ipc::pipe::Pipe;
use crate::sync::lockmgr::LockMgr;
use crate::sync::spinlock::SpinLock;
use alloc::sync::{Arc, Weak};

/// Per-vnode state of open files.
pub struct OpenState {
    /// Serialises writers (and orders readers against them) so that an O_APPEND write's
    /// seek-to-end and the write itself are one step, and a truncate is not torn by a write.
    pub io: LockMgr<()>,
    /// POSIX record locks (fcntl F_SETLK).
    pub locks: LockList,
    /// flock(2) locks: whole-file, owned by open file descriptions.
    pub flocks: LockList,
    /// The pipe a FIFO's openers share, alive while any of them is open.
    fifo: SpinLock<Weak<Pipe>>,
}

impl Default for OpenState {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenState {
    /// No opens yet.
    pub const fn new() -> OpenState {
        OpenState {
            io: LockMgr::new("vnode-io", ()),
            locks: LockList::new(),
            flocks: LockList::new(),
            fifo: SpinLock::new(Weak::new()),
        }
    }

    /// The FIFO's pipe, made on the first open (and again after every opener has closed, as
    /// Linux discards a FIFO's contents then).
    pub fn fifo_pipe(&self) -> Result<Arc<Pipe>, i32> {
        if let Some(p) = self.fifo.lock().upgrade() {
            return Ok(p);
        }
        // The 64 KiB buffer is allocated with no spinlock held: a large allocation may need
        // other CPUs (a TLB shootdown), and one of them may be spinning on this very lock.
        let new = Pipe::new()?;
        let mut slot = self.fifo.lock();
        if let Some(p) = slot.upgrade() {
            // Another opener won the race; ours is dropped once the lock is released.
            drop(slot);
            drop(new);
            return Ok(p);
        }
        *slot = Arc::downgrade(&new);
        Ok(new)
    }
}
