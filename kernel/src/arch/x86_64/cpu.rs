//! CPU identification and the control-register setup every CPU runs (DragonFly's
//! initializecpu): one function for the boot CPU now and for application processors later.
use core::fmt;
use raw_cpuid::CpuId;
use spin::Once;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};

/// The 48-byte processor brand string.
#[derive(Debug)]
struct Brand([u8; 48]);

impl Default for Brand {
    fn default() -> Self {
        Brand([0; 48])
    }
}

/// What this CPU model offers, read once on the boot CPU.
#[derive(Debug, Default)]
pub struct Features {
    vendor: [u8; 12],
    brand: Brand,
    /// No-execute pages (EFER.NXE): required.
    pub nx: bool,
    /// 1 GiB pages.
    pub pdpe1gb: bool,
    /// Supervisor-mode execution prevention.
    pub smep: bool,
    /// Supervisor-mode access prevention.
    pub smap: bool,
    /// User-mode instruction prevention.
    pub umip: bool,
    /// Global pages.
    pub pge: bool,
    /// RDFSBASE and friends (left off in CR4: see TRAPS.md).
    pub fsgsbase: bool,
    /// XSAVE/XRSTOR and XCR0.
    pub xsave: bool,
    /// XSAVEOPT.
    pub xsaveopt: bool,
    /// XSAVEC (compacted format).
    pub xsavec: bool,
    /// AVX (YMM state).
    pub avx: bool,
    /// AVX2.
    pub avx2: bool,
    /// RDRAND.
    pub rdrand: bool,
    /// RDSEED.
    pub rdseed: bool,
    /// RDTSCP.
    pub rdtscp: bool,
    /// Protection keys.
    pub pku: bool,
    /// Five-level paging.
    pub la57: bool,
    /// x2APIC mode.
    pub x2apic: bool,
    /// TSC-deadline timer mode.
    pub tsc_deadline: bool,
    /// Process-context identifiers.
    pub pcid: bool,
    /// INVPCID.
    pub invpcid: bool,
    /// TSC rate invariant across power states.
    pub invariant_tsc: bool,
}

static FEATURES: Once<Features> = Once::new();

fn detect() -> Features {
    let id = CpuId::new();
    let mut f = Features::default();
    if let Some(v) = id.get_vendor_info() {
        let s = v.as_str().as_bytes();
        let n = s.len().min(12);
        f.vendor[..n].copy_from_slice(&s[..n]);
    }
    if let Some(b) = id.get_processor_brand_string() {
        let s = b.as_str().trim().as_bytes();
        let n = s.len().min(48);
        f.brand.0[..n].copy_from_slice(&s[..n]);
    }
    if let Some(fi) = id.get_feature_info() {
        f.pge = fi.has_pge();
        f.xsave = fi.has_xsave();
        f.avx = fi.has_avx();
        f.rdrand = fi.has_rdrand();
        f.x2apic = fi.has_x2apic();
        f.tsc_deadline = fi.has_tsc_deadline();
        f.pcid = fi.has_pcid();
    }
    if let Some(ef) = id.get_extended_feature_info() {
        f.smep = ef.has_smep();
        f.smap = ef.has_smap();
        f.umip = ef.has_umip();
        f.fsgsbase = ef.has_fsgsbase();
        f.avx2 = ef.has_avx2();
        f.rdseed = ef.has_rdseed();
        f.pku = ef.has_pku();
        f.la57 = ef.has_la57();
        f.invpcid = ef.has_invpcid();
    }
    if let Some(ep) = id.get_extended_processor_and_feature_identifiers() {
        f.nx = ep.has_execute_disable();
        f.pdpe1gb = ep.has_1gib_pages();
        f.rdtscp = ep.has_rdtscp();
    }
    if let Some(apm) = id.get_advanced_power_mgmt_info() {
        f.invariant_tsc = apm.has_invariant_tsc();
    }
    if let Some(xs) = id.get_extended_state_info() {
        f.xsaveopt = xs.has_xsaveopt();
        f.xsavec = xs.has_xsavec();
    }
    f
}

