//! x86_64: entry, descriptor tables, traps, CPU and FPU state, the kernel pmap.
pub mod cpu;
pub mod fpu;
pub mod gdt;
pub mod idt;
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
