//! The native Damselfly ABI. Its syscall list starts empty: the native userland milestone
//! defines its calls here, in the same declarative form as the Linux list.
use super::syscall_list::Syscall;

/// Every native call, ascending by number.
pub static TABLE: &[Syscall] = &[];
