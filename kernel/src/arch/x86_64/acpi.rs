//! The static ACPI tables the platform code needs (DragonFly's `platform/pc64/acpica/`
//! `madt.c` and `acpi_hpet` glue): the MADT (local APICs, IOAPICs, interrupt source
//! overrides), the HPET and the FADT fields power-off needs.
//!
//! Firmware tables are input: every length and offset is checked before it is used, and a
//! bad table gives a logged error, never a panic. The `acpi` crate (without its alloc
//! feature) supplies the table layouts, the RSDP check and the interrupt-flag decoding; the
//! RSDT/XSDT and MADT walks are done here, because the crate's own walkers trust the
//! firmware's lengths (a zero-length MADT entry makes its iterator spin for ever, a short
//! one is read past its end).
use super::pmap;
use acpi::address::RawGenericAddress;
use acpi::rsdp::Rsdp;
use acpi::sdt::fadt::Fadt;
use acpi::sdt::hpet::HpetTable;
use acpi::sdt::madt::{
    parse_mps_inti_flags, InterruptSourceOverrideEntry, IoApicEntry, LocalApicAddressOverrideEntry,
    LocalApicEntry, LocalX2ApicEntry, Polarity, TriggerMode,
};
use acpi::sdt::SdtHeader;
use alloc::vec::Vec;
use core::fmt;
use spin::Once;

/// Size of an SDT header.
const HEADER: usize = core::mem::size_of::<SdtHeader>();
/// Largest table accepted: q35's tables are a few KiB; anything near this is corrupt.
const MAX_TABLE: u32 = 1 << 20;
/// Most tables listed in an RSDT/XSDT that are looked at.
const MAX_TABLES: usize = 64;

/// Why the ACPI tables could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcpiError {
    /// The loader found no RSDP.
    NoRsdp,
    /// The RSDP's signature or checksum is wrong.
    BadRsdp(&'static str),
    /// A table's physical range could not be mapped.
    Unmappable(u64),
    /// A table's length is smaller than its header or absurdly large.
    BadLength([u8; 4], u32),
    /// A table's checksum does not add up.
    BadChecksum([u8; 4]),
    /// A table's signature is not the one its reference promised.
    WrongSignature([u8; 4]),
    /// The table is required and absent.
    Missing(&'static str),
    /// The MADT lists no usable local APIC.
    NoCpus,
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sig = |s: &[u8; 4]| alloc::string::String::from(core::str::from_utf8(s).unwrap_or("????"));
        let s: alloc::string::String = match self {
            AcpiError::NoRsdp => "no RSDP from the loader".into(),
            AcpiError::BadRsdp(why) => alloc::format!("RSDP: {why}"),
            AcpiError::Unmappable(pa) => alloc::format!("cannot map table at {pa:#x}"),
            AcpiError::BadLength(s, n) => alloc::format!("{}: bad length {}", sig(s), n),
            AcpiError::BadChecksum(s) => alloc::format!("{}: bad checksum", sig(s)),
            AcpiError::WrongSignature(s) => alloc::format!("unexpected signature {}", sig(s)),
            AcpiError::Missing(what) => alloc::format!("no {what} table"),
            AcpiError::NoCpus => "MADT lists no enabled CPU".into(),
        };
        f.write_str(&s)
    }
}

/// An IOAPIC from the MADT.
#[derive(Debug, Clone, Copy)]
pub struct IoApicDesc {
    /// Its APIC id.
    pub id: u8,
    /// Physical address of its registers.
    pub phys: u64,
    /// First global system interrupt it serves.
    pub gsi_base: u32,
}

/// An ISA interrupt source override: ISA `irq` arrives on `gsi` with the given polarity and
/// trigger (ISA defaults otherwise: edge, active high).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Override {
    /// The ISA IRQ.
    pub irq: u8,
    /// The global system interrupt it is wired to.
    pub gsi: u32,
    /// True when active low.
    pub active_low: bool,
    /// True when level triggered.
    pub level: bool,
}

/// The HPET block from the HPET table.
#[derive(Debug, Clone, Copy)]
pub struct HpetDesc {
    /// Physical address of its registers.
    pub phys: u64,
    /// Comparators, from the event-timer block id.
    pub comparators: u8,
    /// Whether the main counter is 64 bits wide.
    pub counter_64bit: bool,
}

