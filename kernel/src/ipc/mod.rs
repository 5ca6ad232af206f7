//! Interprocess communication (DragonFly's uipc_*, sys_pipe.c, sysv_*): pipes and FIFOs now;
//! sockets, SysV IPC and message queues later.
pub mod pipe;
mod tests;
