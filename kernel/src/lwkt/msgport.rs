//! Message ports (DragonFly's lwkt_msgport.c).
//!
//! A message is owned by its originator until sent, by the target until replied, then by the
//! originator again. Two port kinds, as the design brief recommends: the *thread port*, owned
//! by one thread, whose queue only the owner's CPU touches (puts and replies from other CPUs
//! travel by IPI), and the *spin port*, a spinlocked queue any thread may wait on. Messages
//! sent with `domsg` are synchronous: the reply sets DONE and wakes the waiter without
//! queueing the message anywhere.
use super::crit::{crit_enter, crit_exit};
use super::globaldata::mycpu;
use super::sched::{self, curthread};
use super::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PINTERLOCKED};
use super::thread::{Thread, ThreadHandle};
use super::{cpulocal::CpuLocal, ipiq};
use crate::sync::spinlock::SpinLock;
use alloc::collections::VecDeque;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, Ordering};

/// Message flags (`MSGF_*`).
pub mod msgf {
    /// Replied (or never sent): the originator owns it.
    pub const DONE: u32 = 1 << 0;
    /// It came back as a reply.
    pub const REPLY: u32 = 1 << 1;
    /// Sitting on a port's queue.
    pub const QUEUED: u32 = 1 << 2;
    /// Sent by `domsg`: the reply wakes the waiter instead of queueing.
    pub const SYNC: u32 = 1 << 3;
    /// `abortmsg` may call the message's abort function.
    pub const ABORTABLE: u32 = 1 << 4;
    /// An abort was requested.
    pub const ABORTED: u32 = 1 << 5;
}

/// A message header. Embed it first in a `#[repr(C)]` struct for a message with a body.
#[repr(C)]
pub struct Msg {
    flags: AtomicU32,
    error: AtomicI32,
    reply_port: AtomicPtr<Port>,
    target_port: AtomicPtr<Port>,
    abortfn: UnsafeCell<Option<fn(&Msg)>>,
}

// SAFETY: `abortfn` is written only by the owner before the message is sent (initmsg);
// everything else is atomic.
unsafe impl Sync for Msg {}

impl Msg {
    /// A done message whose replies go to `reply_port`.
    pub fn new(reply_port: &Port) -> Msg {
        Msg {
            flags: AtomicU32::new(msgf::DONE),
            error: AtomicI32::new(0),
            reply_port: AtomicPtr::new(reply_port as *const Port as *mut Port),
            target_port: AtomicPtr::new(core::ptr::null_mut()),
            abortfn: UnsafeCell::new(None),
        }
    }

    /// Makes the message abortable with `f` (lwkt_initmsg_abortable); only while it is done.
    pub fn set_abortable(&mut self, f: fn(&Msg)) {
        *self.abortfn.get_mut() = Some(f);
        self.flags.fetch_or(msgf::ABORTABLE, Ordering::Relaxed);
    }

    /// The flags.
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Acquire)
    }

    /// True once replied.
    pub fn done(&self) -> bool {
        self.flags() & msgf::DONE != 0
    }

    /// The error the target replied with.
    pub fn error(&self) -> i32 {
        self.error.load(Ordering::Acquire)
    }

    fn reply_port(&self) -> &Port {
        // SAFETY: the reply port outlives its messages (the originator's contract).
        unsafe { &*self.reply_port.load(Ordering::Acquire) }
    }
}

/// A received message: the receiver's temporary ownership. [`replymsg`] consumes it, so the
/// receiver cannot touch the message after giving it back (the originator may free it as
/// soon as the reply lands).
pub struct MsgRef<'p> {
    msg: *const Msg,
    _port: core::marker::PhantomData<&'p Port>,
}

impl core::ops::Deref for MsgRef<'_> {
    type Target = Msg;
    fn deref(&self) -> &Msg {
        // SAFETY: the originator keeps a sent message alive until it is replied, and the
        // reply consumes this MsgRef.
        unsafe { &*self.msg }
    }
}

