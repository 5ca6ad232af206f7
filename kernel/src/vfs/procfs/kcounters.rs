//! /proc/kcounters (Damselfly's own): the kernel's exact resource counters, one `name value`
//! per line, for leak checks from user space (a workload must bring them back to where they
//! were). This CPU's page cache is drained first, and pages the slab holds as zones count as
//! free; other CPUs' page caches are not drained, so the page figure is exact at -smp 1.
use crate::mem::slab::{total, ZONE_SIZE};
use crate::mem::{malloc_type, pagecache, phys};
use crate::vm::object::{OBJECTS, OBJECT_PAGES};
use crate::vm::vmspace::VMSPACES;
use crate::vm::PAGE;
use alloc::string::String;
use core::fmt::Write;
use core::sync::atomic::Ordering;

/// Generates the file.
pub fn generate() -> String {
    pagecache::drain_local();
    let zones = total(|s| &s.zones_new).saturating_sub(total(|s| &s.zones_released));
    let mut s = String::new();
    let mut line = |k: &str, v: u64| {
        let _ = writeln!(s, "{k} {v}");
    };
    line("pages_free", phys::counts().0 + zones * (ZONE_SIZE as u64 / PAGE));
    line("vmspaces", VMSPACES.load(Ordering::Relaxed));
    line("vm_objects", OBJECTS.load(Ordering::Relaxed));
    line("vm_object_pages", OBJECT_PAGES.load(Ordering::Relaxed));
    line("processes", crate::proc::tree::count() as u64);
    line("threads", crate::lwkt::thread::live());
    line("vnodes", crate::vfs::vnode::VNODES.load(Ordering::Relaxed));
    line("epolls", crate::event::epoll::EPOLLS.load(Ordering::Relaxed));
    line("epoll_regs", crate::event::epoll::EPOLL_REGS.load(Ordering::Relaxed));
    malloc_type::for_each_type(|t| {
        let _ = writeln!(s, "malloc.{} {}", t.name, t.stats().inuse);
    });
    s
}