/// The features read at boot. Panics only if called before [`init_bsp`] (a kernel bug).
pub fn features() -> &'static Features {
    FEATURES.get().expect("cpu::features() before cpu::init_bsp()")
}

/// Identifies the CPU and runs the per-CPU setup on the boot CPU.
pub fn init_bsp() -> &'static Features {
    let f = FEATURES.call_once(detect);
    init_this_cpu(f);
    f
}

/// Control registers, EFER, FPU state and the SYSCALL MSRs, identical on every CPU.
pub fn init_this_cpu(f: &Features) {
    if !f.nx {
        crate::kprintln!("cpu: this CPU has no NX bit; Damselfly needs it");
        super::power::exit_failure();
    }
    // SAFETY: the kernel is mapped by tables whose NX bits need EFER.NXE, which is being set;
    // CR0.WP makes read-only kernel pages read-only for the kernel too; NE routes x87 errors
    // through #MF; clearing EM/TS lets the kernel save and restore user FPU state.
    unsafe {
        Efer::update(|e| *e |= EferFlags::NO_EXECUTE_ENABLE | EferFlags::SYSTEM_CALL_EXTENSIONS);
        Cr0::update(|c| {
            c.insert(Cr0Flags::WRITE_PROTECT | Cr0Flags::NUMERIC_ERROR | Cr0Flags::MONITOR_COPROCESSOR);
            c.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
        });
    }
    let mut cr4 = Cr4::read();
    cr4.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE);
    cr4.set(Cr4Flags::PAGE_GLOBAL, f.pge);
    cr4.set(Cr4Flags::OSXSAVE, f.xsave);
    cr4.set(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION, f.smep);
    cr4.set(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION, f.smap);
    cr4.set(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION, f.umip);
    // FSGSBASE stays off until every entry path decides swapgs from MSR_GS_BASE (TRAPS.md).
    cr4.remove(Cr4Flags::FSGSBASE);
    // SAFETY: every bit set above was checked against CPUID; the kernel runs no user code
    // yet and does not depend on the bits cleared.
    unsafe { Cr4::write(cr4) };
    super::fpu::init_this_cpu(f);
    super::syscall_entry::init_this_cpu();
    if !f.smap {
        super::smap::patch_out_clac_stac();
    }
}

/// This CPU's initial local APIC id (CPUID leaf 1); the CPU number in reports until per-CPU
/// data exists.
pub fn apic_id() -> u32 {
    CpuId::new().get_feature_info().map_or(0, |fi| fi.initial_local_apic_id() as u32)
}

fn text(bytes: &[u8]) -> &str {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    core::str::from_utf8(&bytes[..end]).unwrap_or("?")
}

impl fmt::Display for Features {
    fn fmt(&self, fm: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = [
            ("nx", self.nx),
            ("pdpe1gb", self.pdpe1gb),
            ("smep", self.smep),
            ("smap", self.smap),
            ("umip", self.umip),
            ("pge", self.pge),
            ("fsgsbase", self.fsgsbase),
            ("xsave", self.xsave),
            ("xsaveopt", self.xsaveopt),
            ("xsavec", self.xsavec),
            ("avx", self.avx),
            ("avx2", self.avx2),
            ("rdrand", self.rdrand),
            ("rdseed", self.rdseed),
            ("rdtscp", self.rdtscp),
            ("pku", self.pku),
            ("la57", self.la57),
            ("x2apic", self.x2apic),
            ("tsc-deadline", self.tsc_deadline),
            ("pcid", self.pcid),
            ("invpcid", self.invpcid),
            ("invariant-tsc", self.invariant_tsc),
        ];
        write!(fm, "{} \"{}\"; has:", text(&self.vendor), text(&self.brand.0))?;
        for (name, _) in list.iter().filter(|(_, on)| *on) {
            write!(fm, " {}", name)?;
        }
        write!(fm, "; lacks:")?;
        for (name, _) in list.iter().filter(|(_, on)| !*on) {
            write!(fm, " {}", name)?;
        }
        write!(fm, "; xsave area {} bytes", super::fpu::xsave_area_size())
    }
}
