//! GDT and TSS. The segment order is the one SYSCALL/SYSRET need (STAR): kernel code,
//! kernel data, user code32, user data, user code64, then the TSS.
use super::stack::{GuardedStack, IST_STACK_SIZE};
use core::cell::UnsafeCell;
use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, DescriptorFlags, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::{PrivilegeLevel, VirtAddr};

/// IST slot (1-based as in the IDT) of the double-fault stack.
pub const IST_DOUBLE_FAULT: u16 = 1;
/// IST slot of the NMI stack.
pub const IST_NMI: u16 = 2;
/// IST slot of the machine-check stack.
pub const IST_MACHINE_CHECK: u16 = 3;

/// Kernel code selector.
pub const KERNEL_CS: SegmentSelector = SegmentSelector::new(1, PrivilegeLevel::Ring0);
/// Kernel data selector.
pub const KERNEL_DS: SegmentSelector = SegmentSelector::new(2, PrivilegeLevel::Ring0);
/// User 32-bit code selector.
pub const USER_CS32: SegmentSelector = SegmentSelector::new(3, PrivilegeLevel::Ring3);
/// User data selector.
pub const USER_DS: SegmentSelector = SegmentSelector::new(4, PrivilegeLevel::Ring3);
/// User 64-bit code selector.
pub const USER_CS: SegmentSelector = SegmentSelector::new(5, PrivilegeLevel::Ring3);
/// TSS selector.
pub const TSS_SEL: SegmentSelector = SegmentSelector::new(6, PrivilegeLevel::Ring0);

/// The boot CPU's IST stacks, each with an unmapped guard page below it.
pub static BSP_IST_STACKS: [GuardedStack<IST_STACK_SIZE>; 3] =
    [GuardedStack::new(), GuardedStack::new(), GuardedStack::new()];

/// A TSS in a cell: the CPU reads it on every entry from user mode while the kernel rewrites
/// `rsp0` at every switch ([`set_rsp0`]).
struct TssCell(UnsafeCell<TaskStateSegment>);

// SAFETY: only the CPU that loaded a TSS writes it (rsp0, with interrupts off), and Rust code
// never holds a reference into it across that write.
unsafe impl Sync for TssCell {}

static BSP_TSS: Once<TssCell> = Once::new();
static BSP_GDT: Once<GlobalDescriptorTable<8>> = Once::new();

fn build_gdt(tss: &'static TssCell) -> GlobalDescriptorTable<8> {
    let mut gdt = GlobalDescriptorTable::new();
    let sels = [
        gdt.append(Descriptor::kernel_code_segment()),
        gdt.append(Descriptor::kernel_data_segment()),
        gdt.append(Descriptor::UserSegment(DescriptorFlags::USER_CODE32.bits())),
        gdt.append(Descriptor::user_data_segment()),
        gdt.append(Descriptor::user_code_segment()),
        // SAFETY: the TSS lives in a static, so it outlives the descriptor.
        gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss.0.get()) }),
    ];
    debug_assert_eq!(sels, [KERNEL_CS, KERNEL_DS, USER_CS32, USER_DS, USER_CS, TSS_SEL]);
    gdt
}

/// Loads the boot CPU's GDT and TSS and reloads every segment register.
pub fn init_bsp() {
    let tss = BSP_TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        for (slot, stack) in [IST_DOUBLE_FAULT, IST_NMI, IST_MACHINE_CHECK].into_iter().zip(&BSP_IST_STACKS) {
            tss.interrupt_stack_table[slot as usize - 1] = VirtAddr::new(stack.top());
        }
        TssCell(UnsafeCell::new(tss))
    });
    let gdt = BSP_GDT.call_once(|| build_gdt(tss));
    gdt.load();
    // SAFETY: the selectors index descriptors of the GDT just loaded, which lives in a static.
    unsafe {
        CS::set_reg(KERNEL_CS);
        SS::set_reg(KERNEL_DS);
        DS::set_reg(SegmentSelector(0));
        ES::set_reg(SegmentSelector(0));
        load_tss(TSS_SEL);
    }
}

/// Sets the boot CPU's TSS.rsp0: the stack the CPU switches to on an interrupt or exception
/// from user mode. Called with interrupts off whenever the running kernel stack changes.
pub fn set_rsp0(top: u64) {
    let tss = BSP_TSS.get().expect("gdt::set_rsp0 before gdt::init_bsp");
    // SAFETY: the TSS is a static only this CPU writes; the field is written in place without
    // a reference (the struct is packed), and the CPU reads rsp0 only on a privilege change,
    // which cannot happen in the middle of this store.
    unsafe {
        let rsp0 = core::ptr::addr_of_mut!((*tss.0.get()).privilege_stack_table).cast::<VirtAddr>();
        rsp0.write_unaligned(VirtAddr::new(top));
    }
}
