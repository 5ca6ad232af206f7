//! A bounds-checked reader for the ELF images `exec` loads.
//!
//! Images come from users, so every field is read by offset from bytes (never by casting),
//! every size and offset is checked for overflow and against the file, and the structural
//! rules the loader relies on are enforced here: 64-bit little-endian x86-64, an executable
//! or position-independent type, loadable segments inside the file, ascending and not
//! overlapping, inside the user address range, and an entry point in an executable segment.
//! Anything else is an [`Error`], which exec turns into ENOEXEC or EINVAL.

/// `e_type`: a fixed-address executable.
pub const ET_EXEC: u16 = 2;
/// `e_type`: position independent (static-pie, or a shared object).
pub const ET_DYN: u16 = 3;
/// `e_machine` of x86-64.
pub const EM_X86_64: u16 = 62;
/// `EI_OSABI` value of Linux (GNU).
pub const ELFOSABI_LINUX: u8 = 3;

/// Program header types.
pub mod pt {
    /// Loadable segment.
    pub const LOAD: u32 = 1;
    /// Dynamic linking information.
    pub const DYNAMIC: u32 = 2;
    /// Path of the program interpreter.
    pub const INTERP: u32 = 3;
    /// Notes.
    pub const NOTE: u32 = 4;
    /// The program header table itself.
    pub const PHDR: u32 = 6;
    /// Thread-local storage template.
    pub const TLS: u32 = 7;
    /// Stack permissions.
    pub const GNU_STACK: u32 = 0x6474_e551;
}

/// Segment permission flags (`p_flags`).
pub mod pf {
    /// Executable.
    pub const X: u32 = 1;
    /// Writable.
    pub const W: u32 = 2;
    /// Readable.
    pub const R: u32 = 4;
}

/// Highest user address + 1 a segment may reach (the top user page stays unmapped).
pub const USER_LIMIT: u64 = 0x0000_7fff_ffff_f000;
/// Most program headers accepted (Linux allows 64 KiB of them; real programs have ~12).
pub const MAX_PHDRS: usize = 128;
/// Longest interpreter path accepted.
pub const MAX_INTERP: usize = 4096;

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;

/// Why an image was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than a header, or a table or segment lies past the end of the file.
    Truncated,
    /// No ELF magic.
    NotElf,
    /// Not ELFCLASS64, not little-endian, or not EV_CURRENT.
    WrongFormat,
    /// Not an x86-64 image.
    WrongMachine,
    /// Neither ET_EXEC nor ET_DYN.
    NotExecutable,
    /// A malformed program header table (entry size, count).
    BadProgramHeaders,
    /// A loadable segment with absurd values: file size above memory size, an address
    /// outside user space or wrapping, misaligned file offset, a bad alignment.
    BadSegment,
    /// Loadable segments out of order or overlapping.
    OverlappingSegments,
    /// No loadable segment at all.
    NoSegments,
    /// The entry point lies outside every executable segment.
    BadEntry,
    /// A malformed PT_INTERP.
    BadInterp,
}

impl Error {
    /// The errno exec reports: EINVAL for an image that is ELF for x86-64 but inconsistent,
    /// ENOEXEC for anything that is not a loadable x86-64 ELF executable at all.
    pub const fn errno(self) -> i32 {
        match self {
            Error::NotElf
            | Error::WrongFormat
            | Error::WrongMachine
            | Error::NotExecutable
            | Error::Truncated => crate::errno::ENOEXEC,
            _ => crate::errno::EINVAL,
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated ELF image",
            Error::NotElf => "not an ELF image",
            Error::WrongFormat => "not a 64-bit little-endian ELF image",
            Error::WrongMachine => "not an x86-64 image",
            Error::NotExecutable => "not an executable ELF type",
            Error::BadProgramHeaders => "malformed program header table",
            Error::BadSegment => "malformed loadable segment",
            Error::OverlappingSegments => "loadable segments overlap or are out of order",
            Error::NoSegments => "no loadable segment",
            Error::BadEntry => "entry point outside the executable segments",
            Error::BadInterp => "malformed interpreter path",
        })
    }
}

fn u16_at(d: &[u8], o: usize) -> Result<u16, Error> {
    let b = d.get(o..o.checked_add(2).ok_or(Error::Truncated)?).ok_or(Error::Truncated)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(d: &[u8], o: usize) -> Result<u32, Error> {
    let b = d.get(o..o.checked_add(4).ok_or(Error::Truncated)?).ok_or(Error::Truncated)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn u64_at(d: &[u8], o: usize) -> Result<u64, Error> {
    let b = d.get(o..o.checked_add(8).ok_or(Error::Truncated)?).ok_or(Error::Truncated)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_le_bytes(a))
}

/// The fields of the ELF header exec uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// `EI_OSABI`.
    pub osabi: u8,
    /// `e_type`: [`ET_EXEC`] or [`ET_DYN`].
    pub kind: u16,
    /// Entry point (relative to the load base for [`ET_DYN`]).
    pub entry: u64,
    /// File offset of the program header table.
    pub phoff: u64,
    /// Number of program headers.
    pub phnum: u16,
}

