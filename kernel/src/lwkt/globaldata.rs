//! Per-CPU globaldata (DragonFly's `struct globaldata`), reached through GS.
//!
//! Only the owning CPU changes its globaldata's scheduling state; other CPUs read the few
//! fields meant for them and otherwise talk to a CPU through its IPI queues.
use super::callout::CalloutList;
use super::cpulocal::CpuLocal;
use super::sched::Sched;
use super::sleep::SleepHash;
use super::stats::CpuStats;
use crate::arch::x86_64::percpu::{self, PcpuHeader};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Most CPUs Damselfly runs on (CPU masks are one `u64`).
pub const MAXCPU: usize = 64;

/// `gd_reqflags` bits: work deferred by a critical section, and reschedule requests.
pub mod rqf {
    /// IPI messages are waiting in an inbound ring.
    pub const IPIQ: u32 = 1 << 0;
    /// A hardware interrupt is pending in `ipending`.
    pub const INTPEND: u32 = 1 << 1;
    /// A timer interrupt was deferred.
    pub const TIMER: u32 = 1 << 2;
    /// A higher-priority LWKT thread became runnable.
    pub const AST_LWKT_RESCHED: u32 = 1 << 3;
    /// What `crit_exit` replays on its last exit.
    pub const IDLECHECK_MASK: u32 = IPIQ | INTPEND | TIMER;
}

/// One CPU's globaldata.
#[repr(C)]
pub struct GlobalData {
    /// The machine-dependent head, at GS offset 0 (assembly uses its fields).
    pub md: PcpuHeader,
    /// This CPU's number, 0 for the boot CPU.
    pub cpuid: usize,
    /// `gd_reqflags`: see [`rqf`]. Other CPUs may set bits.
    pub reqflags: AtomicU32,
    /// Hardware vectors deferred by a critical section (bit per vector).
    pub ipending: [AtomicU64; 4],
    /// Interrupt nesting depth (`gd_intr_nesting_level`): no switching while non-zero.
    pub intr_nesting: AtomicU32,
    /// Bit n: CPU n has queued IPI messages for this CPU (`gd_ipimask`).
    pub ipimask: AtomicU64,
    /// IPI doorbell: 1 while an interrupt is on its way or being handled (`gd_npoll`).
    pub npoll: AtomicU32,
    /// Depth of IPI processing on this CPU (callbacks that send nest).
    pub processing_ipiq: AtomicU32,
    /// Non-zero while `intr::dispatch` runs a hardware vector's handlers.
    pub dispatching: AtomicU32,
    /// An interrupt-class thread an interrupt handler scheduled, to preempt to when the
    /// interrupt ends.
    pub preempt_candidate: AtomicPtr<super::thread::Thread>,
    /// Spinlocks held on this CPU (`gd_spinlocks`): a switch with one held is a bug.
    pub spinlocks: AtomicU32,
    /// The LWKT scheduler's state: run queues, idle thread. Owner only.
    pub sched: CpuLocal<Sched>,
    /// Counters other subsystems and /proc read.
    pub stats: CpuStats,
    /// Clock ticks (hardclock) this CPU has taken.
    pub ticks: AtomicU64,
    /// Callouts armed on this CPU. Owner only.
    pub callouts: CpuLocal<CalloutList>,
    /// This CPU's tsleep queues (`gd_tsleep_hash`). Owner only.
    pub sleepq: CpuLocal<SleepHash>,
}

impl GlobalData {
    const fn new(cpuid: usize, apic_id: u32) -> GlobalData {
        GlobalData {
            md: PcpuHeader::new(cpuid as u32, apic_id),
            cpuid,
            reqflags: AtomicU32::new(0),
            ipending: [const { AtomicU64::new(0) }; 4],
            intr_nesting: AtomicU32::new(0),
            ipimask: AtomicU64::new(0),
            npoll: AtomicU32::new(0),
            processing_ipiq: AtomicU32::new(0),
            spinlocks: AtomicU32::new(0),
            dispatching: AtomicU32::new(0),
            preempt_candidate: AtomicPtr::new(core::ptr::null_mut()),
            sched: CpuLocal::new(Sched::new()),
            stats: CpuStats::new(),
            ticks: AtomicU64::new(0),
            callouts: CpuLocal::new(CalloutList::new()),
            sleepq: CpuLocal::new(SleepHash::new()),
        }
    }