/// What power-off and reset need from the FADT (the S5 sleep type itself lives in the DSDT's
/// `\_S5` package, which needs AML; it is read when an AML interpreter exists).
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)] // Read by power-off and reset, which come with the AML interpreter.
pub struct FadtInfo {
    /// PM1a control block (I/O port, or 0).
    pub pm1a_cnt: u64,
    /// PM1b control block (I/O port, or 0 when absent).
    pub pm1b_cnt: u64,
    /// The SMI command port and the value that hands ACPI to the OS.
    pub smi_cmd: u32,
    /// Value written to `smi_cmd` to enable ACPI mode.
    pub acpi_enable: u8,
    /// The SCI interrupt.
    pub sci_irq: u16,
    /// The reset register (address space, address) and value, when the FADT has one.
    pub reset: Option<(u8, u64, u8)>,
    /// Hardware-reduced ACPI (no PM1 blocks).
    pub hw_reduced: bool,
    /// The RTC's century register index (0: none).
    pub century: u8,
    /// Physical address of the DSDT.
    pub dsdt: u64,
}

/// The platform as the ACPI tables describe it.
#[derive(Debug)]
pub struct Platform {
    /// Physical address of the local APICs' registers.
    pub lapic_phys: u64,
    /// APIC ids of the enabled (or online-capable) CPUs, in MADT order.
    pub cpus: Vec<u32>,
    /// The IOAPICs.
    pub ioapics: Vec<IoApicDesc>,
    /// ISA interrupt source overrides.
    pub overrides: Vec<Override>,
    /// Whether the 8259 PICs exist (MADT PCAT_COMPAT).
    #[allow(dead_code)] // For a later /proc and for machines without 8259s.
    pub has_8259: bool,
    /// The HPET, if the firmware lists one.
    pub hpet: Option<HpetDesc>,
    /// The FADT's power-management fields, if there is a FADT.
    pub fadt: Option<FadtInfo>,
}

impl Platform {
    /// The override for ISA `irq`, or the ISA default (same GSI, edge, active high).
    pub fn isa_route(&self, irq: u8) -> Override {
        self.overrides.iter().copied().find(|o| o.irq == irq).unwrap_or(Override {
            irq,
            gsi: irq as u32,
            active_low: false,
            level: false,
        })
    }
}

static PLATFORM: Once<Platform> = Once::new();

/// The platform description; `None` when ACPI failed (the kernel then runs on one CPU
/// without device interrupts).
pub fn platform() -> Option<&'static Platform> {
    PLATFORM.get()
}

/// Bytes of physical memory `[pa, pa+len)`, mapped for ever (through the direct map when it
/// covers them, else through the firmware window).
fn phys_bytes(pa: u64, len: usize) -> Result<&'static [u8], AcpiError> {
    let direct = pmap::phys_to_virt(pa);
    let va = if pa.checked_add(len as u64).is_some() && pmap::is_kernel_readable(direct, len as u64) {
        direct
    } else {
        pmap::map_firmware(pa, len as u64).ok_or(AcpiError::Unmappable(pa))?
    };
    // SAFETY: [va, va+len) is mapped (checked or just mapped) and never unmapped; firmware
    // tables are not written while the kernel runs, so a shared slice is sound.
    Ok(unsafe { core::slice::from_raw_parts(va as *const u8, len) })
}

/// Reads a `T` (a packed table layout of integers) from the front of `bytes`; missing
/// bytes read as zero, so a short table can never be read past its end.
fn read_struct<T: Copy>(bytes: &[u8]) -> T {
    let mut buf = core::mem::MaybeUninit::<T>::zeroed();
    let n = bytes.len().min(core::mem::size_of::<T>());
    // SAFETY: `buf` has room for size_of::<T>() bytes and n does not exceed it; every T this
    // is used with is a packed struct of integers, for which any bytes (zeroes included) are
    // a valid value.
    unsafe {
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.as_mut_ptr().cast::<u8>(), n);
        buf.assume_init()
    }
}

