//! LWKT: DragonFly's light-weight kernel threads. Per-CPU globaldata, and (as the LWKT
//! milestone lands) threads owned by one CPU, IPI queues, tokens and message ports.
pub mod clock;
pub mod globaldata;
pub mod ipiq;
pub mod smp;