/// One program header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// `p_type`.
    pub kind: u32,
    /// `p_flags` ([`pf`]).
    pub flags: u32,
    /// File offset.
    pub offset: u64,
    /// Virtual address.
    pub vaddr: u64,
    /// Bytes in the file.
    pub filesz: u64,
    /// Bytes in memory (the rest is zero-filled).
    pub memsz: u64,
    /// Alignment.
    pub align: u64,
}

impl Segment {
    /// One past the last byte in memory (checked at parse time not to overflow).
    pub fn vend(&self) -> u64 {
        self.vaddr + self.memsz
    }
}

/// Which ABI an image asks for (the brand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Brand {
    /// Carries Damselfly's native note.
    Native,
    /// Carries a GNU ABI note for Linux, or the Linux OS/ABI byte.
    Linux,
    /// No mark (musl's static binaries): exec falls back to Linux.
    Unmarked,
}

/// Owner name of Damselfly's native ELF note.
pub const NATIVE_NOTE_OWNER: &[u8] = b"Damselfly";
/// Type of Damselfly's native ELF note.
pub const NATIVE_NOTE_TYPE: u32 = 1;
const NT_GNU_ABI_TAG: u32 = 1;
const GNU_ABI_LINUX: u32 = 0;

/// A validated image. Program headers are read from the bytes on demand (the table was
/// checked to lie inside the image), so the structure stays small enough for a kernel stack.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    data: &'a [u8],
    /// The header.
    pub header: Header,
    nseg: usize,
}

fn read_segment(data: &[u8], o: usize) -> Result<Segment, Error> {
    Ok(Segment {
        kind: u32_at(data, o)?,
        flags: u32_at(data, o + 4)?,
        offset: u64_at(data, o + 8)?,
        vaddr: u64_at(data, o + 16)?,
        filesz: u64_at(data, o + 32)?,
        memsz: u64_at(data, o + 40)?,
        align: u64_at(data, o + 48)?,
    })
}

impl<'a> Image<'a> {
    /// Parses and validates an image.
    pub fn parse(data: &'a [u8]) -> Result<Image<'a>, Error> {
        if data.len() < 4 || &data[..4] != b"\x7fELF" {
            return Err(if data.len() < 4 && b"\x7fELF".starts_with(data) {
                Error::Truncated
            } else {
                Error::NotElf
            });
        }
        if data.len() < EHDR_SIZE {
            return Err(Error::Truncated);
        }
        if data[4] != 2 || data[5] != 1 || data[6] != 1 {
            return Err(Error::WrongFormat);
        }
        let kind = u16_at(data, 16)?;
        if u16_at(data, 18)? != EM_X86_64 {
            return Err(Error::WrongMachine);
        }
        if kind != ET_EXEC && kind != ET_DYN {
            return Err(Error::NotExecutable);
        }
        let header = Header {
            osabi: data[7],
            kind,
            entry: u64_at(data, 24)?,
            phoff: u64_at(data, 32)?,
            phnum: u16_at(data, 56)?,
        };
        let phentsize = u16_at(data, 54)? as usize;
        let phnum = header.phnum as usize;
        if phentsize != PHDR_SIZE || phnum == 0 || phnum > MAX_PHDRS {
            return Err(Error::BadProgramHeaders);
        }
        let table_end = (phnum * PHDR_SIZE) as u64;
        let table_end = header.phoff.checked_add(table_end).ok_or(Error::BadProgramHeaders)?;
        if table_end > data.len() as u64 {
            return Err(Error::Truncated);
        }
        let img = Image { data, header, nseg: phnum };
        img.validate()?;
        Ok(img)
    }

    fn validate(&self) -> Result<(), Error> {
        let mut prev_end: Option<u64> = None;
        let mut any = false;
        for s in self.loads() {
            any = true;
            let file_end = s.offset.checked_add(s.filesz).ok_or(Error::BadSegment)?;
            let mem_end = s.vaddr.checked_add(s.memsz).ok_or(Error::BadSegment)?;
            if s.filesz > s.memsz || mem_end > USER_LIMIT || s.memsz == 0 {
                return Err(Error::BadSegment);
            }
            if file_end > self.data.len() as u64 {
                return Err(Error::Truncated);
            }
            if s.align > 1 && (!s.align.is_power_of_two() || s.offset % s.align != s.vaddr % s.align) {
                return Err(Error::BadSegment);
            }
            // Linux requires ascending order; overlapping bytes would make one segment
            // silently overwrite another. Sharing a page is allowed.
            if let Some(p) = prev_end {
                if s.vaddr < p {
                    return Err(Error::OverlappingSegments);
                }
            }
            prev_end = Some(mem_end);
        }
        if !any {
            return Err(Error::NoSegments);
        }
        let e = self.header.entry;
        if !self.loads().any(|s| s.flags & pf::X != 0 && e >= s.vaddr && e < s.vend()) {
            return Err(Error::BadEntry);
        }
        if let Some(seg) = self.segments().find(|s| s.kind == pt::INTERP) {
            let end = seg.offset.checked_add(seg.filesz).ok_or(Error::BadInterp)?;
            let path = self.data.get(seg.offset as usize..end as usize).ok_or(Error::Truncated)?;
            match path.split_last() {
                Some((0, p)) if !p.is_empty() && p.len() < MAX_INTERP && !p.contains(&0) => {}
                _ => return Err(Error::BadInterp),
            }
        }
        Ok(())
    }

    /// Every program header.
    pub fn segments(&self) -> impl Iterator<Item = Segment> + '_ {
        let base = self.header.phoff as usize;
        // The table lies inside the image (checked in parse), so no read fails.
        (0..self.nseg).filter_map(move |i| read_segment(self.data, base + i * PHDR_SIZE).ok())
    }