/// A whole table at `pa`: length bounded, checksum verified.
fn table(pa: u64) -> Result<&'static [u8], AcpiError> {
    let head: SdtHeader = read_struct(phys_bytes(pa, HEADER)?);
    let (sig, len) = (head.signature, head.length);
    // SAFETY: Signature is a 4-byte array newtype; reading its bytes needs no other invariant.
    let sig: [u8; 4] = unsafe { core::mem::transmute(sig) };
    if (len as usize) < HEADER || len > MAX_TABLE {
        return Err(AcpiError::BadLength(sig, len));
    }
    let bytes = phys_bytes(pa, len as usize)?;
    if bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b)) != 0 {
        return Err(AcpiError::BadChecksum(sig));
    }
    Ok(bytes)
}

fn signature(t: &[u8]) -> [u8; 4] {
    [t[0], t[1], t[2], t[3]]
}

/// Physical addresses of the tables the RSDT (4-byte entries) or XSDT (8-byte) lists.
fn root_entries(rsdp_pa: u64) -> Result<Vec<u64>, AcpiError> {
    let rsdp: Rsdp = read_struct(phys_bytes(rsdp_pa, core::mem::size_of::<Rsdp>())?);
    rsdp.validate().map_err(|e| {
        AcpiError::BadRsdp(if matches!(e, acpi::AcpiError::RsdpIncorrectSignature) {
            "bad signature"
        } else {
            "bad checksum"
        })
    })?;
    let (revision, xsdt) = (rsdp.revision, rsdp.xsdt_address);
    let (root_pa, want, entry) = if revision >= 2 && xsdt != 0 {
        (xsdt, *b"XSDT", 8)
    } else {
        (rsdp.rsdt_address as u64, *b"RSDT", 4)
    };
    let root = table(root_pa)?;
    if signature(root) != want {
        return Err(AcpiError::WrongSignature(signature(root)));
    }
    Ok(root[HEADER..]
        .chunks_exact(entry)
        .take(MAX_TABLES)
        .map(|c| {
            if entry == 8 {
                u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))
            } else {
                u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u64
            }
        })
        .collect())
}

/// What the MADT says.
struct MadtInfo {
    lapic_phys: u64,
    cpus: Vec<u32>,
    ioapics: Vec<IoApicDesc>,
    overrides: Vec<Override>,
    has_8259: bool,
}

/// Walks the MADT's entries with every length checked.
fn parse_madt(t: &[u8]) -> Result<MadtInfo, AcpiError> {
    if t.len() < HEADER + 8 {
        return Err(AcpiError::BadLength(*b"APIC", t.len() as u32));
    }
    let word = |o: usize| u32::from_le_bytes([t[o], t[o + 1], t[o + 2], t[o + 3]]);
    let mut m = MadtInfo {
        lapic_phys: word(HEADER) as u64,
        cpus: Vec::new(),
        ioapics: Vec::new(),
        overrides: Vec::new(),
        has_8259: word(HEADER + 4) & 1 != 0,
    };
    let mut rest = &t[HEADER + 8..];
    while rest.len() >= 2 {
        let (kind, len) = (rest[0], rest[1] as usize);
        if len < 2 || len > rest.len() {
            log::error!(
                "acpi: MADT entry type {} has bad length {} ({} bytes left); rest ignored",
                kind,
                len,
                rest.len()
            );
            break;
        }
        let e = &rest[..len];
        rest = &rest[len..];
        let fits = |size: usize| {
            let ok = len >= size;
            if !ok {
                log::error!("acpi: MADT entry type {} is {} bytes, needs {}; ignored", kind, len, size);
            }
            ok
        };
        match kind {
            0 if fits(core::mem::size_of::<LocalApicEntry>()) => {
                let l: LocalApicEntry = read_struct(e);
                // Bit 0: enabled; bit 1: online capable (may be brought up later).
                if { l.flags } & 3 != 0 && !m.cpus.contains(&(l.apic_id as u32)) {
                    m.cpus.push(l.apic_id as u32);
                }
            }
            1 if fits(core::mem::size_of::<IoApicEntry>()) => {
                let i: IoApicEntry = read_struct(e);
                m.ioapics.push(IoApicDesc {
                    id: i.io_apic_id,
                    phys: i.io_apic_address as u64,
                    gsi_base: i.global_system_interrupt_base,
                });
            }
            2 if fits(core::mem::size_of::<InterruptSourceOverrideEntry>()) => {
                let o: InterruptSourceOverrideEntry = read_struct(e);
                if o.bus != 0 {
                    log::error!("acpi: interrupt override on bus {}; ignored", o.bus);
                    continue;
                }
                let (pol, trig) = match parse_mps_inti_flags(o.flags) {
                    Ok(pt) => pt,
                    Err(_) => {
                        log::error!("acpi: override for IRQ {} has bad flags {:#x}; ignored", o.irq, {
                            o.flags
                        });
                        continue;
                    }
                };
                m.overrides.push(Override {
                    irq: o.irq,
                    gsi: o.global_system_interrupt,
                    active_low: pol == Polarity::ActiveLow,
                    level: trig == TriggerMode::Level,
                });
            }
            5 if fits(core::mem::size_of::<LocalApicAddressOverrideEntry>()) => {
                let a: LocalApicAddressOverrideEntry = read_struct(e);
                m.lapic_phys = a.local_apic_address;
            }
            9 if fits(core::mem::size_of::<LocalX2ApicEntry>()) => {
                let x: LocalX2ApicEntry = read_struct(e);
                if { x.flags } & 3 != 0 && !m.cpus.contains(&{ x.x2apic_id }) {
                    m.cpus.push(x.x2apic_id);
                }
            }
            _ => {}
        }
    }
    if m.cpus.is_empty() {
        return Err(AcpiError::NoCpus);
    }
    Ok(m)
}

