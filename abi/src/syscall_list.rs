//! The shape of a declarative syscall list (one per ABI): number, name, argument kinds and
//! status, from which dispatch tables, trace names and the coverage report are generated.

/// How a syscall argument is shown in traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// `int`.
    Int,
    /// `unsigned int`.
    UInt,
    /// `long`.
    Long,
    /// `unsigned long`.
    ULong,
    /// A file descriptor.
    Fd,
    /// A byte count (`size_t`).
    Size,
    /// A file offset (`off_t`, `loff_t`).
    Off,
    /// A user pointer to a structure or buffer.
    Ptr,
    /// A user pointer to a NUL-terminated string (often a path).
    Str,
    /// Flag bits.
    Flags,
    /// A file mode.
    Mode,
    /// A process or thread id.
    Pid,
    /// A user or group id.
    Id,
    /// A signal number.
    Sig,
    /// A user address (mmap, brk).
    Addr,
}

/// Whether Damselfly implements a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Implemented with the documented semantics.
    Implemented,
    /// Implemented for the common cases; the rest return an errno (documented per call).
    Partial,
    /// Not implemented: returns ENOSYS, is counted and logged once.
    Missing,
}

/// One system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall {
    /// Number.
    pub nr: u32,
    /// Name, without the `sys_` prefix.
    pub name: &'static str,
    /// Argument kinds, in order.
    pub args: &'static [Arg],
    /// Status.
    pub status: Status,
}

/// Declares a syscall list: `NR name(ARG, ...) STATUS;` lines become the `TABLE` slice, a
/// `nr` module of constants and lookup by number.
#[macro_export]
macro_rules! syscall_list {
    ($($nr:literal $name:ident($($arg:ident),*) $status:ident;)*) => {
        /// Every call, ascending by number.
        pub static TABLE: &[Syscall] = &[
            $(Syscall { nr: $nr, name: stringify!($name), args: &[$($arg),*], status: $status },)*
        ];

        /// The number of each call, by name.
        #[allow(non_upper_case_globals)]
        pub mod nr {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: u32 = $nr;
            )*
        }
    };
}

/// The entry for number `nr` in `table` (sorted by number).
pub fn by_number(table: &'static [Syscall], nr: u32) -> Option<&'static Syscall> {
    table.binary_search_by_key(&nr, |s| s.nr).ok().map(|i| &table[i])
}

/// The entry named `name`.
pub fn by_name(table: &'static [Syscall], name: &str) -> Option<&'static Syscall> {
    table.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::syscalls::{nr, TABLE};

    #[test]
    fn linux_list_is_complete_sorted_and_unique() {
        assert_eq!(TABLE.len(), 384);
        for w in TABLE.windows(2) {
            assert!(w[0].nr < w[1].nr, "{} then {}", w[0].name, w[1].name);
        }
        let mut names: std::vec::Vec<_> = TABLE.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), TABLE.len());
        assert!(TABLE.iter().all(|s| s.args.len() <= 6));
    }

    #[test]
    fn lookups() {
        assert_eq!(nr::read, 0);
        assert_eq!(nr::openat, 257);
        assert_eq!(nr::clone3, 435);
        assert_eq!(by_number(TABLE, 59).map(|s| s.name), Some("execve"));
        assert_eq!(by_number(TABLE, 400), None);
        assert_eq!(by_name(TABLE, "mmap").map(|s| s.args.len()), Some(6));
        assert_eq!(
            by_name(TABLE, "openat").map(|s| s.args),
            Some(&[Arg::Fd, Arg::Str, Arg::Flags, Arg::Mode][..])
        );
    }
}
