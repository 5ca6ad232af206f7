//! A bounds-checked reader for cpio "newc" archives, the format of the root image.
//!
//! Headers are parsed field by field from bytes, never cast in place: archive data is only
//! 4-byte aligned, and the image may be garbage. Every malformed input yields an error.

/// The header of one archive member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Inode number.
    pub ino: u32,
    /// File type and permission bits (`S_IFMT` and the low 12 bits).
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Number of links.
    pub nlink: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Device major and minor numbers of the file's device (for hard-link identity).
    pub dev: (u32, u32),
    /// For device nodes: the device they stand for.
    pub rdev: (u32, u32),
}

/// One member of the archive.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// The member's header fields.
    pub header: Header,
    /// The path as stored (no trailing NUL), e.g. `./boot/kernel/kernel` or `etc`.
    pub name: &'a [u8],
    /// The file contents (for a symlink: its target).
    pub data: &'a [u8],
}

impl Entry<'_> {
    /// The path with any leading `./` and `/` removed (`.` becomes empty: the root).
    pub fn path(&self) -> &[u8] {
        normalize(self.name)
    }
}

/// Why an archive could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The archive ends inside a header, a name or file data.
    Truncated,
    /// A header does not start with `070701` or `070702`.
    BadMagic,
    /// A header field is not 8 hexadecimal digits.
    BadField,
    /// A name is empty or not NUL-terminated.
    BadName,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Error::Truncated => "archive truncated",
            Error::BadMagic => "bad cpio magic (not a newc archive)",
            Error::BadField => "bad cpio header field",
            Error::BadName => "bad cpio member name",
        })
    }
}

const HEADER_LEN: usize = 110;
const TRAILER: &[u8] = b"TRAILER!!!";

fn normalize(mut p: &[u8]) -> &[u8] {
    loop {
        if let Some(rest) = p.strip_prefix(b"./") {
            p = rest;
        } else if let Some(rest) = p.strip_prefix(b"/") {
            p = rest;
        } else if p == b"." {
            return &[];
        } else {
            return p;
        }
    }
}

fn hex_field(bytes: &[u8]) -> Result<u32, Error> {
    let mut v: u32 = 0;
    for &b in bytes {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(Error::BadField),
        };
        v = (v << 4) | d as u32;
    }
    Ok(v)
}

const fn align4(n: usize) -> Option<usize> {
    match n.checked_add(3) {
        Some(v) => Some(v & !3),
        None => None,
    }
}

/// Iterates over the members of an archive, stopping at the trailer. After the first
/// error the iterator ends.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    image: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Reader<'a> {
    /// A reader over a whole archive image.
    pub fn new(image: &'a [u8]) -> Reader<'a> {
        Reader { image, pos: 0, done: false }
    }

    fn parse_one(&mut self) -> Result<Option<Entry<'a>>, Error> {
        let img = self.image;
        let hdr = img
            .get(self.pos..self.pos.checked_add(HEADER_LEN).ok_or(Error::Truncated)?)
            .ok_or(Error::Truncated)?;
        if &hdr[..6] != b"070701" && &hdr[..6] != b"070702" {
            return Err(Error::BadMagic);
        }
        let field = |i: usize| hex_field(&hdr[6 + 8 * i..6 + 8 * (i + 1)]);
        let header = Header {
            ino: field(0)?,
            mode: field(1)?,
            uid: field(2)?,
            gid: field(3)?,
            nlink: field(4)?,
            mtime: field(5)?,
            dev: (field(7)?, field(8)?),
            rdev: (field(9)?, field(10)?),
        };
        let filesize = field(6)? as usize;
        let namesize = field(11)? as usize;
        field(12)?;
        let name_start = self.pos + HEADER_LEN;
        let name_end = name_start.checked_add(namesize).ok_or(Error::Truncated)?;
        let name = img.get(name_start..name_end).ok_or(Error::Truncated)?;
        let name = match name.split_last() {
            Some((0, n)) if !n.is_empty() => n,
            _ => return Err(Error::BadName),
        };
        let data_start = align4(name_end).ok_or(Error::Truncated)?;
        let data_end = data_start.checked_add(filesize).ok_or(Error::Truncated)?;
        let data = img.get(data_start..data_end).ok_or(Error::Truncated)?;
        self.pos = align4(data_end).ok_or(Error::Truncated)?;
        if name == TRAILER {
            return Ok(None);
        }
        Ok(Some(Entry { header, name, data }))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.parse_one() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Finds the member whose normalized path equals `path` (leading `/` or `./` ignored).
/// Returns `Ok(None)` when the archive is well formed up to its trailer and has no such member.
pub fn find<'a>(image: &'a [u8], path: &str) -> Result<Option<Entry<'a>>, Error> {
    let want = normalize(path.as_bytes());
    for entry in Reader::new(image) {
        let entry = entry?;
        if entry.path() == want {
            return Ok(Some(entry));
        }
    }
    Ok(None)
}

