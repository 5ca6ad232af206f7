//! GDT and TSS. The segment order is the one SYSCALL/SYSRET need (STAR): kernel code,
//! kernel data, user code32, user data, user code64, then the TSS.
use super::stack::{GuardedStack, IST_STACK_SIZE};
use crate::lwkt::globaldata::MAXCPU;
use crate::mem::{kstack, PAGE_SIZE};
use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicPtr, Ordering};
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
/// IST slot of the debug-exception stack: a #DB can hit the first instructions of the
/// syscall entry, before it switched to a kernel stack.
pub const IST_DEBUG: u16 = 4;
/// Every IST slot in use, in the order of each CPU's IST stacks.
pub const IST_SLOTS: [u16; 4] = [IST_DOUBLE_FAULT, IST_NMI, IST_MACHINE_CHECK, IST_DEBUG];

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
pub static BSP_IST_STACKS: [GuardedStack<IST_STACK_SIZE>; 4] =
    [GuardedStack::new(), GuardedStack::new(), GuardedStack::new(), GuardedStack::new()];

/// A TSS the CPU reads and its owner updates (rsp0 at every thread switch).
struct TssCell(UnsafeCell<TaskStateSegment>);

// SAFETY: only the owning CPU writes its TSS (set_rsp0 is called on that CPU by the context
// switch), and other code only takes its address.
unsafe impl Sync for TssCell {}

/// One CPU's descriptor tables.
struct CpuTables {
    tss: TssCell,
    gdt: GlobalDescriptorTable<8>,
}

/// Each CPU's tables, set once by `init_cpu` and never freed.
static TABLES: [AtomicPtr<CpuTables>; MAXCPU] = [const { AtomicPtr::new(core::ptr::null_mut()) }; MAXCPU];
static BSP_TABLES: Once<CpuTables> = Once::new();

fn build_gdt(tss: *const TaskStateSegment) -> GlobalDescriptorTable<8> {
    let mut gdt = GlobalDescriptorTable::new();
    let sels = [
        gdt.append(Descriptor::kernel_code_segment()),
        gdt.append(Descriptor::kernel_data_segment()),
        gdt.append(Descriptor::UserSegment(DescriptorFlags::USER_CODE32.bits())),
        gdt.append(Descriptor::user_data_segment()),
        gdt.append(Descriptor::user_code_segment()),
        // SAFETY: the TSS lives as long as the GDT (both in one never-freed CpuTables).
        gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss) }),
    ];
    debug_assert_eq!(sels, [KERNEL_CS, KERNEL_DS, USER_CS32, USER_DS, USER_CS, TSS_SEL]);
    gdt
}

fn tss_with(ist_tops: [u64; 4]) -> TaskStateSegment {
    let mut tss = TaskStateSegment::new();
    for (slot, top) in IST_SLOTS.into_iter().zip(ist_tops) {
        tss.interrupt_stack_table[slot as usize - 1] = VirtAddr::new(top);
    }
    tss
}

/// Builds CPU `cpuid`'s GDT and TSS (its IST stacks: the static ones for the boot CPU,
/// guarded kernel stacks for the others), loads them and reloads every segment register.
/// Runs on that CPU. Fails only when memory for the IST stacks runs out.
pub fn init_cpu(cpuid: usize) -> Result<(), &'static str> {
    let slot = TABLES.get(cpuid).ok_or("cpuid out of range")?;
    let tables: &'static CpuTables = if cpuid == 0 {
        BSP_TABLES.call_once(|| {
            let tss = tss_with(core::array::from_fn(|i| BSP_IST_STACKS[i].top()));
            CpuTables { tss: TssCell(UnsafeCell::new(tss)), gdt: GlobalDescriptorTable::new() }
        })
    } else {
        let mut tops = [0u64; 4];
        for top in &mut tops {
            // The stack is never handed back to kstack::free: a CPU keeps its IST stacks.
            *top = kstack::alloc(IST_STACK_SIZE / PAGE_SIZE).ok_or("no memory for IST stacks")?.top();
        }
        Box::leak(Box::new(CpuTables {
            tss: TssCell(UnsafeCell::new(tss_with(tops))),
            gdt: GlobalDescriptorTable::new(),
        }))
    };
    let tables_ptr = tables as *const CpuTables as *mut CpuTables;
    // SAFETY: the tables were just created and nothing has loaded their GDT yet: it is
    // filled in once, here, on its own CPU, now that the TSS has its final address.
    unsafe {
        if (*tables_ptr).gdt.limit() == GlobalDescriptorTable::<8>::new().limit() {
            (*tables_ptr).gdt = build_gdt(tables.tss.0.get());
        }
    }
    slot.store(tables_ptr, Ordering::Release);
    // SAFETY: the GDT lives for ever (static or leaked) and is not moved after this.
    unsafe { (*tables_ptr).gdt.load_unsafe() };
    // SAFETY: the selectors index descriptors of the GDT just loaded.
    unsafe {
        CS::set_reg(KERNEL_CS);
        SS::set_reg(KERNEL_DS);
        DS::set_reg(SegmentSelector(0));
        ES::set_reg(SegmentSelector(0));
        load_tss(TSS_SEL);
    }
    Ok(())
}

/// Loads the boot CPU's GDT and TSS and reloads every segment register.
pub fn init_bsp() {
    if let Err(e) = init_cpu(0) {
        crate::kprintln!("gdt: {}", e);
        super::power::exit_failure();
    }
}

/// Sets this CPU's TSS.rsp0: the stack the CPU switches to on an interrupt or exception
/// from user mode. Called on the owning CPU whenever the running kernel stack changes (every
/// thread switch), with interrupts off or in a critical section.
pub fn set_rsp0(top: u64) {
    let cpuid = super::percpu::current().cpuid.load(Ordering::Relaxed) as usize;
    let Some(t) = TABLES.get(cpuid).map(|p| p.load(Ordering::Acquire)).filter(|p| !p.is_null()) else {
        return;
    };
    // SAFETY: the tables are never freed and only this CPU writes its TSS; the field is
    // written in place without a reference (the struct is packed), and the CPU reads rsp0
    // only on a privilege change, which cannot happen in the middle of this store.
    unsafe {
        let rsp0 = core::ptr::addr_of_mut!((*(*t).tss.0.get()).privilege_stack_table).cast::<VirtAddr>();
        rsp0.write_unaligned(VirtAddr::new(top));
    }
}

/// CPU `cpuid`'s TSS.rsp0 and IST tops (for tests and reports).
pub fn tss_stacks(cpuid: usize) -> Option<(u64, [u64; 4])> {
    let t = TABLES.get(cpuid)?.load(Ordering::Acquire);
    if t.is_null() {
        return None;
    }
    // SAFETY: published tables are never freed; a racy read of rsp0 is harmless here.
    let tss = unsafe { &*(*t).tss.0.get() };
    Some((
        tss.privilege_stack_table[0].as_u64(),
        core::array::from_fn(|i| tss.interrupt_stack_table[i].as_u64()),
    ))
}