impl MsgRef<'_> {
    fn new(msg: *const Msg) -> Self {
        MsgRef { msg, _port: core::marker::PhantomData }
    }
}

enum Kind {
    /// Owned by one thread: only its CPU touches the queue.
    Thread { owner: ThreadHandle, queue: CpuLocal<VecDeque<*const Msg>> },
    /// Any thread may wait; the queue sits under a spinlock.
    Spin { queue: SpinLock<VecDeque<*const Msg>> },
}

/// A message port.
pub struct Port {
    kind: Kind,
    /// The owner is blocked in waitport/waitmsg (thread ports).
    waiting: AtomicU32,
}

// SAFETY: the thread-port queue is reached only on the owner's CPU in a critical section
// (CpuLocal); the raw message pointers are owned by the port while queued.
unsafe impl Sync for Port {}
// SAFETY: as above.
unsafe impl Send for Port {}

impl Port {
    /// A thread port owned by the current thread (lwkt_initport_thread).
    pub fn thread_port() -> Port {
        let owner = sched::current_handle();
        Port {
            kind: Kind::Thread { owner, queue: CpuLocal::new(VecDeque::new()) },
            waiting: AtomicU32::new(0),
        }
    }

    /// A spin port (lwkt_initport_spin).
    pub fn spin_port() -> Port {
        Port { kind: Kind::Spin { queue: SpinLock::new(VecDeque::new()) }, waiting: AtomicU32::new(0) }
    }

    fn owner(&self) -> Option<&Thread> {
        match &self.kind {
            Kind::Thread { owner, .. } => Some(owner),
            Kind::Spin { .. } => None,
        }
    }

    /// Queues `msg` (putport).
    fn put(&self, msg: &Msg) {
        msg.target_port.store(self as *const Port as *mut Port, Ordering::Release);
        match &self.kind {
            Kind::Thread { owner, .. } => {
                if core::ptr::eq(owner.gd(), mycpu()) {
                    put_local(self, msg);
                } else {
                    ipiq::send(
                        owner.gd(),
                        put_remote,
                        self as *const Port as usize,
                        msg as *const Msg as usize,
                    );
                }
            }
            Kind::Spin { queue } => {
                let mut q = queue.lock();
                msg.flags.fetch_or(msgf::QUEUED, Ordering::Release);
                q.push_back(msg);
                drop(q);
                wakeup(ident_of(self));
            }
        }
    }