/// `S_IFMT` and the file types a newc archive carries.
pub mod mode {
    /// Mask of the file-type bits.
    pub const S_IFMT: u32 = 0o170000;
    /// Directory.
    pub const S_IFDIR: u32 = 0o040000;
    /// Regular file.
    pub const S_IFREG: u32 = 0o100000;
    /// Symbolic link.
    pub const S_IFLNK: u32 = 0o120000;
    /// Character device.
    pub const S_IFCHR: u32 = 0o020000;
    /// Block device.
    pub const S_IFBLK: u32 = 0o060000;
    /// FIFO.
    pub const S_IFIFO: u32 = 0o010000;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::vec::Vec;

    fn member(out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
        let hdr = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            1,
            mode,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        out.extend_from_slice(hdr.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    fn archive() -> Vec<u8> {
        let mut a = Vec::new();
        member(&mut a, ".", mode::S_IFDIR | 0o755, b"");
        member(&mut a, "./etc/motd", mode::S_IFREG | 0o644, b"hello\n");
        member(&mut a, "boot/kernel/kernel", mode::S_IFREG | 0o755, b"\x7fELF12345");
        member(&mut a, "TRAILER!!!", 0, b"");
        a
    }

    #[test]
    fn reads_members_and_finds_by_path() {
        let a = archive();
        let names: Vec<_> = Reader::new(&a).map(|e| e.unwrap().path().to_vec()).collect();
        assert_eq!(names, [b"".to_vec(), b"etc/motd".to_vec(), b"boot/kernel/kernel".to_vec()]);
        let k = find(&a, "/boot/kernel/kernel").unwrap().unwrap();
        assert_eq!(k.data, b"\x7fELF12345");
        assert_eq!(k.header.mode & mode::S_IFMT, mode::S_IFREG);
        assert!(find(&a, "boot/nothing").unwrap().is_none());
    }

    #[test]
    fn every_truncation_is_an_error_or_a_clean_miss() {
        let a = archive();
        for cut in 0..a.len() {
            // Never panics; a cut before the kernel's data ends can never yield the whole file.
            if let Ok(Some(e)) = find(&a[..cut], "boot/kernel/kernel") {
                assert_eq!(e.data, b"\x7fELF12345");
            }
        }
        assert_eq!(find(&a[..50], "x").unwrap_err(), Error::Truncated);
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(find(&[b'g'; 200], "x").unwrap_err(), Error::BadMagic);
        let mut a = archive();
        a[10] = b'z';
        assert_eq!(find(&a, "x").unwrap_err(), Error::BadField);
        // Flipping any byte never panics.
        let base = archive();
        for i in 0..base.len() {
            for v in [0u8, 0xff, b'f', b'0'] {
                let mut a = base.clone();
                a[i] = v;
                let _ = Reader::new(&a).count();
            }
        }
    }
}
