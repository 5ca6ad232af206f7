//! LWKT: DragonFly's light-weight kernel threads. Per-CPU globaldata, threads owned by one
//! CPU with per-CPU run queues, critical sections that defer interrupts, IPI queues, and
//! serializing tokens.
mod bench;
pub mod callout;
pub mod clock;
pub mod cpulocal;
pub mod cputime;
pub mod crit;
pub mod globaldata;
pub mod ipiq;
pub mod loadavg;
pub mod msgport;
pub mod queue;
pub mod sched;
pub mod serialize;
pub mod sleep;
pub mod smp;
pub mod splz;
pub mod stats;
mod stress;
pub mod thread;
pub mod token;

/// Starts LWKT on the boot CPU: the running context becomes thread 0, the idle thread exists.
pub fn init_bsp() {
    sched::init_bsp();
}