    /// Takes the next message, if any (lwkt_getport). Thread ports: owner only.
    pub fn get(&self) -> Option<MsgRef<'_>> {
        let m = match &self.kind {
            Kind::Thread { owner, queue } => {
                assert!(core::ptr::eq(&**owner, curthread()), "getport on another thread's port");
                crit_enter();
                // SAFETY: owner CPU, critical section.
                let m = unsafe { queue.get() }.pop_front();
                crit_exit();
                m
            }
            Kind::Spin { queue } => queue.lock().pop_front(),
        }?;
        let m = MsgRef::new(m);
        m.flags.fetch_and(!msgf::QUEUED, Ordering::AcqRel);
        Some(m)
    }

    /// Waits for the next message (lwkt_waitport).
    pub fn wait(&self) -> MsgRef<'_> {
        loop {
            if let Some(m) = self.get() {
                return m;
            }
            match &self.kind {
                Kind::Thread { queue, .. } => {
                    crit_enter();
                    // SAFETY: owner CPU, critical section; the reference ends before the switch.
                    if unsafe { queue.get() }.is_empty() {
                        self.waiting.store(1, Ordering::Release);
                        sched::deschedule_self();
                        sched::switch();
                        self.waiting.store(0, Ordering::Release);
                    }
                    crit_exit();
                }
                Kind::Spin { queue } => {
                    let q = queue.lock();
                    if q.is_empty() {
                        tsleep_interlock(ident_of(self));
                        drop(q);
                        let _ = tsleep(ident_of(self), PINTERLOCKED, "waitport", 0);
                    }
                }
            }
        }
    }

    /// Delivers a reply to this (reply) port (replyport).
    fn reply(&self, msg: &Msg) {
        match &self.kind {
            Kind::Thread { owner, .. } => {
                if core::ptr::eq(owner.gd(), mycpu()) {
                    reply_local(self, msg);
                } else {
                    ipiq::send(
                        owner.gd(),
                        reply_remote,
                        self as *const Port as usize,
                        msg as *const Msg as usize,
                    );
                }
            }
            Kind::Spin { queue } => {
                if msg.flags() & msgf::SYNC != 0 {
                    msg.flags.fetch_or(msgf::DONE | msgf::REPLY, Ordering::Release);
                    wakeup(ident_of(msg));
                } else {
                    let mut q = queue.lock();
                    msg.flags.fetch_or(msgf::DONE | msgf::REPLY | msgf::QUEUED, Ordering::Release);
                    q.push_back(msg);
                    drop(q);
                    wakeup(ident_of(self));
                    // A waitmsg on this very message sleeps on the message.
                    wakeup(ident_of(msg));
                }
            }
        }
    }

    /// Waits until `msg` (sent from this, its reply port) is replied; returns its error
    /// (lwkt_waitmsg). An asynchronous reply is taken off the queue.
    pub fn waitmsg(&self, msg: &Msg) -> i32 {
        if let Kind::Thread { owner, .. } = &self.kind {
            assert!(core::ptr::eq(&**owner, curthread()), "waitmsg on another thread's port");
        }
        loop {
            match &self.kind {
                Kind::Thread { queue, .. } => {
                    crit_enter();
                    if msg.done() {
                        // SAFETY: owner CPU, critical section.
                        let q = unsafe { queue.get() };
                        if msg.flags() & msgf::QUEUED != 0 {
                            q.retain(|&m| !core::ptr::eq(m, msg));
                            msg.flags.fetch_and(!msgf::QUEUED, Ordering::AcqRel);
                        }
                        crit_exit();
                        return msg.error();
                    }
                    self.waiting.store(1, Ordering::Release);
                    sched::deschedule_self();
                    sched::switch();
                    self.waiting.store(0, Ordering::Release);
                    crit_exit();
                }
                Kind::Spin { queue } => {
                    // Interlock first, then test: a reply landing in between takes us off the
                    // queue and the tsleep returns at once.
                    tsleep_interlock(ident_of(msg));
                    let mut q = queue.lock();
                    if msg.done() {
                        if msg.flags() & msgf::QUEUED != 0 {
                            q.retain(|&m| !core::ptr::eq(m, msg));
                            msg.flags.fetch_and(!msgf::QUEUED, Ordering::AcqRel);
                        }
                        drop(q);
                        super::sleep::tsleep_cancel();
                        return msg.error();
                    }
                    drop(q);
                    // Both replies wake the message's ident: an asynchronous one queues on the
                    // port and wakes the message too (see `reply`).
                    let _ = tsleep(ident_of(msg), PINTERLOCKED, "waitmsg", 0);
                }
            }
        }
    }
}

fn wake_owner(port: &Port) {
    if port.waiting.swap(0, Ordering::AcqRel) != 0 {
        if let Some(owner) = port.owner() {
            sched::schedule(owner);
        }
    }
}

fn put_local(port: &Port, msg: &Msg) {
    let Kind::Thread { queue, .. } = &port.kind else { unreachable!() };
    crit_enter();
    msg.flags.fetch_or(msgf::QUEUED, Ordering::Release);
    // SAFETY: owner CPU, critical section.
    unsafe { queue.get() }.push_back(msg);
    wake_owner(port);
    crit_exit();
}

