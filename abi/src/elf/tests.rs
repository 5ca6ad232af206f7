use super::*;
use std::vec;
use std::vec::Vec;

const BASE: u64 = 0x40_0000;

/// A program header for the builder.
#[derive(Clone, Copy)]
struct Ph {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
}

/// Builds an image: header, program headers, then `payload` at offset 0x1000.
fn build(kind: u16, entry: u64, osabi: u8, phs: &[Ph], payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; 0x1000 + payload.len()];
    d[..4].copy_from_slice(b"\x7fELF");
    d[4] = 2;
    d[5] = 1;
    d[6] = 1;
    d[7] = osabi;
    d[16..18].copy_from_slice(&kind.to_le_bytes());
    d[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
    d[20..24].copy_from_slice(&1u32.to_le_bytes());
    d[24..32].copy_from_slice(&entry.to_le_bytes());
    d[32..40].copy_from_slice(&64u64.to_le_bytes());
    d[52..54].copy_from_slice(&64u16.to_le_bytes());
    d[54..56].copy_from_slice(&56u16.to_le_bytes());
    d[56..58].copy_from_slice(&(phs.len() as u16).to_le_bytes());
    for (i, p) in phs.iter().enumerate() {
        let o = 64 + i * 56;
        d[o..o + 4].copy_from_slice(&p.kind.to_le_bytes());
        d[o + 4..o + 8].copy_from_slice(&p.flags.to_le_bytes());
        d[o + 8..o + 16].copy_from_slice(&p.offset.to_le_bytes());
        d[o + 16..o + 24].copy_from_slice(&p.vaddr.to_le_bytes());
        d[o + 24..o + 32].copy_from_slice(&p.vaddr.to_le_bytes());
        d[o + 32..o + 40].copy_from_slice(&p.filesz.to_le_bytes());
        d[o + 40..o + 48].copy_from_slice(&p.memsz.to_le_bytes());
        d[o + 48..o + 56].copy_from_slice(&p.align.to_le_bytes());
    }
    d[0x1000..].copy_from_slice(payload);
    d
}

fn load(offset: u64, vaddr: u64, filesz: u64, memsz: u64, flags: u32) -> Ph {
    Ph { kind: pt::LOAD, flags, offset, vaddr, filesz, memsz, align: 0x1000 }
}

/// A minimal static executable: a read-only segment with the headers, a text segment, a
/// data+bss segment.
fn minimal() -> Vec<u8> {
    build(
        ET_EXEC,
        BASE + 0x1000,
        0,
        &[
            load(0, BASE, 0x200, 0x200, pf::R),
            load(0x1000, BASE + 0x1000, 0x100, 0x100, pf::R | pf::X),
            load(0x1100, BASE + 0x2100, 0x100, 0x3000, pf::R | pf::W),
        ],
        &[0x90; 0x200],
    )
}

fn note(owner: &[u8], ty: u32, desc: &[u8]) -> Vec<u8> {
    let mut n = Vec::new();
    n.extend_from_slice(&(owner.len() as u32 + 1).to_le_bytes());
    n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    n.extend_from_slice(&ty.to_le_bytes());
    n.extend_from_slice(owner);
    n.push(0);
    while n.len() % 4 != 0 {
        n.push(0);
    }
    n.extend_from_slice(desc);
    while n.len() % 4 != 0 {
        n.push(0);
    }
    n
}

fn with_note(n: &[u8]) -> Vec<u8> {
    build(
        ET_EXEC,
        BASE + 0x1000,
        0,
        &[
            load(0x1000, BASE + 0x1000, 0x100, 0x100, pf::R | pf::X),
            Ph {
                kind: pt::NOTE,
                flags: pf::R,
                offset: 0x1100,
                vaddr: 0,
                filesz: n.len() as u64,
                memsz: 0,
                align: 4,
            },
        ],
        &[&[0x90u8; 0x100][..], n].concat(),
    )
}

