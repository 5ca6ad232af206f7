//! Locks that build on LWKT (DragonFly's kern_spinlock.c and kern_lock.c): spinlocks, which
//! imply a critical section, and lockmgr, a shared/exclusive lock that may be held across
//! blocking.
pub mod lockmgr;
pub mod spinlock;