    /// The loadable segments, in ascending address order (validated).
    pub fn loads(&self) -> impl Iterator<Item = Segment> + '_ {
        self.segments().filter(|s| s.kind == pt::LOAD)
    }

    /// The bytes of a segment's file part (validated to lie inside the file for PT_LOAD).
    pub fn file_bytes(&self, s: Segment) -> Option<&'a [u8]> {
        let end = s.offset.checked_add(s.filesz)?;
        self.data.get(s.offset as usize..end as usize)
    }

    /// The interpreter path (PT_INTERP) without its NUL: a dynamically linked program.
    pub fn interp(&self) -> Option<&'a [u8]> {
        let s = self.segments().find(|s| s.kind == pt::INTERP)?;
        let b = self.file_bytes(s)?;
        b.split_last().map(|(_, p)| p)
    }

    /// The TLS template (PT_TLS), if any.
    pub fn tls(&self) -> Option<Segment> {
        self.segments().find(|s| s.kind == pt::TLS)
    }

    /// True unless PT_GNU_STACK asks for a non-executable stack (it always does today).
    pub fn executable_stack(&self) -> bool {
        self.segments().find(|s| s.kind == pt::GNU_STACK).is_none_or(|s| s.flags & pf::X != 0)
    }

    /// The address of the program headers once loaded (AT_PHDR): PT_PHDR's, else the
    /// loadable segment whose file range contains the table.
    pub fn phdr_vaddr(&self) -> Option<u64> {
        if let Some(p) = self.segments().find(|s| s.kind == pt::PHDR) {
            return Some(p.vaddr);
        }
        let off = self.header.phoff;
        let len = (self.nseg * PHDR_SIZE) as u64;
        self.loads()
            .find(|s| off >= s.offset && off + len <= s.offset + s.filesz)
            .map(|s| s.vaddr + (off - s.offset))
    }

    /// Which ABI the image is branded for.
    pub fn brand(&self) -> Brand {
        let mut linux = self.header.osabi == ELFOSABI_LINUX;
        for s in self.segments().filter(|s| s.kind == pt::NOTE) {
            let Some(mut notes) = self.file_bytes(s) else { continue };
            while notes.len() >= 12 {
                let (Ok(namesz), Ok(descsz), Ok(ty)) = (u32_at(notes, 0), u32_at(notes, 4), u32_at(notes, 8))
                else {
                    break;
                };
                let name_end = 12usize.saturating_add(namesz as usize);
                let desc_start = name_end.saturating_add(3) & !3;
                let desc_end = desc_start.saturating_add(descsz as usize);
                let next = desc_end.saturating_add(3) & !3;
                let (Some(name), Some(desc)) = (notes.get(12..name_end), notes.get(desc_start..desc_end))
                else {
                    break;
                };
                let name = name.strip_suffix(&[0]).unwrap_or(name);
                if name == NATIVE_NOTE_OWNER && ty == NATIVE_NOTE_TYPE {
                    return Brand::Native;
                }
                if name == b"GNU" && ty == NT_GNU_ABI_TAG && u32_at(desc, 0) == Ok(GNU_ABI_LINUX) {
                    linux = true;
                }
                notes = notes.get(next..).unwrap_or(&[]);
            }
        }
        if linux {
            Brand::Linux
        } else {
            Brand::Unmarked
        }
    }
}

#[cfg(test)]
mod tests;
