//! x86_64: entry, descriptor tables, traps, CPU and FPU state, the kernel pmap.
pub mod acpi;
pub mod copyio;
pub mod cpu;
pub mod fpu;
pub mod gdt;
pub mod idt;
pub mod intr;
pub mod ioapic;
pub mod lapic;
pub mod mp;
pub mod percpu;
pub mod pic;
pub mod pmap;
pub mod power;
pub mod smap;
pub mod stack;
pub mod start;
pub mod switch;
pub mod syscall_entry;
pub mod trap;
mod trap_entry;
pub mod usermode;

/// Loads the boot CPU's GDT, TSS and IDT.
pub fn descriptors_init_bsp() {
    gdt::init_bsp();
    idt::init();
}

/// The interrupt hardware from the ACPI tables: the MADT, then the boot CPU's local APIC
/// and the IOAPICs with every pin masked. A bad or missing table is logged and the kernel
/// goes on without what it describes.
pub fn platform_init(bi: &abi::boot::BootInfo) {
    let p = match acpi::init(bi.rsdp) {
        Ok(p) => p,
        Err(e) => {
            log::error!("acpi: {}; no APICs, one CPU", e);
            return;
        }
    };
    log::info!(
        "acpi: {} CPUs (APIC ids {:?}), {} IOAPICs, {} overrides, HPET {}",
        p.cpus.len(),
        p.cpus,
        p.ioapics.len(),
        p.overrides.len(),
        if p.hpet.is_some() { "yes" } else { "no" }
    );
    if let Err(e) = lapic::init_bsp(p.lapic_phys) {
        log::error!("lapic: {}", e);
        return;
    }
    ioapic::init(p);
}
