//! The terminal line discipline (DragonFly's kern/tty.c `ttyinput`/`ttread`/`ttwrite`,
//! Linux's n_tty, whose behaviour is the reference): a [`Tty`] holds the termios, the window
//! size, the foreground process group and fixed input queues, and turns received bytes into
//! what `read` returns and what is echoed.
//!
//! Input arrives through [`Tty::input`], which interrupt handlers call (no allocation, no
//! sleeping: the queues are fixed arrays inside the `Tty`); it edits the current line in
//! canonical mode (ERASE, KILL, WERASE, LNEXT, REPRINT, EOF, EOL, EOL2), echoes through the
//! output processing (ECHOCTL renders control characters as `^X`, ONLCR turns NL into
//! CR-NL), raises INTR/QUIT/SUSP as signals due to the foreground process group (ISIG, see
//! [`Tty::signal_due`]), handles IXON start/stop, then wakes readers and posts readiness.
//! [`Tty::read`] returns one line at most in canonical mode, and follows VMIN/VTIME
//! otherwise; [`Tty::write`] applies OPOST processing; [`Tty::ioctl`] answers the tty
//! requests with the arguments in user memory.
//!
//! Locking: one spinlock over the state; echo and output go to the tty's output function
//! while it is held (so the order is tty lock, then the console lock; nothing takes them the
//! other way round). User memory is touched only with no lock held.
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::event::KnList;
use crate::lwkt::clock::HZ;
use crate::lwkt::sleep::{ident_of, tsleep, tsleep_interlock, wakeup, PCATCH, PINTERLOCKED};
use crate::sync::spinlock::SpinLock;
use abi::errno::{EAGAIN, EINTR, EINVAL, ENOTTY, EWOULDBLOCK};
use abi::poll::{POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use abi::termios::*;
use alloc::boxed::Box;
use core::sync::atomic::{AtomicU64, Ordering};

/// Input buffer size (Linux's N_TTY_BUF_SIZE): completed input waiting for readers.
pub const INPUT_SIZE: usize = 4096;
/// Longest line being edited in canonical mode (one byte is kept for the newline).
pub const LINE_MAX: usize = 4096;
/// Completed lines that may wait for a reader at once.
const MAX_LINES: usize = 256;

/// SIGINT (Linux numbering).
pub const SIGINT: u32 = 2;
/// SIGQUIT.
pub const SIGQUIT: u32 = 3;
/// SIGTSTP.
pub const SIGTSTP: u32 = 20;
/// SIGWINCH.
pub const SIGWINCH: u32 = 28;

/// A fixed byte ring.
struct Ring<T: Copy + Default, const N: usize> {
    buf: [T; N],
    head: usize,
    len: usize,
}

impl<T: Copy + Default, const N: usize> Ring<T, N> {
    fn len(&self) -> usize {
        self.len
    }
    fn free(&self) -> usize {
        N - self.len
    }
    fn push(&mut self, v: T) -> bool {
        if self.len == N {
            return false;
        }
        self.buf[(self.head + self.len) % N] = v;
        self.len += 1;
        true
    }
    fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let v = self.buf[self.head];
        self.head = (self.head + 1) % N;
        self.len -= 1;
        Some(v)
    }
    fn front_mut(&mut self) -> Option<&mut T> {
        (self.len > 0).then(|| &mut self.buf[self.head])
    }
    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

/// The fixed queues (heap-allocated once, zeroed: too large for a kernel stack).
struct Queues {
    /// Input a read may take: finished lines (canonical) or every byte (non-canonical).
    readq: Ring<u8, INPUT_SIZE>,
    /// Canonical mode: the lengths of the finished lines in `readq`, oldest first; a 0 is
    /// an end of file (^D at the start of a line).
    lines: Ring<u16, MAX_LINES>,
    /// Canonical mode: the line being edited.
    line: [u8; LINE_MAX],
}

/// Everything behind the tty lock.
struct State {
    t: Termios,
    ws: WinSize,
    pgrp: i32,
    q: Box<Queues>,
    line_len: usize,
    /// Output column (tabs and erase need it).
    column: usize,
    /// The column where the line being edited started on screen.
    canon_column: usize,
    /// The previous byte was LNEXT.
    lnext: bool,
    /// Output stopped by VSTOP (IXON) or TCXONC.
    stopped: bool,
}

/// The callee for echo and output bytes (the UART for the console, a buffer in tests).
pub type OutFn = fn(&[u8]);

/// A terminal.
pub struct Tty {
    state: SpinLock<State>,
    out: OutFn,
    /// Readers sleep on this field's address.
    rwait: u8,
    /// Writers stopped by IXON sleep on this one.
    wwait: u8,
    knotes: KnList,
    /// Signals raised and not yet taken (bit n: signal n).
    sigs_due: AtomicU64,
    /// Signals raised since boot (tests).
    sigs_raised: AtomicU64,
}

/// Output processing state a chunk of output needs.
struct OutBuf {
    buf: [u8; 128],
    len: usize,
}

impl OutBuf {
    const fn new() -> Self {
        OutBuf { buf: [0; 128], len: 0 }
    }
    fn put(&mut self, b: u8, out: OutFn) {
        if self.len == self.buf.len() {
            self.flush(out);
        }
        self.buf[self.len] = b;
        self.len += 1;
    }
    fn flush(&mut self, out: OutFn) {
        if self.len > 0 {
            out(&self.buf[..self.len]);
            self.len = 0;
        }
    }
}

fn is_cntrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Columns `c` takes when echoed from column `col` (ECHOCTL: control characters as ^X).
fn echo_width(c: u8, col: usize, echoctl: bool) -> usize {
    match c {
        b'\t' => (col | 7) + 1 - col,
        0x80..=0xbf => 0, // UTF-8 continuation
        c if is_cntrl(c) => {
            if echoctl {
                2
            } else {
                0
            }
        }
        _ => 1,
    }
}

impl State {
    fn new() -> Option<Self> {
        let layout = core::alloc::Layout::new::<Queues>();
        // SAFETY: Queues has a non-zero size; all-zero bytes are a valid Queues (empty rings
        // of integers, a zeroed line), so the zeroed allocation may become its Box.
        let q = unsafe {
            let p = alloc::alloc::alloc_zeroed(layout) as *mut Queues;
            if p.is_null() {
                return None;
            }
            Box::from_raw(p)
        };
        Some(State {
            t: Termios::linux_default(),
            ws: WinSize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 },
            pgrp: 0,
            q,
            line_len: 0,
            column: 0,
            canon_column: 0,
            lnext: false,
            stopped: false,
        })
    }

    fn l(&self, f: u32) -> bool {
        self.t.c_lflag & f != 0
    }
    fn i(&self, f: u32) -> bool {
        self.t.c_iflag & f != 0
    }
    fn o(&self, f: u32) -> bool {
        self.t.c_oflag & f != 0
    }
    fn cc(&self, i: usize) -> u8 {
        self.t.c_cc[i]
    }
    /// `c` is control character `i` (a disabled one, 0, matches nothing; Linux uses
    /// _POSIX_VDISABLE = 0).
    fn is(&self, c: u8, i: usize) -> bool {
        self.cc(i) != 0 && c == self.cc(i)
    }
    fn icanon(&self) -> bool {
        self.l(ICANON)
    }

    /// One output byte through OPOST processing (Linux's do_output_char).
    fn output_char(&mut self, c: u8, ob: &mut OutBuf, out: OutFn) {
        if !self.o(OPOST) {
            ob.put(c, out);
            return;
        }
        match c {
            b'\n' => {
                if self.o(ONLRET) {
                    self.column = 0;
                }
                if self.o(ONLCR) {
                    self.column = 0;
                    ob.put(b'\r', out);
                }
                ob.put(b'\n', out);
            }
            b'\r' => {
                if self.o(ONOCR) && self.column == 0 {
                    return;
                }
                if self.o(OCRNL) {
                    if self.o(ONLRET) {
                        self.column = 0;
                    }
                    ob.put(b'\n', out);
                    return;
                }
                self.column = 0;
                ob.put(b'\r', out);
            }
            b'\t' => {
                let spaces = 8 - (self.column & 7);
                self.column += spaces;
                if self.t.c_oflag & TABDLY == XTABS {
                    for _ in 0..spaces {
                        ob.put(b' ', out);
                    }
                } else {
                    ob.put(b'\t', out);
                }
            }
            0x08 => {
                self.column = self.column.saturating_sub(1);
                ob.put(c, out);
            }
            _ => {
                let c = if self.o(OLCUC) { c.to_ascii_uppercase() } else { c };
                if !is_cntrl(c) && !(0x80..=0xbf).contains(&c) {
                    self.column += 1;
                }
                ob.put(c, out);
            }
        }
    }

    /// Echoes `c` as typed (ECHOCTL renders control characters other than TAB and NL as ^X).
    fn echo_char(&mut self, c: u8, ob: &mut OutBuf, out: OutFn) {
        if self.l(ECHOCTL) && is_cntrl(c) && c != b'\t' && c != b'\n' {
            self.output_char(b'^', ob, out);
            self.output_char(c ^ 0o100, ob, out);
        } else {
            self.output_char(c, ob, out);
        }
    }

    fn echo_str(&mut self, s: &[u8], ob: &mut OutBuf, out: OutFn) {
        for &c in s {
            self.output_char(c, ob, out);
        }
    }

    /// Before echoing the first byte of a line: remember where the line starts on screen.
    fn note_line_start(&mut self) {
        if self.line_len == 0 {
            self.canon_column = self.column;
        }
    }

    fn flush_input(&mut self) {
        self.q.readq.clear();
        self.q.lines.clear();
        self.line_len = 0;
        self.lnext = false;
    }

    /// Ends the line being edited (`c` is its delimiter, None for EOF) and makes it
    /// readable.
    fn finish_line(&mut self, c: Option<u8>) {
        let n = self.line_len;
        let total = n + c.is_some() as usize;
        if self.q.readq.free() < total || self.q.lines.free() == 0 {
            // No room: the line stays in editing (an over-full queue drops input, as
            // Linux does once its buffer is full).
            return;
        }
        for i in 0..n {
            self.q.readq.push(self.q.line[i]);
        }
        if let Some(c) = c {
            self.q.readq.push(c);
        }
        self.q.lines.push(total as u16);
        self.line_len = 0;
    }

    /// Room for one more byte in the line: the line and the completed input must both fit
    /// in the input queue, with a byte kept for the delimiter.
    fn line_has_room(&self) -> bool {
        self.line_len + 1 < LINE_MAX && self.line_len + 2 <= self.q.readq.free()
    }

    /// ERASE, WERASE or KILL (Linux's eraser()).
    fn erase(&mut self, c: u8, ob: &mut OutBuf, out: OutFn) {
        if self.line_len == 0 {
            return;
        }
        let kill = self.is(c, VKILL);
        let werase = !kill && self.l(IEXTEN) && self.is(c, VWERASE);
        if kill {
            if !self.l(ECHO) {
                self.line_len = 0;
                return;
            }
            if !self.l(ECHOK) || !self.l(ECHOKE) || !self.l(ECHOE) {
                self.line_len = 0;
                self.echo_char(c, ob, out);
                if self.l(ECHOK) {
                    self.output_char(b'\n', ob, out);
                }
                return;
            }
        }
        let mut seen_word = false;
        while self.line_len > 0 {
            let last = self.q.line[self.line_len - 1];
            if werase {
                if is_word(last) {
                    seen_word = true;
                } else if seen_word {
                    break;
                }
            }
            // One character: with IUTF8 a lead byte and its continuation bytes.
            let mut start = self.line_len - 1;
            if self.i(IUTF8) {
                while start > 0 && (0x80..=0xbf).contains(&self.q.line[start]) {
                    start -= 1;
                }
            }
            self.line_len = start;
            if self.l(ECHO) {
                if !kill && !werase && !self.l(ECHOE) {
                    let e = self.cc(VERASE);
                    self.echo_char(e, ob, out);
                } else if last == b'\t' {
                    // Back to where the rest of the line ends on screen.
                    let echoctl = self.l(ECHOCTL);
                    let col = self.q.line[..self.line_len]
                        .iter()
                        .fold(self.canon_column, |col, &b| col + echo_width(b, col, echoctl));
                    let back = self.column.saturating_sub(col);
                    for _ in 0..back {
                        self.output_char(0x08, ob, out);
                    }
                } else {
                    let w = if is_cntrl(last) {
                        if self.l(ECHOCTL) {
                            2
                        } else {
                            0
                        }
                    } else {
                        1
                    };
                    for _ in 0..w {
                        self.echo_str(b"\x08 \x08", ob, out);
                    }
                }
            }
            if !kill && !werase {
                break;
            }
        }
    }

    /// Reprints the line being edited (VREPRINT).
    fn reprint(&mut self, c: u8, ob: &mut OutBuf, out: OutFn) {
        self.echo_char(c, ob, out);
        self.output_char(b'\n', ob, out);
        self.canon_column = self.column;
        for i in 0..self.line_len {
            let b = self.q.line[i];
            self.echo_char(b, ob, out);
        }
    }

    /// One received byte. Returns a signal to raise, if the byte was an ISIG character.
    fn input_char(&mut self, mut c: u8, ob: &mut OutBuf, out: OutFn) -> Option<u32> {
        if self.i(ISTRIP) {
            c &= 0x7f;
        }
        if self.i(IUCLC) && self.l(IEXTEN) {
            c = c.to_ascii_lowercase();
        }
        if self.lnext {
            self.lnext = false;
            // The echo overwrites the "^" LNEXT left under the cursor.
            self.store_char(c, ob, out);
            return None;
        }
        if self.i(IXON) {
            if self.is(c, VSTOP) {
                self.stopped = true;
                return None;
            }
            if self.is(c, VSTART) {
                self.stopped = false;
                return None;
            }
            if self.i(IXANY) {
                self.stopped = false;
            }
        }
        if c == b'\r' {
            if self.i(IGNCR) {
                return None;
            }
            if self.i(ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && self.i(INLCR) {
            c = b'\r';
        }
        if self.l(ISIG) {
            let sig = if self.is(c, VINTR) {
                Some(SIGINT)
            } else if self.is(c, VQUIT) {
                Some(SIGQUIT)
            } else if self.is(c, VSUSP) {
                Some(SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                if !self.l(NOFLSH) {
                    self.flush_input();
                }
                if self.l(ECHO) {
                    self.echo_char(c, ob, out);
                }
                return Some(sig);
            }
        }
        if self.icanon() {
            if self.is(c, VERASE) || self.is(c, VKILL) || (self.l(IEXTEN) && self.is(c, VWERASE)) {
                self.erase(c, ob, out);
                return None;
            }
            if self.l(IEXTEN) && self.is(c, VLNEXT) {
                self.lnext = true;
                if self.l(ECHO) && self.l(ECHOCTL) {
                    self.note_line_start();
                    self.echo_str(b"^\x08", ob, out);
                }
                return None;
            }
            if self.l(IEXTEN) && self.l(ECHO) && self.is(c, VREPRINT) {
                self.reprint(c, ob, out);
                return None;
            }
            if c == b'\n' {
                if self.l(ECHO) || self.l(ECHONL) {
                    self.output_char(b'\n', ob, out);
                }
                self.finish_line(Some(c));
                return None;
            }
            if self.is(c, VEOF) {
                self.finish_line(None);
                return None;
            }
            if self.is(c, VEOL) || (self.l(IEXTEN) && self.is(c, VEOL2)) {
                if self.l(ECHO) {
                    self.note_line_start();
                    self.echo_char(c, ob, out);
                }
                self.finish_line(Some(c));
                return None;
            }
        }
        self.store_char(c, ob, out);
        None
    }

    /// Queues an ordinary byte (canonical: into the line; otherwise readable at once) and
    /// echoes it.
    fn store_char(&mut self, c: u8, ob: &mut OutBuf, out: OutFn) {
        if self.icanon() {
            if !self.line_has_room() {
                return;
            }
            if self.l(ECHO) {
                self.note_line_start();
                self.echo_char(c, ob, out);
            }
            self.q.line[self.line_len] = c;
            self.line_len += 1;
        } else {
            if !self.q.readq.push(c) {
                return;
            }
            if self.l(ECHO) {
                self.echo_char(c, ob, out);
            }
        }
    }

    /// Readable now: a finished line (canonical) or any byte.
    fn readable(&self) -> bool {
        if self.icanon() {
            self.q.lines.len() > 0
        } else {
            self.q.readq.len() > 0
        }
    }

    /// A new termios (TCSETS): switching canonical mode off makes the line being edited
    /// readable; switching it on makes the bytes already readable one line.
    fn set_termios(&mut self, t: Termios) {
        let was_canon = self.icanon();
        self.t = t;
        let canon = self.icanon();
        if was_canon && !canon {
            for i in 0..self.line_len {
                if !self.q.readq.push(self.q.line[i]) {
                    break;
                }
            }
            self.line_len = 0;
            self.q.lines.clear();
            self.lnext = false;
        } else if !was_canon && canon && self.q.readq.len() > 0 {
            self.q.lines.clear();
            self.q.lines.push(self.q.readq.len() as u16);
        }
        if !self.i(IXON) {
            self.stopped = false;
        }
    }
}

impl Tty {
    /// A terminal with Linux's default termios and an 80x24 window whose echo and output go
    /// to `out`; None when memory for its queues is short.
    pub fn new(out: OutFn) -> Option<Tty> {
        Some(Tty {
            state: SpinLock::new(State::new()?),
            out,
            rwait: 0,
            wwait: 0,
            knotes: KnList::new(),
            sigs_due: AtomicU64::new(0),
            sigs_raised: AtomicU64::new(0),
        })
    }

    /// Received bytes (the interrupt handler's entry; also how tests type): line editing,
    /// echo, signals, flow control; then readers are woken and readiness is posted. Never
    /// allocates or sleeps.
    pub fn input(&self, bytes: &[u8]) {
        let mut ob = OutBuf::new();
        let (readable, restarted) = {
            let mut s = self.state.lock();
            if s.t.c_cflag & CREAD == 0 {
                return;
            }
            let was_stopped = s.stopped;
            for &c in bytes {
                if let Some(sig) = s.input_char(c, &mut ob, self.out) {
                    self.signal_due(sig);
                }
            }
            ob.flush(self.out);
            (s.readable(), was_stopped && !s.stopped)
        };
        if readable {
            wakeup(ident_of(&self.rwait));
            self.knotes.post(POLLIN | POLLRDNORM);
        }
        if restarted {
            wakeup(ident_of(&self.wwait));
            self.knotes.post(POLLOUT | POLLWRNORM);
        }
    }

    /// The line discipline raised `sig` for the foreground process group (ISIG characters,
    /// SIGWINCH on a window change): recorded here and handed to `tty::signals`, whose
    /// thread sends it to [`pgrp`](Self::pgrp) (interrupt context cannot).
    pub fn signal_due(&self, sig: u32) {
        if (1..64).contains(&sig) {
            self.sigs_due.fetch_or(1 << sig, Ordering::AcqRel);
            self.sigs_raised.fetch_add(1, Ordering::Relaxed);
            wakeup(ident_of(self.signal_channel()));
        }
    }

    /// What the signal sender sleeps on.
    pub fn signal_channel(&self) -> &AtomicU64 {
        &self.sigs_due
    }

    /// Signals raised since the last call (bit n: signal n), cleared.
    pub fn take_signals_due(&self) -> u64 {
        self.sigs_due.swap(0, Ordering::AcqRel)
    }

    /// The foreground process group (TIOCGPGRP; 0: none yet).
    pub fn pgrp(&self) -> i32 {
        self.state.lock().pgrp
    }

    /// Sets the foreground process group (TIOCSPGRP, or the process layer when a session
    /// leader takes the terminal).
    pub fn set_pgrp(&self, pgrp: i32) {
        self.state.lock().pgrp = pgrp;
    }

    /// The current termios.
    pub fn termios(&self) -> Termios {
        self.state.lock().t
    }

    /// Sets the termios (TCSETS).
    pub fn set_termios(&self, t: Termios) {
        let readable = {
            let mut s = self.state.lock();
            s.set_termios(t);
            s.readable()
        };
        if readable {
            wakeup(ident_of(&self.rwait));
            self.knotes.post(POLLIN | POLLRDNORM);
        }
        wakeup(ident_of(&self.wwait));
    }

    /// Discards pending input (TCFLSH TCIFLUSH, TCSETSF).
    pub fn flush_input(&self) {
        self.state.lock().flush_input();
    }

    /// The readiness knotes (poll, select, epoll).
    pub fn knlist(&self) -> &KnList {
        &self.knotes
    }

    /// Which of `events` are true now: readable with a finished line (canonical) or any byte,
    /// writable unless output is stopped.
    pub fn poll(&self, events: u16) -> u16 {
        let s = self.state.lock();
        let mut ready = 0;
        if s.readable() {
            ready |= POLLIN | POLLRDNORM;
        }
        if !s.stopped {
            ready |= POLLOUT | POLLWRNORM;
        }
        events & ready
    }

    /// Copies readable input into `buf`: in canonical mode at most one line (0 at an end of
    /// file), otherwise per VMIN/VTIME. Sleeps unless `nonblock` (then EAGAIN instead).
    pub fn read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, i32> {
        if buf.is_empty() {
            return Ok(0);
        }
        let ident = ident_of(&self.rwait);
        // Non-canonical timing: the deadline (in ns) and how much input it was set for.
        let mut deadline: Option<u64> = None;
        let mut seen = 0usize;
        loop {
            let mut s = self.state.lock();
            if s.icanon() {
                let front = s.q.lines.front_mut().map(|n| *n);
                if let Some(n) = front {
                    let take = (n as usize).min(buf.len());
                    for b in buf.iter_mut().take(take) {
                        *b = s.q.readq.pop().unwrap_or(0);
                    }
                    let left = n as usize - take;
                    if left == 0 {
                        s.q.lines.pop();
                    } else if let Some(f) = s.q.lines.front_mut() {
                        *f = left as u16;
                    }
                    return Ok(take);
                }
                if nonblock {
                    return Err(EAGAIN);
                }
                tsleep_interlock(ident);
                drop(s);
                if tsleep(ident, PINTERLOCKED | PCATCH, "ttyin", 0) == Err(EINTR) {
                    return Err(EINTR);
                }
                continue;
            }
            let vmin = s.cc(VMIN) as usize;
            let vtime = s.cc(VTIME) as u64;
            let avail = s.q.readq.len();
            let want = vmin.min(buf.len());
            let now = crate::time::nanotime();
            let timer_ns = vtime * 100_000_000;
            // VTIME with VMIN=0 is a total timeout from the call; with VMIN>0 an
            // inter-byte timeout that starts with the first byte.
            if vtime > 0 {
                if vmin == 0 {
                    deadline.get_or_insert(now + timer_ns);
                } else if avail > seen {
                    // Restarted by every byte that arrives.
                    deadline = Some(now + timer_ns);
                }
            }
            seen = avail;
            let expired = deadline.is_some_and(|d| now >= d);
            let done = if vmin == 0 {
                avail > 0 || vtime == 0 || expired
            } else {
                avail >= want || (avail > 0 && expired)
            };
            if done || (nonblock && avail > 0) {
                let take = avail.min(buf.len());
                for b in buf.iter_mut().take(take) {
                    *b = s.q.readq.pop().unwrap_or(0);
                }
                return Ok(take);
            }
            if nonblock {
                return Err(EAGAIN);
            }
            tsleep_interlock(ident);
            drop(s);
            let timo = match deadline {
                Some(d) => (d.saturating_sub(now).saturating_mul(HZ)).div_ceil(1_000_000_000).max(1),
                None => 0,
            };
            match tsleep(ident, PINTERLOCKED | PCATCH, "ttyin", timo) {
                Ok(()) | Err(EWOULDBLOCK) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes `buf` through OPOST processing. While output is stopped (IXON), sleeps, or
    /// returns what was written so far (EAGAIN if nothing) when `nonblock`.
    pub fn write(&self, buf: &[u8], nonblock: bool) -> Result<usize, i32> {
        let ident = ident_of(&self.wwait);
        let mut done = 0;
        while done < buf.len() {
            let mut s = self.state.lock();
            if s.stopped {
                if nonblock {
                    return if done > 0 { Ok(done) } else { Err(EAGAIN) };
                }
                tsleep_interlock(ident);
                drop(s);
                if tsleep(ident, PINTERLOCKED | PCATCH, "ttyout", 0) == Err(EINTR) {
                    return if done > 0 { Ok(done) } else { Err(EINTR) };
                }
                continue;
            }
            let end = (done + 64).min(buf.len());
            let mut ob = OutBuf::new();
            for &c in &buf[done..end] {
                s.output_char(c, &mut ob, self.out);
            }
            ob.flush(self.out);
            drop(s);
            done = end;
        }
        Ok(done)
    }

    /// Bytes a read could take now (FIONREAD).
    pub fn input_count(&self) -> usize {
        self.state.lock().q.readq.len()
    }

    /// The window size.
    pub fn winsize(&self) -> WinSize {
        self.state.lock().ws
    }

    /// Sets the window size; a change raises SIGWINCH for the foreground group.
    pub fn set_winsize(&self, ws: WinSize) {
        let changed = {
            let mut s = self.state.lock();
            let changed = s.ws != ws;
            s.ws = ws;
            changed
        };
        if changed {
            self.signal_due(SIGWINCH);
        }
    }

    /// The tty ioctls (Linux numbering); `arg` is a user address for the requests that take
    /// a structure. EFAULT for a bad address, EINVAL for a bad value, ENOTTY for a request
    /// a terminal does not answer.
    pub fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64, i32> {
        match cmd {
            TCGETS => {
                copyout(arg, &self.termios().to_bytes())?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF => {
                let mut b = [0u8; TERMIOS_SIZE];
                copyin(&mut b, arg)?;
                // Output is synchronous: there is never anything to drain (TCSETSW).
                if cmd == TCSETSF {
                    self.flush_input();
                }
                self.set_termios(Termios::from_bytes(&b));
                Ok(0)
            }
            TIOCGWINSZ => {
                copyout(arg, &self.winsize().to_bytes())?;
                Ok(0)
            }
            TIOCSWINSZ => {
                let mut b = [0u8; WINSIZE_SIZE];
                copyin(&mut b, arg)?;
                self.set_winsize(WinSize::from_bytes(&b));
                Ok(0)
            }
            FIONREAD => {
                let n = self.input_count() as u32;
                copyout(arg, &n.to_le_bytes())?;
                Ok(0)
            }
            TIOCOUTQ => {
                copyout(arg, &0u32.to_le_bytes())?;
                Ok(0)
            }
            TIOCGPGRP => {
                copyout(arg, &self.pgrp().to_le_bytes())?;
                Ok(0)
            }
            TIOCSPGRP => {
                let mut b = [0u8; 4];
                copyin(&mut b, arg)?;
                let pgrp = i32::from_le_bytes(b);
                if pgrp < 0 {
                    return Err(EINVAL);
                }
                self.set_pgrp(pgrp);
                Ok(0)
            }
            TCFLSH => match arg {
                TCIFLUSH | TCIOFLUSH => {
                    self.flush_input();
                    Ok(0)
                }
                TCOFLUSH => Ok(0),
                _ => Err(EINVAL),
            },
            // Output is synchronous: draining (and a break, which a console has no use
            // for) is done at once.
            TCSBRK => Ok(0),
            TCXONC => {
                let stop = match arg {
                    0 => true,             // TCOOFF
                    1 => false,            // TCOON
                    2 | 3 => return Ok(0), // TCIOFF/TCION: no input flow control
                    _ => return Err(EINVAL),
                };
                self.state.lock().stopped = stop;
                if !stop {
                    wakeup(ident_of(&self.wwait));
                    self.knotes.post(POLLOUT | POLLWRNORM);
                }
                Ok(0)
            }
            _ => Err(ENOTTY),
        }
    }

    /// Signals raised since boot (tests).
    pub fn signals_raised(&self) -> u64 {
        self.sigs_raised.load(Ordering::Relaxed)
    }
}
