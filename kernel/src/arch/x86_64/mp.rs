//! Starting the application processors (DragonFly's `platform/pc64/x86_64/mp_machdep.c`).
//!
//! A `.code16` trampoline is copied to the low page the loader reserved
//! (`BootInfo::ap_trampoline`). Each AP is woken with INIT-SIPI-SIPI (delays on the TSC,
//! calibrated against the HPET: the LAPIC timer is not trusted for this), enters real mode
//! at that page, loads a small GDT, turns on PAE, long mode and paging with a PML4 below
//! 4 GiB that maps the trampoline 1:1 and the kernel half as the kernel PML4 does, and jumps
//! to [`ap_entry`] on the stack `lwkt::smp::ap_boot_stack` gave it. APs start one at a
//! time, so one copy of the trampoline's data serves them all.
use super::{cpu, gdt, idt, lapic, pmap};
use crate::lwkt::{globaldata, smp};
use crate::mem::phys;
use abi::boot::BootInfo;
use core::sync::atomic::{AtomicU32, Ordering};

core::arch::global_asm!(
    r#"
    .section .rodata.ap_trampoline, "a"
    .balign 16
    .global ap_tramp_start
ap_tramp_start:
    .code16
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl (ap_tramp_gdtr - ap_tramp_start)
    movl %cr4, %eax
    orl $0x20, %eax                     /* PAE */
    movl %eax, %cr4
    movl (ap_tramp_cr3 - ap_tramp_start), %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx              /* EFER: LME, NXE (the kernel's pages use NX) */
    rdmsr
    orl $0x900, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax               /* PG, PE */
    movl %eax, %cr0
    ljmpl *(ap_tramp_farptr - ap_tramp_start)
    .code64
    .global ap_tramp_long
ap_tramp_long:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq ap_tramp_stack(%rip), %rsp
    movq ap_tramp_gd(%rip), %rdi
    movq ap_tramp_entry(%rip), %rax
    xorl %ebp, %ebp
    pushq $0                            /* a null return address ends backtraces */
    jmpq *%rax
    .balign 8
    .global ap_tramp_gdt
ap_tramp_gdt:
    .quad 0
    .quad 0x00af9a000000ffff            /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
    .global ap_tramp_gdtr
ap_tramp_gdtr:
    .word 23
    .long 0                             /* patched: linear address of ap_tramp_gdt */
    .balign 8
    .global ap_tramp_farptr
ap_tramp_farptr:
    .long 0                             /* patched: linear address of ap_tramp_long */
    .word 0x08
    .balign 8
    .global ap_tramp_cr3
ap_tramp_cr3:
    .quad 0
    .global ap_tramp_stack
ap_tramp_stack:
    .quad 0
    .global ap_tramp_gd
ap_tramp_gd:
    .quad 0
    .global ap_tramp_entry
ap_tramp_entry:
    .quad 0
    .global ap_tramp_end
ap_tramp_end:
    .text
"#,
    options(att_syntax)
);

extern "C" {
    static ap_tramp_start: u8;
    static ap_tramp_long: u8;
    static ap_tramp_gdt: u8;
    static ap_tramp_gdtr: u8;
    static ap_tramp_farptr: u8;
    static ap_tramp_cr3: u8;
    static ap_tramp_stack: u8;
    static ap_tramp_gd: u8;
    static ap_tramp_entry: u8;
    static ap_tramp_end: u8;
}

/// Offset of a trampoline label from its start.
fn off(label: *const u8) -> u64 {
    label as u64 - &raw const ap_tramp_start as u64
}

/// How long an AP gets to come online before it is given up.
const AP_TIMEOUT_NS: u64 = 2_000_000_000;

/// CPUs the MADT listed (capped at MAXCPU); 1 without ACPI.
static EXPECTED: AtomicU32 = AtomicU32::new(1);

/// The number of CPUs the firmware listed (capped at MAXCPU).
pub fn expected_cpus() -> usize {
    EXPECTED.load(Ordering::Relaxed) as usize
}