fn parse_hpet(t: &[u8]) -> Option<HpetDesc> {
    if t.len() < core::mem::size_of::<HpetTable>() {
        log::error!("acpi: HPET table is {} bytes, too short; HPET not used", t.len());
        return None;
    }
    let h: HpetTable = read_struct(t);
    let base: RawGenericAddress = h.base_address;
    let id = h.event_timer_block_id;
    if base.address_space != 0 || base.address == 0 {
        log::error!("acpi: HPET not in memory space ({}, {:#x}); HPET not used", base.address_space, {
            base.address
        });
        return None;
    }
    Some(HpetDesc {
        phys: base.address,
        comparators: ((id >> 8) & 0x1f) as u8 + 1,
        counter_64bit: id & (1 << 13) != 0,
    })
}

fn parse_fadt(t: &[u8]) -> FadtInfo {
    // Fields past a short (old) FADT's end read as zero, which means "absent" for each.
    let f: Fadt = read_struct(t);
    // The ACPI 2.0 64-bit fields, by offset (a short table reads zeroes there: absent).
    let at = |off: usize| -> u64 { read_struct(t.get(off..).unwrap_or(&[])) };
    let (x_dsdt, x_pm1a, x_pm1b) = (at(140), at(176), at(188));
    let pick = |xv: u64, old: u32| if xv != 0 { xv } else { old as u64 };
    let reset: RawGenericAddress = f.reset_reg;
    let flags: u32 = read_struct(&t[t.len().min(112)..]);
    FadtInfo {
        pm1a_cnt: pick(x_pm1a, f.pm1a_control_block),
        pm1b_cnt: pick(x_pm1b, f.pm1b_control_block),
        smi_cmd: f.smi_cmd_port,
        acpi_enable: f.acpi_enable,
        sci_irq: f.sci_interrupt,
        // FADT flag 10: RESET_REG_SUP.
        reset: (flags & (1 << 10) != 0 && reset.address != 0).then_some((
            reset.address_space,
            reset.address,
            f.reset_value,
        )),
        hw_reduced: flags & (1 << 20) != 0,
        century: f.century,
        dsdt: pick(x_dsdt, f.dsdt_address),
    }
}

