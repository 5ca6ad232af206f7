//! IOAPICs (DragonFly's `platform/pc64/apic/ioapic.c`): every pin masked at start, ISA IRQs
//! routed to a vector on a CPU with the MADT's interrupt source overrides honoured.
use super::acpi::{IoApicDesc, Platform};
use super::pmap;
use alloc::vec::Vec;
use spin::{Mutex, Once};

const REGSEL: u64 = 0x00;
const WINDOW: u64 = 0x10;
const REG_VERSION: u32 = 0x01;
const REDIR_BASE: u32 = 0x10;
const MASKED: u64 = 1 << 16;
const LEVEL: u64 = 1 << 15;
const ACTIVE_LOW: u64 = 1 << 13;

struct IoApic {
    desc: IoApicDesc,
    va: u64,
    pins: u32,
}

static IOAPICS: Once<Vec<Mutex<IoApic>>> = Once::new();

impl IoApic {
    fn read(&self, r: u32) -> u32 {
        // SAFETY: va maps the IOAPIC's register page uncached; the Mutex around every IoApic
        // keeps the select/window pair from interleaving between CPUs.
        unsafe {
            ((self.va + REGSEL) as *mut u32).write_volatile(r);
            ((self.va + WINDOW) as *const u32).read_volatile()
        }
    }

    fn write(&self, r: u32, v: u32) {
        // SAFETY: as in `read`.
        unsafe {
            ((self.va + REGSEL) as *mut u32).write_volatile(r);
            ((self.va + WINDOW) as *mut u32).write_volatile(v);
        }
    }

    fn set_entry(&self, pin: u32, entry: u64) {
        // Mask first, write the high half, then the low half that unmasks: the pin is never
        // live with half an entry.
        self.write(REDIR_BASE + 2 * pin, MASKED as u32);
        self.write(REDIR_BASE + 2 * pin + 1, (entry >> 32) as u32);
        self.write(REDIR_BASE + 2 * pin, entry as u32);
    }
}

/// Maps every IOAPIC the MADT lists and masks all their pins.
pub fn init(p: &Platform) {
    IOAPICS.call_once(|| {
        let mut v = Vec::new();
        for d in &p.ioapics {
            let Some(va) = pmap::map_device(d.phys, 4096) else {
                log::error!("ioapic: cannot map IOAPIC {} at {:#x}", d.id, d.phys);
                continue;
            };
            let mut io = IoApic { desc: *d, va, pins: 0 };
            io.pins = ((io.read(REG_VERSION) >> 16) & 0xff) + 1;
            for pin in 0..io.pins {
                io.set_entry(pin, MASKED);
            }
            log::info!("ioapic: id {} at {:#x}, GSIs {}..{}", d.id, d.phys, d.gsi_base, d.gsi_base + io.pins);
            v.push(Mutex::new(io));
        }
        v
    });
}

/// Why a route failed.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteError {
    /// No IOAPIC serves the GSI.
    NoIoApic(u32),
    /// ACPI (and so the IOAPICs) is not available.
    NoPlatform,
}

/// Routes ISA `irq` (through its override, if any) to `vector` on the CPU with local APIC id
/// `apic_id`, physical destination, fixed delivery; unmasks the pin. Returns the GSI.
pub fn route_isa_irq(irq: u8, vector: u8, apic_id: u32) -> Result<u32, RouteError> {
    let p = super::acpi::platform().ok_or(RouteError::NoPlatform)?;
    let o = p.isa_route(irq);
    let mut entry = vector as u64 | ((apic_id as u64) << 56);
    if o.level {
        entry |= LEVEL;
    }
    if o.active_low {
        entry |= ACTIVE_LOW;
    }
    set_gsi(o.gsi, entry)?;
    Ok(o.gsi)
}

/// Masks global system interrupt `gsi`.
pub fn mask_gsi(gsi: u32) -> Result<(), RouteError> {
    set_gsi(gsi, MASKED)
}

fn set_gsi(gsi: u32, entry: u64) -> Result<(), RouteError> {
    for io in IOAPICS.get().ok_or(RouteError::NoPlatform)? {
        let io = io.lock();
        if (io.desc.gsi_base..io.desc.gsi_base + io.pins).contains(&gsi) {
            io.set_entry(gsi - io.desc.gsi_base, entry);
            return Ok(());
        }
    }
    Err(RouteError::NoIoApic(gsi))
}
