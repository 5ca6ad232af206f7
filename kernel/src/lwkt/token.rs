//! LWKT serializing tokens (DragonFly's lwkt_token.c).
//!
//! A token excludes other threads only while its holder runs: every switch drops all of the
//! thread's tokens and the scheduler re-acquires the whole set before the thread runs again.
//! Nothing is held while asleep, so acquisition order never matters and tokens cannot
//! deadlock, but anything a token protects may change across any call that blocks.
//!
//! The Rust API makes that rule hard to break: data guarded by a token lives in a
//! [`TokenCell`], and the only sanctioned way to block while holding its guard is
//! [`TokenCellGuard::block`], which borrows the guard mutably, so every reference into the
//! data must end before the block and be re-derived after it. Blocking with a cell guard held
//! any other way is caught (a kernel assertion) at the blocking point.
use super::sched::{self, curthread};
use super::stats::bump;
use super::thread::{Thread, MAXTOKENS};
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

const EXCL: usize = 1;
const EXCLREQ: usize = 2;
const SHARED_INC: usize = 4;

/// A serializing token.
pub struct Token {
    count: AtomicUsize,
    owner: AtomicPtr<Thread>,
    collisions: AtomicU64,
    desc: &'static str,
}

impl Token {
    /// A free token; `desc` names it in diagnostics.
    pub const fn new(desc: &'static str) -> Token {
        Token {
            count: AtomicUsize::new(0),
            owner: AtomicPtr::new(ptr::null_mut()),
            collisions: AtomicU64::new(0),
            desc,
        }
    }

    /// Times an acquisition found the token held (`t_collisions`).
    pub fn collisions(&self) -> u64 {
        self.collisions.load(Ordering::Relaxed)
    }

    /// The token's description.
    pub fn desc(&self) -> &'static str {
        self.desc
    }

    /// True when `td` holds this token exclusively.
    fn owned_by(&self, td: &Thread) -> bool {
        ptr::eq(self.owner.load(Ordering::Acquire), td)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Exclusive,
    Shared,
}

/// What an acquisition actually took, so the release undoes exactly that.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Held {
    No,
    /// The exclusive bit (this ref is the outermost exclusive one).
    Exclusive,
    /// One shared count (a shared ref, or a recursive one on our own exclusive token).
    Count,
}

#[derive(Clone, Copy)]
struct TokRef {
    tok: *const Token,
    mode: Mode,
    held: Held,
}

/// A thread's token stack (`td_toks_array`): what it holds, in acquisition order.
pub struct TokenStack {
    refs: [TokRef; MAXTOKENS],
    top: usize,
    /// Live [`TokenCellGuard`]s, and how many of them are inside [`TokenCellGuard::block`].
    cell_guards: usize,
    cell_blocks: usize,
}

impl TokenStack {
    /// Empty.
    pub const fn new() -> TokenStack {
        TokenStack {
            refs: [TokRef { tok: ptr::null(), mode: Mode::Shared, held: Held::No }; MAXTOKENS],
            top: 0,
            cell_guards: 0,
            cell_blocks: 0,
        }
    }
}

/// Tries to take `r.tok` for `td`; records what was taken in `r.held`.
fn try_ref(td: &Thread, r: &mut TokRef, holds_others: bool) -> bool {
    // SAFETY: tokens referenced from a token stack outlive the reference (the guard borrows them).
    let tok = unsafe { &*r.tok };
    match r.mode {
        Mode::Exclusive => loop {
            let c = tok.count.load(Ordering::Relaxed);
            if c & EXCL == 0 && c < SHARED_INC {
                if tok
                    .count
                    .compare_exchange_weak(c, (c | EXCL) & !EXCLREQ, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    tok.owner.store(td as *const Thread as *mut Thread, Ordering::Release);
                    r.held = Held::Exclusive;
                    return true;
                }
                continue;
            }
            if c & EXCL != 0 && tok.owned_by(td) {
                tok.count.fetch_add(SHARED_INC, Ordering::Acquire);
                r.held = Held::Count;
                return true;
            }
            tok.count.fetch_or(EXCLREQ, Ordering::Relaxed);
            return false;
        },
        Mode::Shared => {
            let c = tok.count.fetch_add(SHARED_INC, Ordering::Acquire);
            let blocked = if c & EXCL != 0 {
                !tok.owned_by(td)
            } else {
                // Defer to a waiting writer only when that cannot deadlock re-acquisition.
                c & EXCLREQ != 0 && !holds_others
            };
            if blocked {
                tok.count.fetch_sub(SHARED_INC, Ordering::Relaxed);
                return false;
            }
            r.held = Held::Count;
            true
        }
    }
}