/// Reads the tables from the RSDP the loader found. Logs and returns the error when the
/// tables are unusable; the platform is then available through [`platform`].
pub fn init(rsdp: u64) -> Result<&'static Platform, AcpiError> {
    if rsdp == 0 {
        return Err(AcpiError::NoRsdp);
    }
    let mut madt = None;
    let mut hpet = None;
    let mut fadt = None;
    for pa in root_entries(rsdp)? {
        let t = match table(pa) {
            Ok(t) => t,
            Err(e) => {
                log::error!("acpi: table at {:#x}: {}; skipped", pa, e);
                continue;
            }
        };
        match &signature(t) {
            b"APIC" if madt.is_none() => madt = Some(parse_madt(t)?),
            b"HPET" if hpet.is_none() => hpet = parse_hpet(t),
            b"FACP" if fadt.is_none() => fadt = Some(parse_fadt(t)),
            _ => {}
        }
        log::debug!(
            "acpi: {} at {:#x}, {} bytes",
            core::str::from_utf8(&t[..4]).unwrap_or("????"),
            pa,
            t.len()
        );
    }
    let m = madt.ok_or(AcpiError::Missing("MADT"))?;
    Ok(PLATFORM.call_once(|| Platform {
        lapic_phys: m.lapic_phys,
        cpus: m.cpus,
        ioapics: m.ioapics,
        overrides: m.overrides,
        has_8259: m.has_8259,
        hpet,
        fadt,
    }))
}

mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::vec;

    /// A MADT image with the given entries and a correct checksum.
    fn madt_with(entries: &[&[u8]]) -> Vec<u8> {
        let mut t = vec![0u8; HEADER + 8];
        t[..4].copy_from_slice(b"APIC");
        t[HEADER..HEADER + 4].copy_from_slice(&0xfee0_0000u32.to_le_bytes());
        for e in entries {
            t.extend_from_slice(e);
        }
        let len = t.len() as u32;
        t[4..8].copy_from_slice(&len.to_le_bytes());
        t
    }

    ktest! {
        /// The machine's MADT lists this CPU, an IOAPIC and (on q35) IRQ 0 moved to GSI 2.
        fn madt_describes_the_machine() {
            let p = platform().ok_or("no ACPI platform")?;
            kassert!(!p.cpus.is_empty() && p.cpus.len() <= 64, "{} cpus", p.cpus.len());
            let me = crate::arch::x86_64::cpu::apic_id();
            kassert!(p.cpus.contains(&me), "boot CPU {} not in MADT {:?}", me, p.cpus);
            kassert!(!p.ioapics.is_empty(), "no IOAPIC");
            kassert_eq!(p.lapic_phys, 0xfee0_0000);
            kassert_eq!(p.isa_route(0).gsi, 2);
            kassert_eq!(p.isa_route(1).gsi, 1);
            let h = p.hpet.ok_or("no HPET")?;
            kassert!(h.phys == 0xfed0_0000 && h.comparators >= 3, "hpet {:?}", h);
            let f = p.fadt.ok_or("no FADT")?;
            kassert!(f.pm1a_cnt != 0 && f.dsdt != 0, "fadt {:?}", f);
            Ok(())
        }
    }

    ktest! {
        /// Corrupt MADT entries are logged and skipped, never read past or looped on.
        fn madt_rejects_bad_entries() {
            let cpu = [0u8, 8, 1, 7, 1, 0, 0, 0];
            // A zero-length entry (the crate's iterator would spin on it) ends the walk.
            let m = parse_madt(&madt_with(&[&cpu, &[0x80, 0], &[0, 8, 2, 9, 1, 0, 0, 0]]))
                .map_err(|e| alloc::format!("{e}"))?;
            kassert_eq!(m.cpus, vec![7]);
            // An entry longer than the table.
            let m = parse_madt(&madt_with(&[&cpu, &[1, 200, 0, 0]])).map_err(|e| alloc::format!("{e}"))?;
            kassert!(m.ioapics.is_empty(), "overlong IOAPIC entry used");
            // A local APIC entry too short for its type.
            let r = parse_madt(&madt_with(&[&[0, 4, 1, 3]]));
            kassert!(matches!(r, Err(AcpiError::NoCpus)), "short entry used");
            // Disabled CPUs are not listed; bad override flags are ignored.
            let m = parse_madt(&madt_with(&[&cpu, &[0, 8, 2, 9, 0, 0, 0, 0], &[2, 10, 0, 0, 2, 0, 0, 0, 2, 0]]))
                .map_err(|e| alloc::format!("{e}"))?;
            kassert!(m.cpus == vec![7] && m.overrides.is_empty(), "cpus {:?} overrides {:?}", m.cpus, m.overrides);
            kassert!(parse_madt(&[0u8; 20]).is_err(), "truncated MADT accepted");
            kassert!(parse_hpet(&[0u8; 40]).is_none(), "short HPET accepted");
            Ok(())
        }
    }
}
