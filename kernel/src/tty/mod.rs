//! Terminals. For now: the serial console and the kernel log on top of it.
pub mod console;
pub mod klog;
