//! Damselfly: an x86_64 kernel on DragonFly BSD's kernel-core design.
//!
//! `kmain` brings the machine up in a fixed order: console, boot information, command line,
//! CPU state, descriptor tables, physical memory (from which kmalloc draws), the kernel's own
//! page tables and the symbol table; the ACPI tables, local APIC and IOAPICs, the clocks and systimers;
//! interrupts on, then the other CPUs; the root tmpfs, the devices, devfs on /dev and procfs on
//! /proc; then it runs what the command line asks (in-kernel tests, a deliberate crash) or idles.
#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod bootinfo;
mod debug;
mod dev;
mod event;
mod ipc;
mod kenv;
mod ktest;
mod lwkt;
mod mem;
mod panic;
mod proc;
mod sched;
mod sync;
mod syscall;
mod time;
mod tty;
mod vfs;
mod vm;

use arch::x86_64 as md;

/// The kernel's version, as printed in the banner.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Called by the entry stub on the boot stack with the physical address of the loader's
/// [`abi::boot::BootInfo`].
extern "C" fn kmain(boot_info_phys: u64) -> ! {
    tty::console::init();
    kprintln!("Damselfly {} x86_64 (LWKT kernel)", VERSION);
    let bi = match bootinfo::init(boot_info_phys) {
        Ok(bi) => bi,
        Err(why) => {
            kprintln!("boot: {}", why);
            md::power::exit_failure();
        }
    };
    let env = kenv::init(bi.cmdline());
    tty::klog::init(env.log_level);

    let features = md::cpu::init_bsp();
    md::descriptors_init_bsp();
    lwkt::globaldata::init_bsp(md::cpu::apic_id());
    md::pic::disable();
    kprintln!("cpu: {}", features);

    mem::phys::init(bi);
    md::pmap::init_kernel_pmap(bi);
    lwkt::init_bsp();
    debug::ksym::init(bi);
    mem::phys::print_summary();
    log::info!("command line: {}", core::str::from_utf8(bi.cmdline()).unwrap_or("<not UTF-8>"));
    md::platform_init(bi);
    lwkt::ipiq::set_doorbell(|apic_id| md::lapic::send_ipi(apic_id, md::lapic::VECTOR_IPIQ));
    time::init();
    // From here the boot CPU takes interrupts: its hardclock runs, and device interrupts
    // and IPIs arrive.
    x86_64::instructions::interrupts::enable();
    md::mp::start_aps(bi);
    sched::init();
    vfs::rootfs::init(bi);
    dev::init();
    vfs::devfs::mount_at_boot();
    vfs::procfs::mount_at_boot();

    if let Some(what) = env.crash {
        ktest::crash::commit(what);
    }
    if let Some(pattern) = env.ktest {
        ktest::run(pattern);
    }
    // Nothing reads the root image any more: the root tmpfs holds its files.
    vfs::rootfs::release_image(bi);
    if let Some(path) = env.init {
        proc::init::start(path, env.init_args);
    }
    log::info!("boot complete");
    // Thread 0 is done; the idle thread takes over this CPU.
    lwkt::sched::exit()
}
