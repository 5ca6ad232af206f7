//! The machine-dependent user state of a thread that runs a process (DragonFly's pcb and
//! lwp_md): its FPU/SSE/AVX registers, FS and GS bases, and address space. The kernel is
//! built soft-float and never touches these registers, so they are switched with the thread
//! (not at every kernel entry), by [`switch_user_state`] from the LWKT switch.
use crate::arch::x86_64::fpu;
use crate::arch::x86_64::trap::TrapFrame;
use crate::lwkt::thread::Thread;
use crate::vm::VmSpace;
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use x86_64::registers::model_specific::{FsBase, KernelGsBase};
use x86_64::VirtAddr;

/// A 64-byte aligned XSAVE area.
pub struct FpuArea {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: the area is plain bytes owned by one thread; only its owner CPU saves into it or
// restores from it, in the switch's critical section.
unsafe impl Send for FpuArea {}
// SAFETY: as above.
unsafe impl Sync for FpuArea {}

impl FpuArea {
    /// A fresh area holding the initial FPU state (FCW 0x37f, MXCSR 0x1f80). `None` when
    /// memory is short.
    pub fn new() -> Option<FpuArea> {
        let layout = Layout::from_size_align(fpu::xsave_area_size(), fpu::AREA_ALIGN).ok()?;
        // SAFETY: the layout has a non-zero size.
        let ptr = NonNull::new(unsafe { alloc_zeroed(layout) })?;
        let a = FpuArea { ptr, layout };
        // SAFETY: ptr points to layout.size() bytes we own.
        fpu::init_area(unsafe { core::slice::from_raw_parts_mut(a.ptr.as_ptr(), layout.size()) });
        Some(a)
    }

    fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The image's bytes.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: ptr points to layout.size() bytes this area owns, borrowed mutably here.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }

    /// Saves the CPU's live FPU registers into this area (signal delivery: the kernel never
    /// uses them, so they are the interrupted user code's).
    pub fn save_live(&mut self) {
        let _c = crate::lwkt::crit::crit();
        // SAFETY: an area of the XSAVE size, aligned (see `new`).
        unsafe { fpu::save(self.ptr()) };
    }

    /// Loads this area into the CPU's FPU registers (sigreturn). The image must be valid:
    /// made by `new` or `save_live`, or passed through `fpu::sanitize_area`.
    pub fn load_live(&self) {
        let _c = crate::lwkt::crit::crit();
        // SAFETY: as above; the caller vouches for the image.
        unsafe { fpu::restore(self.ptr()) };
    }
}

impl Drop for FpuArea {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// What a process thread carries besides its kernel context.
pub struct UserMd {
    fpu: FpuArea,
    /// User FS base (TLS): saved from the MSR when the thread switches out.
    pub fs_base: AtomicU64,
    /// User GS base (KERNEL_GS_BASE while in the kernel).
    pub gs_base: AtomicU64,
    /// The address space, swapped by exec.
    vmspace: UnsafeCell<Arc<VmSpace>>,
    /// The lwp this thread runs (a `proc::Lwp`).
    pub lwp: Arc<super::Lwp>,
    /// Set when the process has exited: the switch no longer loads this state, and the
    /// address space may go.
    retired: AtomicBool,
    /// Where a new thread first enters user mode (see [`enter_pending`]).
    start: crate::sync::spinlock::SpinLock<Option<TrapFrame>>,
}

// SAFETY: `vmspace` is changed only by the thread itself (exec) in a critical section and
// read by the switch code on the same CPU; the rest is atomics or Sync.
unsafe impl Sync for UserMd {}

impl UserMd {
    /// State for a thread of `lwp` running in `vs`. `None` when memory is short.
    pub fn new(lwp: Arc<super::Lwp>, vs: Arc<VmSpace>) -> Option<UserMd> {
        Some(UserMd {
            fpu: FpuArea::new()?,
            fs_base: AtomicU64::new(0),
            gs_base: AtomicU64::new(0),
            vmspace: UnsafeCell::new(vs),
            lwp,
            retired: AtomicBool::new(false),
            start: crate::sync::spinlock::SpinLock::new(None),
        })
    }

    /// Makes a new thread enter user mode with `frame` once its start function returns.
    pub fn set_start(&self, frame: TrapFrame) {
        *self.start.lock() = Some(frame);
    }