fn release_ref(r: &mut TokRef) {
    // SAFETY: as in try_ref.
    let tok = unsafe { &*r.tok };
    match r.held {
        Held::No => {}
        Held::Exclusive => {
            tok.owner.store(ptr::null_mut(), Ordering::Relaxed);
            tok.count.fetch_and(!EXCL, Ordering::Release);
        }
        Held::Count => {
            tok.count.fetch_sub(SHARED_INC, Ordering::Release);
        }
    }
    r.held = Held::No;
}

/// Drops every token `td` holds, keeping them on its stack (lwkt_relalltokens). Called by
/// the switch code on the owning CPU in a critical section.
pub(super) fn release_all(td: &Thread) {
    // SAFETY: owner CPU, critical section: the token stack is ours.
    let ts = unsafe { &mut *td.toks() };
    for r in ts.refs[..ts.top].iter_mut().rev() {
        release_ref(r);
    }
}

/// Re-acquires every token on `td`'s stack, all or none (lwkt_getalltokens).
pub(super) fn acquire_all(td: &Thread) -> bool {
    // SAFETY: as in release_all.
    let ts = unsafe { &mut *td.toks() };
    let n = ts.top;
    for i in 0..n {
        let holds_others = i > 0;
        if !try_ref(td, &mut ts.refs[i], holds_others) {
            // SAFETY: tokens on the stack are alive.
            let tok = unsafe { &*ts.refs[i].tok };
            tok.collisions.fetch_add(1, Ordering::Relaxed);
            for r in ts.refs[..i].iter_mut().rev() {
                release_ref(r);
            }
            return false;
        }
    }
    true
}

/// True when `td` holds tokens (its stack is not empty).
pub(super) fn holds_tokens(td: &Thread) -> bool {
    // SAFETY: reading the depth of the owner's stack on the owner CPU.
    unsafe { (*td.toks()).top != 0 }
}

/// Called at every voluntary blocking point: blocking with a [`TokenCellGuard`] held outside
/// [`TokenCellGuard::block`] is a kernel bug (its references would silently go stale).
pub(super) fn assert_may_block(td: &Thread) {
    // SAFETY: owner CPU.
    let ts = unsafe { &*td.toks() };
    assert!(
        ts.cell_guards == ts.cell_blocks,
        "thread {} blocks holding a TokenCell guard outside TokenCellGuard::block",
        td.name()
    );
}

/// Tokens belong to threads: an interrupt handler or IPI callback runs on the interrupted
/// thread's behalf and would be granted its tokens recursively, in the middle of its update.
fn assert_thread_context() {
    let gd = super::globaldata::mycpu();
    assert!(
        gd.intr_nesting.load(Ordering::Relaxed) == 0 && gd.processing_ipiq.load(Ordering::Relaxed) == 0,
        "token taken in interrupt or IPI context"
    );
}

fn get(tok: &Token, mode: Mode) {
    let td = curthread();
    assert_thread_context();
    // A contended token switches away, which drops every token held: a TokenCell guard's
    // data would change under its references. Taking another token while holding one must
    // go through TokenCellGuard::block.
    assert_may_block(td);
    let _c = super::crit::crit();
    let i = {
        // SAFETY: the current thread's own stack, in a critical section; the reference ends
        // before the switch below, during which the scheduler works on the stack.
        let ts = unsafe { &mut *td.toks() };
        assert!(ts.top < MAXTOKENS, "token stack overflow in {}", td.name());
        let i = ts.top;
        ts.refs[i] = TokRef { tok, mode, held: Held::No };
        ts.top += 1;
        if try_ref(td, &mut ts.refs[i], i > 0) {
            return;
        }
        i
    };
    tok.collisions.fetch_add(1, Ordering::Relaxed);
    bump(&super::globaldata::mycpu().stats.token_collisions);
    // Stay runnable: the scheduler hands the CPU back only with every token re-acquired.
    // SAFETY (each read): our own stack, read between switches.
    while unsafe { (*td.toks()).refs[i].held } == Held::No {
        sched::switch_contended();
    }
}

fn rel(tok: &Token) {
    let td = curthread();
    let _c = super::crit::crit();
    // SAFETY: as in get.
    let ts = unsafe { &mut *td.toks() };
    assert!(
        ts.top > 0 && ptr::eq(ts.refs[ts.top - 1].tok, tok),
        "tokens released out of order ({})",
        tok.desc
    );
    ts.top -= 1;
    let mut r = ts.refs[ts.top];
    release_ref(&mut r);
}

/// Holds a token until dropped. Tokens are released in reverse order of acquisition.
pub struct TokenGuard<'a> {
    tok: &'a Token,
    _not_send: PhantomData<*const ()>,
}