fn put_remote(port: usize, msg: usize) {
    // SAFETY: the port and the in-transit message outlive the IPI (originator's contract).
    let (port, msg) = unsafe { (&*(port as *const Port), &*(msg as *const Msg)) };
    let Kind::Thread { owner, .. } = &port.kind else { unreachable!() };
    if core::ptr::eq(owner.gd(), mycpu()) {
        put_local(port, msg);
    } else {
        // The owner migrated: chase it.
        ipiq::send(owner.gd(), put_remote, port as *const Port as usize, msg as *const Msg as usize);
    }
}

fn reply_local(port: &Port, msg: &Msg) {
    let Kind::Thread { queue, .. } = &port.kind else { unreachable!() };
    crit_enter();
    if msg.flags() & msgf::SYNC != 0 {
        msg.flags.fetch_or(msgf::DONE | msgf::REPLY, Ordering::Release);
    } else {
        msg.flags.fetch_or(msgf::DONE | msgf::REPLY | msgf::QUEUED, Ordering::Release);
        // SAFETY: owner CPU, critical section.
        unsafe { queue.get() }.push_back(msg);
    }
    wake_owner(port);
    crit_exit();
}

fn reply_remote(port: usize, msg: usize) {
    // SAFETY: as in put_remote.
    let (port, msg) = unsafe { (&*(port as *const Port), &*(msg as *const Msg)) };
    let Kind::Thread { owner, .. } = &port.kind else { unreachable!() };
    if core::ptr::eq(owner.gd(), mycpu()) {
        reply_local(port, msg);
    } else {
        ipiq::send(owner.gd(), reply_remote, port as *const Port as usize, msg as *const Msg as usize);
    }
}

/// Sends `msg` to `port` asynchronously (lwkt_sendmsg); the reply arrives on the message's
/// reply port.
///
/// # Safety
/// `msg` and its reply port must stay alive and unmoved until the reply has been received
/// (the target owns the message until then).
pub unsafe fn sendmsg(port: &Port, msg: &Msg) {
    assert!(msg.done(), "sendmsg of a message in flight");
    msg.flags.fetch_and(!(msgf::DONE | msgf::REPLY | msgf::SYNC | msgf::ABORTED), Ordering::AcqRel);
    port.put(msg);
}

/// Sends `msg` and waits for the reply (lwkt_domsg); returns the target's error.
pub fn domsg(port: &Port, msg: &Msg) -> i32 {
    assert!(msg.done(), "domsg of a message in flight");
    msg.flags.fetch_and(!(msgf::DONE | msgf::REPLY | msgf::ABORTED), Ordering::AcqRel);
    msg.flags.fetch_or(msgf::SYNC, Ordering::AcqRel);
    port.put(msg);
    // domsg blocks until the reply, so the message outlives its trip.
    msg.reply_port().waitmsg(msg)
}

/// Replies to `msg` with `error` (lwkt_replymsg); ownership returns to the originator.
pub fn replymsg(msg: MsgRef<'_>, error: i32) {
    reply_inner(&msg, error);
}

fn reply_inner(msg: &Msg, error: i32) {
    msg.error.store(error, Ordering::Release);
    msg.reply_port().reply(msg);
}

/// Asks the target to abort `msg` (lwkt_abortmsg): calls its abort function if it is
/// abortable and not yet done. The target still replies to the original message.
pub fn abortmsg(msg: &Msg) {
    let f = msg.flags();
    if f & msgf::ABORTABLE != 0 && f & (msgf::DONE | msgf::ABORTED) == 0 {
        msg.flags.fetch_or(msgf::ABORTED, Ordering::AcqRel);
        // SAFETY: abortfn is only written before the message is sent.
        if let Some(func) = unsafe { *msg.abortfn.get() } {
            func(msg);
        }
    }
}

mod tests {
    use super::*;
    use crate::lwkt::sched::{create, yield_now};
    use crate::lwkt::thread::pri;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::boxed::Box;
    use alloc::sync::Arc;
    use core::sync::atomic::AtomicUsize;

    /// A message with a body: the header first, as DragonFly embeds lwkt_msg.
    #[repr(C)]
    struct AddMsg {
        hdr: Msg,
        value: AtomicUsize,
    }

