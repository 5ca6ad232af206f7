//! The interrupt descriptor table: 256 interrupt gates, each pointing at its 16-byte stub in
//! `trap_entry`. Double fault, NMI and machine check run on their own IST stacks so that a
//! blown kernel stack still gets a report.
use super::gdt::{IST_DEBUG, IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI, KERNEL_CS};
use super::trap_entry::{stub_address, STUB_COUNT};
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    zero: u32,
}

/// Present, DPL 0, 64-bit interrupt gate (IF cleared on entry).
const INTERRUPT_GATE: u8 = 0x8e;
/// Present, DPL 3: `int3` from user mode is allowed to reach the kernel.
const INTERRUPT_GATE_USER: u8 = 0xee;

impl Gate {
    fn new(handler: u64, ist: u16, type_attr: u8) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector: KERNEL_CS.0,
            ist: ist as u8,
            type_attr,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            zero: 0,
        }
    }
}

#[repr(C, align(16))]
struct Idt([Gate; STUB_COUNT]);

static IDT: spin::Once<Idt> = spin::Once::new();

/// Builds the IDT once and loads it on this CPU.
pub fn init() {
    let idt = IDT.call_once(|| {
        let mut gates = [Gate::default(); STUB_COUNT];
        for (vector, gate) in gates.iter_mut().enumerate() {
            let ist = match vector {
                1 => IST_DEBUG,
                2 => IST_NMI,
                8 => IST_DOUBLE_FAULT,
                18 => IST_MACHINE_CHECK,
                _ => 0,
            };
            let attr = if vector == 3 { INTERRUPT_GATE_USER } else { INTERRUPT_GATE };
            *gate = Gate::new(stub_address(vector), ist, attr);
        }
        Idt(gates)
    });
    let ptr = DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: VirtAddr::new(idt as *const Idt as u64),
    };
    // SAFETY: the table lives in a static and every gate points at a stub in trap_entry.
    unsafe { lidt(&ptr) };
}
