//! Linux epoll, eventfd and timerfd constants (`<uapi/linux/eventpoll.h>`, `<linux/eventfd.h>`,
//! `<linux/timerfd.h>`). The low epoll event bits are poll(2)'s (see [`crate::poll`]).

/// epoll_ctl: register a descriptor.
pub const EPOLL_CTL_ADD: u32 = 1;
/// epoll_ctl: remove a registration.
pub const EPOLL_CTL_DEL: u32 = 2;
/// epoll_ctl: change a registration's events and data.
pub const EPOLL_CTL_MOD: u32 = 3;

/// Readable (POLLIN).
pub const EPOLLIN: u32 = 0x001;
/// Urgent data (POLLPRI).
pub const EPOLLPRI: u32 = 0x002;
/// Writable (POLLOUT).
pub const EPOLLOUT: u32 = 0x004;
/// Error (always reported).
pub const EPOLLERR: u32 = 0x008;
/// Hang-up (always reported).
pub const EPOLLHUP: u32 = 0x010;
/// The peer shut down writing.
pub const EPOLLRDHUP: u32 = 0x2000;
/// Wake only one of several epoll instances waiting on the same file (ADD only).
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
/// Keep the system from suspending while the event is pending (needs CAP_BLOCK_SUSPEND;
/// silently dropped without it, as Linux does).
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// Report once, then disable the registration until EPOLL_CTL_MOD re-arms it.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// Edge-triggered: report a registration when it becomes ready, not while it stays ready.
pub const EPOLLET: u32 = 1 << 31;
/// The flag bits (not events).
pub const EPOLL_FLAGS: u32 = EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET;
/// What EPOLLEXCLUSIVE may be combined with (Linux's EPOLLEXCLUSIVE_OK_BITS).
pub const EPOLLEXCLUSIVE_OK_BITS: u32 =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// `struct epoll_event` is packed on x86_64: u32 events, u64 data.
pub const EPOLL_EVENT_SIZE: usize = 12;

/// eventfd2: semaphore reads (each read takes 1).
pub const EFD_SEMAPHORE: u32 = 1;

/// timerfd_settime: the value is an absolute time on the timer's clock.
pub const TFD_TIMER_ABSTIME: u32 = 1;
/// timerfd_settime: cancel a CLOCK_REALTIME absolute timer when the clock is set.
pub const TFD_TIMER_CANCEL_ON_SET: u32 = 2;