    /// Serves `n` messages from `port`: adds one to each value and replies.
    fn serve(port: &Port, n: usize) {
        for _ in 0..n {
            let m = port.wait();
            // SAFETY: every message sent to this port is an AddMsg (the test's protocol), and
            // `hdr` is its first field.
            let am = unsafe { &*(&*m as *const Msg as *const AddMsg) };
            am.value.fetch_add(1, Ordering::AcqRel);
            replymsg(m, 7);
        }
    }

    ktest! {
        /// domsg to a thread port: the server owns the message until it replies; the reply
        /// carries the error; ownership comes back with DONE and REPLY set.
        fn domsg_thread_port() {
            let server_port: Arc<spin::Once<Port>> = Arc::new(spin::Once::new());
            let sp = server_port.clone();
            create("t-srv", pri::KERN_DAEMON, None, move || {
                let p = sp.call_once(Port::thread_port);
                serve(p, 10);
            })
            .ok_or("create failed")?;
            while server_port.get().is_none() {
                yield_now();
            }
            let port = server_port.get().ok_or("no port")?;
            let reply = Port::thread_port();
            let msg = AddMsg { hdr: Msg::new(&reply), value: AtomicUsize::new(0) };
            for i in 0..10 {
                let err = domsg(port, &msg.hdr);
                kassert_eq!(err, 7);
                kassert_eq!(msg.value.load(Ordering::Acquire), i + 1);
                kassert!(msg.hdr.flags() & (msgf::DONE | msgf::REPLY) == (msgf::DONE | msgf::REPLY), "flags {:#x}", msg.hdr.flags());
            }
            Ok(())
        }
    }

    ktest! {
        /// Asynchronous sends to a spin port: replies queue on the reply port in order.
        fn sendmsg_spin_port() {
            let port: &'static Port = Box::leak(Box::new(Port::spin_port()));
            create("t-srv2", pri::KERN_DAEMON, None, move || serve(port, 4)).ok_or("create failed")?;
            let reply: &'static Port = Box::leak(Box::new(Port::thread_port()));
            let msgs: &'static [AddMsg] = Box::leak(
                (0..4).map(|i| AddMsg { hdr: Msg::new(reply), value: AtomicUsize::new(i * 10) }).collect::<alloc::vec::Vec<_>>().into_boxed_slice(),
            );
            for m in msgs {
                // SAFETY: the messages and ports are leaked: they live for ever.
                unsafe { sendmsg(port, &m.hdr) };
            }
            for (i, m) in msgs.iter().enumerate() {
                let r = reply.wait();
                kassert!(core::ptr::eq(&*r, &m.hdr), "reply {} out of order", i);
                kassert_eq!(m.value.load(Ordering::Acquire), i * 10 + 1);
                kassert!(r.done() && r.error() == 7, "not done");
            }
            Ok(())
        }
    }

    ktest! {
        /// abortmsg calls the abort function of an abortable message in flight, once.
        fn abort_in_flight() {
            static ABORTS: AtomicUsize = AtomicUsize::new(0);
            fn on_abort(_: &Msg) {
                ABORTS.fetch_add(1, Ordering::AcqRel);
            }
            let port: &'static Port = Box::leak(Box::new(Port::spin_port()));
            let reply: &'static Port = Box::leak(Box::new(Port::spin_port()));
            let msg: &'static mut Msg = Box::leak(Box::new(Msg::new(reply)));
            msg.set_abortable(on_abort);
            let msg: &'static Msg = msg;
            // SAFETY: all leaked: they live for ever.
            unsafe { sendmsg(port, msg) };
            abortmsg(msg);
            abortmsg(msg);
            kassert_eq!(ABORTS.load(Ordering::Acquire), 1);
            let m = port.get().ok_or("not queued")?;
            replymsg(m, abi::errno::EINTR);
            kassert_eq!(reply.waitmsg(msg), abi::errno::EINTR);
            Ok(())
        }
    }
}
