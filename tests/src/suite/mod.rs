//! The syscall conformance suite's results: the runner's output parsed ([`results`]), judged
//! against Linux's ([`verdict`]) with the known failures ([`known`]), the syscall coverage
//! ([`coverage`]) and the busybox session ([`session`]), and printed side by side ([`report`]).

pub mod coverage;
pub mod known;
pub mod report;
pub mod results;
pub mod session;
pub mod verdict;
