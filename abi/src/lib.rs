//! Definitions shared by the Damselfly kernel, its loader, its userland and the host tools.
//!
//! Everything here is `no_std`, has no dependencies and is tested on the host.
#![no_std]

#[cfg(test)]
extern crate std;

pub mod boot;
pub mod cpio;
pub mod debug_exit;
pub mod elf;
pub mod epoll;
pub mod errno;
pub mod fcntl;
pub mod linux;
pub mod mman;
pub mod native;
pub mod poll;
pub mod syscall_list;
pub mod termios;
