//! Machine-dependent code (DragonFly's platform/pc64 and cpu/x86_64).
pub mod x86_64;