impl Drop for TokenGuard<'_> {
    fn drop(&mut self) {
        rel(self.tok);
    }
}

/// Takes `tok` exclusively, switching away (but staying runnable) while it is held elsewhere.
pub fn get_token(tok: &Token) -> TokenGuard<'_> {
    get(tok, Mode::Exclusive);
    TokenGuard { tok, _not_send: PhantomData }
}

/// Takes `tok` shared.
pub fn get_token_shared(tok: &Token) -> TokenGuard<'_> {
    get(tok, Mode::Shared);
    TokenGuard { tok, _not_send: PhantomData }
}

/// Takes `tok` exclusively if that is possible without switching.
pub fn try_token(tok: &Token) -> Option<TokenGuard<'_>> {
    let td = curthread();
    assert_thread_context();
    let _c = super::crit::crit();
    // SAFETY: as in get.
    let ts = unsafe { &mut *td.toks() };
    if ts.top >= MAXTOKENS {
        return None;
    }
    let mut r = TokRef { tok, mode: Mode::Exclusive, held: Held::No };
    if !try_ref(td, &mut r, ts.top > 0) {
        tok.collisions.fetch_add(1, Ordering::Relaxed);
        // Nobody will wait for it: withdraw the exclusive request try_ref raised, or shared
        // requesters would defer to a writer that gave up. A real waiter raises it again on
        // its next attempt.
        tok.count.fetch_and(!EXCLREQ, Ordering::Relaxed);
        return None;
    }
    ts.refs[ts.top] = r;
    ts.top += 1;
    Some(TokenGuard { tok, _not_send: PhantomData })
}

/// Number of pool tokens (`lwkt_getpooltoken`).
const POOL_SIZE: usize = 1024;

#[repr(align(64))]
struct PoolSlot(Token);

static POOL: [PoolSlot; POOL_SIZE] = [const { PoolSlot(Token::new("pool")) }; POOL_SIZE];

/// The pool token an address hashes to: a per-object lock without embedding a token.
pub fn pool_token<T: ?Sized>(obj: &T) -> &'static Token {
    let a = obj as *const T as *const u8 as usize;
    let h = (a >> 4) ^ (a >> 12) ^ (a >> 20);
    &POOL[h % POOL_SIZE].0
}

/// Data protected by a token.
pub struct TokenCell<T> {
    tok: Token,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only through a guard, which holds the token exclusively while
// its thread runs; when the thread blocks the token is dropped, but the guard's `block`
// borrows the guard mutably, so no reference into the data lives across the gap.
unsafe impl<T: Send> Sync for TokenCell<T> {}

impl<T> TokenCell<T> {
    /// Wraps `v` behind a new token.
    pub const fn new(desc: &'static str, v: T) -> TokenCell<T> {
        TokenCell { tok: Token::new(desc), data: UnsafeCell::new(v) }
    }

    /// Takes the token exclusively and gives access to the data.
    pub fn lock(&self) -> TokenCellGuard<'_, T> {
        // A second guard on the same cell would be a second `&mut` to its data.
        assert!(!self.tok.owned_by(curthread()), "TokenCell {} locked twice by one thread", self.tok.desc);
        let g = get_token(&self.tok);
        // SAFETY: our own token stack.
        unsafe { (*curthread().toks()).cell_guards += 1 };
        TokenCellGuard { cell: self, _g: g }
    }

    /// The token itself (collision counts).
    pub fn token(&self) -> &Token {
        &self.tok
    }
}

/// Exclusive access to a [`TokenCell`]'s data while the thread runs.
pub struct TokenCellGuard<'a, T> {
    cell: &'a TokenCell<T>,
    _g: TokenGuard<'a>,
}

impl<T> TokenCellGuard<'_, T> {
    /// Runs `f`, which may block. The token may be lost and re-taken meanwhile, so the
    /// guard is borrowed mutably: references into the data cannot survive the call.
    pub fn block<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let td = curthread();
        // SAFETY: our own token stack.
        unsafe { (*td.toks()).cell_blocks += 1 };
        let r = f();
        // SAFETY: as above.
        unsafe { (*td.toks()).cell_blocks -= 1 };
        r
    }
}

impl<T> core::ops::Deref for TokenCellGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the token is held exclusively while this thread runs (see TokenCell's Sync).
        unsafe { &*self.cell.data.get() }
    }
}

impl<T> core::ops::DerefMut for TokenCellGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in deref; &mut self makes the access unique on this thread.
        unsafe { &mut *self.cell.data.get() }
    }
}

impl<T> Drop for TokenCellGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: our own token stack.
        unsafe { (*curthread().toks()).cell_guards -= 1 };
    }
}