#[test]
fn minimal_image_parses() {
    let d = minimal();
    let img = Image::parse(&d).unwrap();
    assert_eq!(img.header.kind, ET_EXEC);
    assert_eq!(img.loads().count(), 3);
    assert_eq!(img.phdr_vaddr(), Some(BASE + 64));
    assert_eq!(img.brand(), Brand::Unmarked);
    assert_eq!(img.interp(), None);
    assert!(img.executable_stack());
    let text = img.loads().nth(1).unwrap();
    assert_eq!(img.file_bytes(text).unwrap(), &[0x90; 0x100][..]);
}

#[test]
fn brands() {
    let mut d = minimal();
    d[7] = ELFOSABI_LINUX;
    assert_eq!(Image::parse(&d).unwrap().brand(), Brand::Linux);
    let gnu = note(b"GNU", 1, &[0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Image::parse(&with_note(&gnu)).unwrap().brand(), Brand::Linux);
    let build_id = note(b"GNU", 3, &[1, 2, 3, 4]);
    assert_eq!(Image::parse(&with_note(&build_id)).unwrap().brand(), Brand::Unmarked);
    let native = [build_id.clone(), note(NATIVE_NOTE_OWNER, NATIVE_NOTE_TYPE, &[1, 0, 0, 0])].concat();
    assert_eq!(Image::parse(&with_note(&native)).unwrap().brand(), Brand::Native);
    // A note claiming more bytes than exist is ignored, not followed.
    let mut broken = gnu.clone();
    broken[4] = 0xff;
    assert_eq!(Image::parse(&with_note(&broken)).unwrap().brand(), Brand::Unmarked);
}

#[test]
fn header_errors() {
    let good = minimal();
    let mut d = good.clone();
    d[0] = b'X';
    assert_eq!(Image::parse(&d).unwrap_err(), Error::NotElf);
    let mut d = good.clone();
    d[4] = 1;
    assert_eq!(Image::parse(&d).unwrap_err(), Error::WrongFormat);
    let mut d = good.clone();
    d[18] = 3;
    assert_eq!(Image::parse(&d).unwrap_err(), Error::WrongMachine);
    let mut d = good.clone();
    d[16] = 1;
    assert_eq!(Image::parse(&d).unwrap_err(), Error::NotExecutable);
    let mut d = good.clone();
    d[54] = 32;
    assert_eq!(Image::parse(&d).unwrap_err(), Error::BadProgramHeaders);
    let mut d = good.clone();
    d[56] = 0;
    assert_eq!(Image::parse(&d).unwrap_err(), Error::BadProgramHeaders);
    assert_eq!(Image::parse(b"\x7fEL").unwrap_err(), Error::Truncated);
    assert_eq!(Image::parse(b"").unwrap_err(), Error::Truncated);
    assert_eq!(Error::NotElf.errno(), crate::errno::ENOEXEC);
    assert_eq!(Error::BadEntry.errno(), crate::errno::EINVAL);
}

#[test]
fn segment_errors() {
    let x = pf::R | pf::X;
    let cases: Vec<(Vec<Ph>, u64, Error)> = vec![
        (vec![load(0x1000, BASE, 0x200, 0x100, x)], BASE, Error::BadSegment),
        (vec![load(0x1000, USER_LIMIT - 0x1000, 0x100, 0x2000, x)], USER_LIMIT - 0x1000, Error::BadSegment),
        (vec![load(0x1000, u64::MAX - 0xfff, 0x100, 0x2000, x)], u64::MAX - 0xfff, Error::BadSegment),
        (vec![load(0x1000, BASE + 0x10, 0x100, 0x100, x)], BASE + 0x10, Error::BadSegment),
        (vec![load(0x1000, BASE, 0x10_0000, 0x10_0000, x)], BASE, Error::Truncated),
        (vec![load(u64::MAX, BASE, 0x10, 0x10, x)], BASE, Error::BadSegment),
        (
            vec![load(0x1000, BASE + 0x1000, 0x100, 0x2000, x), load(0x1000, BASE + 0x2000, 0x100, 0x100, x)],
            BASE + 0x1000,
            Error::OverlappingSegments,
        ),
        (
            vec![load(0x1000, BASE + 0x3000, 0x100, 0x100, x), load(0x1000, BASE + 0x1000, 0x100, 0x100, x)],
            BASE + 0x3000,
            Error::OverlappingSegments,
        ),
        (vec![load(0x1000, BASE, 0x100, 0x100, x)], BASE + 0x100, Error::BadEntry),
        (vec![load(0x1000, BASE, 0x100, 0x100, pf::R)], BASE, Error::BadEntry),
        (
            vec![Ph { kind: pt::NOTE, flags: 0, offset: 0, vaddr: 0, filesz: 0, memsz: 0, align: 0 }],
            0,
            Error::NoSegments,
        ),
        (vec![Ph { align: 0x1001, ..load(0x1000, BASE, 0x100, 0x100, x) }], BASE, Error::BadSegment),
    ];
    for (i, (phs, entry, want)) in cases.into_iter().enumerate() {
        let d = build(ET_EXEC, entry, 0, &phs, &[0u8; 0x200]);
        assert_eq!(Image::parse(&d).unwrap_err(), want, "case {i}");
    }
}

#[test]
fn interpreter() {
    let x = pf::R | pf::X;
    let mut payload = vec![0x90u8; 0x100];
    payload.extend_from_slice(b"/lib64/ld-linux-x86-64.so.2\0");
    let interp =
        Ph { kind: pt::INTERP, flags: pf::R, offset: 0x1100, vaddr: 0, filesz: 28, memsz: 28, align: 1 };
    let d = build(ET_DYN, 0x1000, 0, &[interp, load(0x1000, 0x1000, 0x100, 0x100, x)], &payload);
    assert_eq!(Image::parse(&d).unwrap().interp(), Some(&b"/lib64/ld-linux-x86-64.so.2"[..]));
    let mut bad = d.clone();
    bad[0x1100 + 27] = b'x';
    assert_eq!(Image::parse(&bad).unwrap_err(), Error::BadInterp);
}

/// A deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Whatever parse accepts obeys the invariants the loader relies on.
fn check_invariants(d: &[u8]) {
    if let Ok(img) = Image::parse(d) {
        let mut prev = 0;
        for s in img.loads() {
            assert!(s.filesz <= s.memsz && s.vend() <= USER_LIMIT && s.vaddr >= prev);
            assert!(img.file_bytes(s).is_some());
            prev = s.vend();
        }
        let e = img.header.entry;
        assert!(img.loads().any(|s| s.flags & pf::X != 0 && e >= s.vaddr && e < s.vend()));
        let _ = (img.brand(), img.interp(), img.tls(), img.phdr_vaddr(), img.executable_stack());
    }
}

fn mutate_everything(base: &[u8], rounds: usize) {
    for cut in 0..base.len().min(4096) {
        check_invariants(&base[..cut]);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..rounds {
        let mut d = base.to_vec();
        for _ in 0..1 + rng.next() % 4 {
            // Flip bits mostly in the headers, where the parser looks.
            let span = if rng.next().is_multiple_of(4) { d.len() } else { d.len().min(64 + 56 * 16) };
            let i = (rng.next() as usize) % span;
            d[i] ^= 1 << (rng.next() % 8);
        }
        check_invariants(&d);
    }
}

#[test]
fn truncations_and_bit_flips_never_panic() {
    mutate_everything(&minimal(), 20_000);
}

/// The same on a real static binary, when the machine has one (Debian's busybox-static,
/// which `cargo xtask test` installs).
#[test]
fn real_binary_parses_and_survives_mutation() {
    let Ok(d) = std::fs::read("/bin/busybox") else { return };
    let img = Image::parse(&d).unwrap();
    assert!(img.loads().count() >= 2);
    assert_eq!(img.interp(), None, "busybox-static is static");
    if img.header.kind == ET_EXEC {
        assert_eq!(img.brand(), Brand::Linux);
        assert!(img.phdr_vaddr().is_some());
    }
    mutate_everything(&d, 5_000);
}
