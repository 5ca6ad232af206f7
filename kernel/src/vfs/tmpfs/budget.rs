//! A tmpfs mount's page budget (Linux's `size=` / `nr_blocks=`): every page that becomes
//! resident in one of its files' VM objects is charged, and uncharged when freed, so a
//! limited mount refuses pages past its size: a write gets ENOSPC, a mapping's fault SIGBUS.
//! An unlimited mount (the default here) still counts, for nothing but the numbers.
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

/// The pages one mount's files may hold, and how many they hold.
pub struct PageBudget {
    /// The limit in pages (None: unlimited).
    limit: Option<u64>,
    used: AtomicU64,
}

impl PageBudget {
    /// A budget of `limit` pages (None: unlimited).
    pub fn new(limit: Option<u64>) -> Arc<PageBudget> {
        Arc::new(PageBudget { limit, used: AtomicU64::new(0) })
    }

    /// The limit in pages, if any.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// Pages charged now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes one page; false when the budget is spent.
    fn charge(&self) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |u| {
                self.limit.is_none_or(|l| u < l).then_some(u + 1)
            })
            .is_ok()
    }

    fn uncharge(&self, n: u64) {
        let _ = self.used.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |u| Some(u.saturating_sub(n)));
    }
}

/// The pages one file's VM object holds on its mount's budget, shared by the file and its
/// object's pager: what is still charged when both are gone (the object died) goes back.
pub struct FilePages {
    budget: Arc<PageBudget>,
    held: AtomicU64,
}

impl FilePages {
    /// A file with no pages yet on `budget`.
    pub fn new(budget: Arc<PageBudget>) -> Arc<FilePages> {
        Arc::new(FilePages { budget, held: AtomicU64::new(0) })
    }

    /// Charges a page about to become resident; false when the mount is full.
    pub fn charge(&self) -> bool {
        if !self.budget.charge() {
            return false;
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Gives back `n` pages that left the object (or a charged page that was not kept).
    pub fn uncharge(&self, n: u64) {
        let held =
            self.held.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| Some(h.saturating_sub(n)));
        self.budget.uncharge(held.unwrap_or(0).min(n));
    }
}

impl Drop for FilePages {
    fn drop(&mut self) {
        self.budget.uncharge(*self.held.get_mut());
    }
}