/// Writes a u64 into the trampoline copy at `page_va + offset`.
fn poke(page_va: u64, offset: u64, v: u64) {
    // SAFETY: page_va is the direct-map view of the reserved trampoline page, offset lies
    // inside the copied trampoline (8-byte aligned by the .balign above), and no AP is
    // executing the trampoline while the boot CPU writes it.
    unsafe { ((page_va + offset) as *mut u64).write_volatile(v) };
}

/// A PML4 below 4 GiB (CR3 is loaded in 32-bit mode) that maps the first 2 MiB 1:1 for the
/// trampoline and shares the kernel PML4's upper half.
fn low_pml4() -> Option<u64> {
    let pages: [u64; 3] = [phys::alloc_zeroed()?, phys::alloc_zeroed()?, phys::alloc_zeroed()?];
    if pages.iter().any(|&p| p >= 1 << 32) {
        log::error!("smp: no page-table page below 4 GiB for the trampoline");
        return None;
    }
    let [pml4, pdpt, pd] = pages.map(|pa| pmap::phys_to_virt(pa) as *mut u64);
    let kernel = pmap::phys_to_virt(pmap::kernel_pml4()) as *const u64;
    // SAFETY: all four pages are page tables reached through the direct map; the three new
    // ones belong to this function; indices are below 512.
    unsafe {
        for i in 256..512 {
            *pml4.add(i) = *kernel.add(i);
        }
        *pml4 = pages[1] | pmap::pte::PRESENT | pmap::pte::WRITABLE;
        *pdpt = pages[2] | pmap::pte::PRESENT | pmap::pte::WRITABLE;
        *pd = pmap::pte::PRESENT | pmap::pte::WRITABLE | pmap::pte::HUGE;
    }
    Some(pages[0])
}

/// Starts every CPU the MADT lists, one at a time; an AP that does not come online in time
/// is logged, put back to sleep with INIT, and left out. Prints `smp: N CPUs online`.
pub fn start_aps(bi: &BootInfo) {
    let cpus = match super::acpi::platform() {
        Some(p) if lapic::available() => &p.cpus,
        _ => {
            crate::kprintln!("smp: 1 CPUs online (no ACPI)");
            return;
        }
    };
    let bsp_apic = lapic::id();
    let listed = cpus.len().min(globaldata::MAXCPU);
    if cpus.len() > globaldata::MAXCPU {
        log::warn!("smp: {} CPUs listed, using {}", cpus.len(), globaldata::MAXCPU);
    }
    EXPECTED.store(listed as u32, Ordering::Relaxed);
    let page = bi.ap_trampoline;
    if listed > 1 && (page == 0 || page >= 0x10_0000 || !page.is_multiple_of(4096)) {
        log::error!("smp: no usable trampoline page ({:#x}); staying on one CPU", page);
        crate::kprintln!("smp: 1 CPUs online");
        return;
    }
    let tramp_len = &raw const ap_tramp_end as u64 - &raw const ap_tramp_start as u64;
    let page_va = pmap::phys_to_virt(page);
    let low = match (listed > 1).then(low_pml4) {
        Some(Some(pml4)) => pml4,
        Some(None) => {
            log::error!("smp: cannot build the trampoline page tables; staying on one CPU");
            crate::kprintln!("smp: 1 CPUs online");
            return;
        }
        None => 0,
    };
    if listed > 1 {
        // SAFETY: the trampoline is tramp_len bytes of rodata; the page is reserved for it
        // (the allocator never hands out the first MiB) and mapped by the direct map.
        unsafe {
            core::ptr::copy_nonoverlapping(&raw const ap_tramp_start, page_va as *mut u8, tramp_len as usize);
            ((page_va + off(&raw const ap_tramp_gdtr) + 2) as *mut u32)
                .write_unaligned((page + off(&raw const ap_tramp_gdt)) as u32);
            ((page_va + off(&raw const ap_tramp_farptr)) as *mut u32)
                .write_volatile((page + off(&raw const ap_tramp_long)) as u32);
        }
        poke(page_va, off(&raw const ap_tramp_cr3), low);
        poke(page_va, off(&raw const ap_tramp_entry), ap_entry as *const () as u64);
    }
    let aps = cpus.iter().copied().filter(|&a| a != bsp_apic).take(listed.saturating_sub(1));
    for (cpuid, apic) in (1..).zip(aps) {
        let Some(gd) = globaldata::alloc_ap(cpuid, apic) else {
            log::error!("smp: no globaldata for cpu {}", cpuid);
            continue;
        };
        let Some(stack) = smp::ap_boot_stack(gd) else {
            log::error!("smp: no stack for cpu {}", cpuid);
            continue;
        };
        poke(page_va, off(&raw const ap_tramp_stack), stack);
        poke(page_va, off(&raw const ap_tramp_gd), gd as *const globaldata::GlobalData as u64);
        let t0 = crate::time::nanotime();
        lapic::send_init(apic);
        crate::time::delay_us(10_000);
        let up = || smp::online_mask() & (1 << cpuid) != 0;
        for _ in 0..2 {
            if up() {
                break;
            }
            lapic::send_startup(apic, (page >> 12) as u8);
            crate::time::delay_us(200);
        }
        while !up() && crate::time::nanotime() - t0 < AP_TIMEOUT_NS {
            core::hint::spin_loop();
        }
        if up() {
            log::info!(
                "smp: cpu {} (APIC {}) online after {} us",
                cpuid,
                apic,
                (crate::time::nanotime() - t0) / 1000
            );
        } else {
            // Back to wait-for-SIPI, so it cannot wake later on another AP's trampoline data.
            lapic::send_init(apic);
            // Nothing may send it IPIs or create threads on it.
            globaldata::forget_ap(cpuid);
            log::error!("smp: cpu {} (APIC {}) did not start; continuing without it", cpuid, apic);
        }
    }
    crate::kprintln!("smp: {} CPUs online", smp::online_mask().count_ones());
}

