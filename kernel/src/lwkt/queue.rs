//! An intrusive FIFO of threads (DragonFly's `td_threadq` TAILQs). A thread sits on at most
//! one queue at a time, run queue or sleep queue, through the links embedded in it; only the
//! owning CPU touches a queue, inside a critical section, so no lock is needed.
use super::thread::Thread;
use core::ptr;

/// Links embedded in every thread.
#[derive(Debug)]
pub struct Links {
    next: *const Thread,
    prev: *const Thread,
    queued: bool,
}

impl Links {
    /// Links of a thread on no queue.
    pub const fn new() -> Links {
        Links { next: ptr::null(), prev: ptr::null(), queued: false }
    }
}

/// Which of a thread's link pairs a queue uses.
pub mod link {
    /// The run queue (`td_threadq`).
    pub const RUNQ: usize = 0;
    /// The tsleep queue (`td_sleepq`): a thread may sit on both while it runs towards tsleep.
    pub const SLEEPQ: usize = 1;
}

/// A FIFO of threads, linked through the thread's link pair `L` (see [`link`]).
pub struct ThreadQueue<const L: usize = 0> {
    head: *const Thread,
    tail: *const Thread,
    len: usize,
}

// SAFETY: a queue is only used by its owning CPU inside a critical section (see the module
// comment); the raw pointers are to threads kept alive by their Arc until they leave every
// queue (reaping requires that).
unsafe impl<const L: usize> Send for ThreadQueue<L> {}

impl<const L: usize> ThreadQueue<L> {
    /// An empty queue.
    pub const fn new() -> Self {
        Self { head: ptr::null(), tail: ptr::null(), len: 0 }
    }

    /// Number of threads queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no thread is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first thread.
    pub fn front(&self) -> Option<&Thread> {
        // SAFETY: queued threads are alive (module invariant).
        unsafe { self.head.as_ref() }
    }

    /// The thread after `td` on this queue.
    pub fn next(&self, td: &Thread) -> Option<&Thread> {
        // SAFETY: `td` is on this queue, so its links are ours to read and its successor lives.
        unsafe { (*td.links(L)).next.as_ref() }
    }

    /// Appends `td`, which must be on no queue.
    pub fn push_back(&mut self, td: &Thread) {
        // SAFETY: the owning CPU has exclusive use of `td`'s links (module invariant).
        let l = unsafe { &mut *td.links(L) };
        assert!(!l.queued, "thread {} already queued", td.name());
        l.queued = true;
        l.next = ptr::null();
        l.prev = self.tail;
        let p = td as *const Thread;
        if self.tail.is_null() {
            self.head = p;
        } else {
            // SAFETY: the tail is a live queued thread whose links we own.
            unsafe { (*(*self.tail).links(L)).next = p };
        }
        self.tail = p;
        self.len += 1;
    }

    /// Removes `td`, which must be on this queue.
    pub fn remove(&mut self, td: &Thread) {
        // SAFETY: `td` is on this queue; its neighbours are live queued threads.
        unsafe {
            let l = &mut *td.links(L);
            assert!(l.queued, "thread {} not queued", td.name());
            if l.prev.is_null() {
                self.head = l.next;
            } else {
                (*(*l.prev).links(L)).next = l.next;
            }
            if l.next.is_null() {
                self.tail = l.prev;
            } else {
                (*(*l.next).links(L)).prev = l.prev;
            }
            *l = Links::new();
        }
        self.len -= 1;
    }
}