    /// fork: state for the child's thread, running `lwp` in `vs`, with a copy of the calling
    /// thread's live FPU registers and FS/GS bases. Called by the parent, on its own CPU.
    pub fn fork_child(&self, lwp: Arc<super::Lwp>, vs: Arc<VmSpace>) -> Option<UserMd> {
        let child = UserMd::new(lwp, vs)?;
        let _c = crate::lwkt::crit::crit();
        // SAFETY: the child's own area, sized and aligned for XSAVE; the registers are the
        // caller's (the kernel never uses them), so this snapshots the parent's state.
        unsafe { fpu::save(child.fpu.ptr()) };
        child.fs_base.store(FsBase::read().as_u64(), Ordering::Relaxed);
        child.gs_base.store(KernelGsBase::read().as_u64(), Ordering::Relaxed);
        Some(child)
    }

    /// Loads this state into the CPU (FPU registers, FS/GS bases, address space): the switch
    /// does it for a resumed thread; a new process thread does it once before its first
    /// entry to user mode.
    pub fn load(&self) {
        let _c = crate::lwkt::crit::crit();
        // SAFETY: the area holds a valid image (made by init_area or a save).
        unsafe { fpu::restore(self.fpu.ptr()) };
        FsBase::write(VirtAddr::new_truncate(self.fs_base.load(Ordering::Relaxed)));
        KernelGsBase::write(VirtAddr::new_truncate(self.gs_base.load(Ordering::Relaxed)));
        let vs = self.vmspace();
        if !VmSpace::current().is_some_and(|c| Arc::ptr_eq(&c, &vs)) {
            vs.activate();
        }
    }

    /// The process has exited: stop loading this state and put the CPU back on the kernel
    /// page tables, so the address space can be freed while the thread finishes.
    pub fn retire(&self) {
        let _c = crate::lwkt::crit::crit();
        self.retired.store(true, Ordering::Relaxed);
        VmSpace::deactivate();
    }

    /// The address space.
    pub fn vmspace(&self) -> Arc<VmSpace> {
        // SAFETY: see the Sync impl: only the owner thread writes, in a critical section.
        unsafe { (*self.vmspace.get()).clone() }
    }

    /// Replaces the address space (exec) and switches this CPU to it; returns the old one.
    /// Called by the thread itself.
    pub fn replace_vmspace(&self, vs: Arc<VmSpace>) -> Arc<VmSpace> {
        let _c = crate::lwkt::crit::crit();
        vs.activate();
        // SAFETY: the owner thread, in a critical section (see the Sync impl).
        unsafe { core::mem::replace(&mut *self.vmspace.get(), vs) }
    }
}

/// Called by the LWKT switch, on the old thread's stack in a critical section, just before
/// switching from `prev` to `next`: saves `prev`'s user registers and loads `next`'s.
pub fn switch_user_state(prev: &Thread, next: &Thread) {
    if let Some(u) = prev.user().filter(|u| !u.retired.load(Ordering::Relaxed)) {
        u.fs_base.store(FsBase::read().as_u64(), Ordering::Relaxed);
        u.gs_base.store(KernelGsBase::read().as_u64(), Ordering::Relaxed);
        // SAFETY: the area is prev's own, sized and aligned for XSAVE.
        unsafe { fpu::save(u.fpu.ptr()) };
        u.lwp.rseq.preempted();
    }
    if let Some(u) = next.user().filter(|u| !u.retired.load(Ordering::Relaxed)) {
        u.load();
    }
}

/// Called by the LWKT thread start once the thread's start function has returned (and its
/// closure is freed: a function that never returns would leak it): a thread given a user
/// entry frame loads its user state and enters user mode; others return and exit.
pub fn enter_pending(td: &Thread) {
    let Some(u) = td.user() else { return };
    let Some(mut frame) = u.start.lock().take() else { return };
    // The thread's registers go live before anything can switch it out (the switch saves
    // whatever is live into its state); then a user slot, which may park or move it.
    u.load();
    super::rseq::return_to_user(&u.lwp, &mut frame);
    // SAFETY: the frame was built by fork or the PID 1 start from checked user addresses and
    // user selectors; this stack has nothing above the thread start, which never resumes.
    unsafe { enter_user(&frame) }
}

/// Enters user mode from a frame built on the kernel stack (the first entry of a new
/// process thread, and exec). Never returns: the next kernel entry starts afresh at the
/// stack top.
///
/// # Safety
/// `frame` must be a user frame (user CS/SS, canonical user rip and rsp, sane RFLAGS) lying
/// at the top of the current thread's kernel stack, which nothing else uses any more.
#[unsafe(naked)]
pub unsafe extern "C" fn enter_user(frame: *const TrapFrame) -> ! {
    core::arch::naked_asm!(
        "cli",
        "mov rsp, rdi",
        crate::arch::x86_64::trap::pop_trapframe_gprs!(),
        // vector and error code.
        "add rsp, 16",
        "swapgs",
        "iretq",
    )
}