    /// True when a critical section deferred work that `splz` must replay.
    #[inline]
    pub fn reqflags_pending(&self) -> bool {
        self.reqflags.load(Ordering::Relaxed) & rqf::IDLECHECK_MASK != 0
    }

    /// This CPU's bit in CPU masks.
    pub fn cpumask(&self) -> u64 {
        1 << self.cpuid
    }
}

static BSP: GlobalData = GlobalData::new(0, 0);
static CPUS: [AtomicPtr<GlobalData>; MAXCPU] = [const { AtomicPtr::new(core::ptr::null_mut()) }; MAXCPU];
static NCPUS: AtomicUsize = AtomicUsize::new(1);

/// Installs the boot CPU's globaldata (a static: this runs before the heap exists).
pub fn init_bsp(apic_id: u32) -> &'static GlobalData {
    BSP.md.apic_id.store(apic_id, Ordering::Relaxed);
    CPUS[0].store(&BSP as *const GlobalData as *mut GlobalData, Ordering::Release);
    percpu::install(&BSP.md);
    &BSP
}

/// Allocates the globaldata of application processor `cpuid` (on the boot CPU, before the AP
/// starts). Returns `None` for a cpuid out of range or already taken.
pub fn alloc_ap(cpuid: usize, apic_id: u32) -> Option<&'static GlobalData> {
    if cpuid == 0 || cpuid >= MAXCPU || !CPUS[cpuid].load(Ordering::Acquire).is_null() {
        return None;
    }
    let gd: &'static GlobalData = Box::leak(Box::new(GlobalData::new(cpuid, apic_id)));
    CPUS[cpuid].store(gd as *const GlobalData as *mut GlobalData, Ordering::Release);
    NCPUS.fetch_max(cpuid + 1, Ordering::AcqRel);
    Some(gd)
}

/// Points this CPU's GS at `gd` (an AP calls this first thing in Rust).
#[allow(dead_code)] // Called by the AP start-up code, which lands next.
pub fn install(gd: &'static GlobalData) {
    percpu::install(&gd.md);
}

/// This CPU's globaldata.
#[inline]
pub fn mycpu() -> &'static GlobalData {
    // SAFETY: the header is the first field of a GlobalData (repr(C)), and every installed
    // header belongs to one: init_bsp and install are the only ways to set GS.
    unsafe { &*(percpu::current() as *const PcpuHeader as *const GlobalData) }
}

/// CPU `cpuid`'s globaldata, if that CPU exists.
pub fn globaldata(cpuid: usize) -> Option<&'static GlobalData> {
    let p = CPUS.get(cpuid)?.load(Ordering::Acquire);
    // SAFETY: non-null entries point at 'static GlobalData (the BSP static or leaked boxes).
    (!p.is_null()).then(|| unsafe { &*p })
}

/// Removes an application processor that never came online: `globaldata` no longer returns
/// it, so no IPI, thread or cpusync targets it. Its structure stays allocated (it may have
/// been installed on the dead CPU).
pub fn forget_ap(cpuid: usize) {
    if cpuid != 0 {
        if let Some(slot) = CPUS.get(cpuid) {
            slot.store(core::ptr::null_mut(), Ordering::Release);
        }
    }
}

/// Number of CPU slots allocated (the highest cpuid + 1).
pub fn ncpus() -> usize {
    NCPUS.load(Ordering::Acquire)
}

mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        /// GS reaches the boot CPU's globaldata, which is registered as CPU 0.
        fn boot_cpu_globaldata() {
            let gd = mycpu();
            kassert_eq!(gd.cpuid, 0);
            kassert!(core::ptr::eq(gd, globaldata(0).ok_or("cpu 0 missing")?), "gs is not cpu 0");
            kassert!(ncpus() >= 1, "ncpus {}", ncpus());
            kassert!(alloc_ap(0, 0).is_none() && alloc_ap(MAXCPU, 0).is_none(), "bad cpuids accepted");
            Ok(())
        }
    }
}
