//! Debugging aids (DragonFly's ddb helpers): kernel symbols and backtraces.
pub mod backtrace;
pub mod ksym;