/// The first Rust an AP runs, on its boot stack, with interrupts off and the trampoline's
/// page tables: per-CPU setup in the boot CPU's order, then `lwkt::smp::ap_main`.
extern "C" fn ap_entry(gd: &'static globaldata::GlobalData) -> ! {
    let (_, flags) = x86_64::registers::control::Cr3::read_raw();
    // SAFETY: the kernel PML4 maps everything the trampoline PML4's kernel half maps (they
    // share those entries), including this code and this stack.
    unsafe {
        x86_64::registers::control::Cr3::write_raw(
            x86_64::structures::paging::PhysFrame::containing_address(x86_64::PhysAddr::new(
                pmap::kernel_pml4(),
            )),
            flags,
        )
    };
    // GS first: everything below may allocate, and the allocator's critical section looks
    // for the current thread through GS (none yet here, which it handles).
    globaldata::install(gd);
    cpu::init_this_cpu(cpu::features());
    if let Err(e) = gdt::init_cpu(gd.cpuid) {
        crate::kprintln!("smp: cpu {}: {}", gd.cpuid, e);
        super::power::halt_forever();
    }
    idt::init();
    lapic::init_this_cpu();
    crate::time::systimer::start_hardclock();
    smp::ap_main(gd)
}

mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};
    use core::sync::atomic::AtomicU64;

    fn wait_until(cond: impl Fn() -> bool, limit_ns: u64) -> bool {
        let t0 = crate::time::nanotime();
        while !cond() && crate::time::nanotime() - t0 < limit_ns {
            x86_64::instructions::interrupts::enable_and_hlt();
        }
        cond()
    }

    ktest! {
        /// Every CPU the MADT lists is online, with its own globaldata.
        fn all_cpus_online() {
            let n = expected_cpus();
            kassert_eq!(smp::online_mask(), if n >= 64 { u64::MAX } else { (1u64 << n) - 1 });
            kassert_eq!(globaldata::ncpus(), n);
            for c in 0..n {
                let gd = globaldata::globaldata(c).ok_or("missing globaldata")?;
                kassert_eq!(gd.cpuid, c);
            }
            Ok(())
        }
    }

    ktest! {
        /// A doorbell IPI to each AP reaches its IPIQ handler on that CPU.
        fn ipi_reaches_each_ap() {
            for c in 1..globaldata::ncpus() {
                let gd = globaldata::globaldata(c).ok_or("missing globaldata")?;
                let before = crate::lwkt::ipiq::doorbells(c);
                lapic::send_ipi(gd.md.apic_id.load(Ordering::Relaxed), lapic::VECTOR_IPIQ);
                let got = wait_until(|| crate::lwkt::ipiq::doorbells(c) > before, 1_000_000_000);
                kassert!(got, "cpu {} took no doorbell", c);
            }
            Ok(())
        }
    }

    ktest! {
        /// Every CPU's LAPIC timer drives its hardclock.
        fn every_cpu_ticks() {
            for c in 0..globaldata::ncpus() {
                let t0 = crate::lwkt::clock::ticks(c);
                let got = wait_until(|| crate::lwkt::clock::ticks(c) > t0, 1_000_000_000);
                kassert!(got, "cpu {} hardclock stuck at {}", c, t0);
            }
            Ok(())
        }
    }

    /// Per CPU: 1 + the cpuid GS gave, the LAPIC id the hardware gave, clock failures.
    static SEEN_CPUID: [AtomicU64; globaldata::MAXCPU] = [const { AtomicU64::new(0) }; globaldata::MAXCPU];
    static SEEN_APIC: [AtomicU64; globaldata::MAXCPU] = [const { AtomicU64::new(0) }; globaldata::MAXCPU];
    static CLOCK_BACKWARDS: AtomicU64 = AtomicU64::new(0);
    /// The latest nanotime any CPU has published: later reads anywhere must not be smaller.
    static GLOBAL_LAST: AtomicU64 = AtomicU64::new(0);

    fn probe() {
        let h = super::super::percpu::current();
        let c = h.cpuid.load(Ordering::Relaxed) as usize;
        for _ in 0..2000 {
            let seen = GLOBAL_LAST.load(Ordering::Acquire);
            let now = crate::time::nanotime();
            if now < seen {
                CLOCK_BACKWARDS.fetch_add(1, Ordering::Relaxed);
            }
            GLOBAL_LAST.fetch_max(now, Ordering::AcqRel);
        }
        SEEN_APIC[c % globaldata::MAXCPU].store(lapic::id() as u64 + 1, Ordering::Relaxed);
        SEEN_CPUID[c % globaldata::MAXCPU].store(c as u64 + 1, Ordering::Release);
    }

    ktest! {
        /// On every CPU, GS gives the CPU's own cpuid and APIC id, and nanotime read there
        /// never falls behind a value another CPU published before.
        fn per_cpu_identity_and_clock() {
            let v = super::super::intr::register_any(probe).ok_or("no vector")?;
            let n = globaldata::ncpus();
            for seen in &SEEN_CPUID[..n] {
                seen.store(0, Ordering::Relaxed);
            }
            // All at once, so the cross-CPU clock check runs concurrently.
            for c in 0..n {
                let gd = globaldata::globaldata(c).ok_or("missing globaldata")?;
                lapic::send_ipi(gd.md.apic_id.load(Ordering::Relaxed), v);
            }
            let done = wait_until(|| (0..n).all(|c| SEEN_CPUID[c].load(Ordering::Acquire) != 0), 2_000_000_000);
            super::super::intr::unregister(v);
            kassert!(done, "not every CPU ran the probe");
            for c in 0..n {
                let gd = globaldata::globaldata(c).ok_or("missing globaldata")?;
                kassert_eq!(SEEN_CPUID[c].load(Ordering::Relaxed), c as u64 + 1);
                kassert_eq!(SEEN_APIC[c].load(Ordering::Relaxed), gd.md.apic_id.load(Ordering::Relaxed) as u64 + 1);
                let (_, ist) = gdt::tss_stacks(c).ok_or("no TSS")?;
                kassert!(ist.iter().all(|&t| t != 0), "cpu {} IST {:x?}", c, ist);
                if c > 0 {
                    for t in ist {
                        kassert!(pmap::lookup(t - 16 * 1024 - 4096).is_none(), "cpu {} IST stack has no guard", c);
                    }
                }
            }
            kassert_eq!(CLOCK_BACKWARDS.load(Ordering::Relaxed), 0);
            Ok(())
        }
    }
}
