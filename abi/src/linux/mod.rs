//! The Linux x86_64 ABI as Damselfly's Linux sysentvec implements it.
pub mod syscalls;
