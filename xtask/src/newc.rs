//! A cpio "newc" writer for the root image. Writing the archive ourselves (rather than with
//! the system cpio) makes it reproducible by construction and lets it hold device nodes and
//! hard links described in rootfs/nodes.txt without needing root on the build machine.

/// One archive member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Path without a leading `/`.
    pub path: String,
    /// Type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link count (members sharing an inode number are hard links).
    pub nlink: u32,
    /// Inode number.
    pub ino: u32,
    /// Modification time.
    pub mtime: u32,
    /// Device major and minor, for device nodes.
    pub rdev: (u32, u32),
    /// Contents (a symlink's target).
    pub data: Vec<u8>,
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn header(out: &mut Vec<u8>, m: &Member, namesize: usize) {
    let fields = [
        m.ino,
        m.mode,
        m.uid,
        m.gid,
        m.nlink,
        m.mtime,
        m.data.len() as u32,
        0,
        0,
        m.rdev.0,
        m.rdev.1,
        namesize as u32,
        0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
}

/// The archive bytes: every member in order, then the trailer.
pub fn write(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    let trailer = Member {
        path: "TRAILER!!!".into(),
        mode: 0,
        uid: 0,
        gid: 0,
        nlink: 1,
        ino: 0,
        mtime: 0,
        rdev: (0, 0),
        data: Vec::new(),
    };
    for m in members.iter().chain(std::iter::once(&trailer)) {
        header(&mut out, m, m.path.len() + 1);
        out.extend_from_slice(m.path.as_bytes());
        out.push(0);
        pad4(&mut out);
        out.extend_from_slice(&m.data);
        pad4(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_abi_reader_reads_what_we_write() {
        let members = vec![
            Member {
                path: "dev/null".into(),
                mode: 0o020666,
                uid: 0,
                gid: 0,
                nlink: 1,
                ino: 7,
                mtime: 5,
                rdev: (1, 3),
                data: vec![],
            },
            Member {
                path: "etc/a".into(),
                mode: 0o100644,
                uid: 1,
                gid: 2,
                nlink: 2,
                ino: 8,
                mtime: 5,
                rdev: (0, 0),
                data: b"xyz".to_vec(),
            },
        ];
        let bytes = write(&members);
        let got: Vec<_> = abi::cpio::Reader::new(&bytes).map(|e| e.unwrap()).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].path(), b"dev/null");
        assert_eq!(got[0].header.rdev, (1, 3));
        assert_eq!(got[1].data, b"xyz");
        assert_eq!(
            (got[1].header.uid, got[1].header.gid, got[1].header.nlink, got[1].header.ino),
            (1, 2, 2, 8)
        );
    }
}
