//! Damselfly's integration scenarios: which kernels to boot in QEMU and how to judge what they
//! print. `cargo xtask test` boots each [`scenarios::Scenario`] and prints every [`check::Check`].
//!
//! Everything here works on captured serial output, so the parsers and checks are tested on the
//! host with canned output, including the cases that must fail.

pub mod check;
pub mod conformance;
pub mod fault;
pub mod init;
pub mod ktap;
pub mod run;
pub mod scenarios;
pub mod suite;
pub mod symbols;
