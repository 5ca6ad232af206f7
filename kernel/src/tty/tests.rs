//! Line discipline tests: bytes are fed through [`Tty::input`] exactly as the receive
//! interrupt feeds them; echo and output land in a capture buffer. The last test sends bytes
//! through the real UART in loopback mode and its interrupt.
use super::ldisc::{Tty, SIGINT, SIGQUIT, SIGTSTP, SIGWINCH};
use crate::arch::x86_64::copyio::{copyin, copyout};
use crate::ktest::Failure;
use crate::lwkt::sched::{create, yield_now};
use crate::lwkt::thread::pri;
use crate::sync::spinlock::SpinLock;
use crate::vm::mmap::mmap_anon;
use crate::vm::VmSpace;
use crate::{kassert, kassert_eq, ktest};
use abi::errno::*;
use abi::termios::*;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

/// What the test ttys wrote (echo and output).
static CAPTURE: SpinLock<([u8; 2048], usize)> = SpinLock::new(([0; 2048], 0));

fn capture(b: &[u8]) {
    let mut c = CAPTURE.lock();
    let (buf, len) = &mut *c;
    let n = b.len().min(buf.len() - *len);
    buf[*len..*len + n].copy_from_slice(&b[..n]);
    *len += n;
}

/// The captured output since the last call.
fn output() -> Vec<u8> {
    let mut c = CAPTURE.lock();
    let v = c.0[..c.1].to_vec();
    c.1 = 0;
    v
}

fn tty() -> Result<Arc<Tty>, Failure> {
    let t = Tty::new(capture).ok_or("no memory for a tty")?;
    output();
    Ok(Arc::new(t))
}

fn read_now(t: &Tty, n: usize) -> Result<Vec<u8>, i32> {
    let mut buf = alloc::vec![0u8; n];
    let got = t.read(&mut buf, true)?;
    buf.truncate(got);
    Ok(buf)
}

fn show(b: &[u8]) -> alloc::string::String {
    format!("{:?}", alloc::string::String::from_utf8_lossy(b))
}

ktest! {
    /// Canonical input: nothing is readable before the newline; ERASE, KILL and WERASE
    /// edit the line; CR becomes NL (ICRNL); a read takes at most one line and may take it
    /// in pieces; ^D ends a line without a newline, and alone gives end of file.
    fn canonical_editing() {
        let t = tty()?;
        t.input(b"abc");
        kassert_eq!(read_now(&t, 64), Err(EAGAIN));
        kassert_eq!(t.input_count(), 0);
        t.input(b"\x7f");
        t.input(b"d\n");
        kassert_eq!(read_now(&t, 64), Ok(b"abd\n".to_vec()));
        t.input(b"junk\x15hello wor\x17ld\r");
        kassert_eq!(read_now(&t, 64), Ok(b"hello ld\n".to_vec()));
        t.input(b"first\nsecond\n");
        kassert_eq!(t.input_count(), 13);
        kassert_eq!(read_now(&t, 64), Ok(b"first\n".to_vec()));
        kassert_eq!(read_now(&t, 3), Ok(b"sec".to_vec()));
        kassert_eq!(read_now(&t, 64), Ok(b"ond\n".to_vec()));
        t.input(b"abc\x04");
        kassert_eq!(read_now(&t, 64), Ok(b"abc".to_vec()));
        t.input(b"\x04");
        kassert_eq!(read_now(&t, 64), Ok(Vec::new()));
        kassert_eq!(read_now(&t, 64), Err(EAGAIN));
        // Erasing past the start of the line does nothing; LNEXT quotes an erase.
        t.input(b"\x7f\x7fx\x16\x7f\n");
        kassert_eq!(read_now(&t, 64), Ok(b"x\x7f\n".to_vec()));
        // A full line drops further input but still takes the newline.
        let long = alloc::vec![b'y'; 5000];
        t.input(&long);
        t.input(b"\n");
        let got = read_now(&t, 8192).map_err(|e| format!("read {e}"))?;
        kassert!(got.len() <= 4096 && got.len() > 4000 && got.ends_with(b"\n"), "long line {}", got.len());
        Ok(())
    }
}

ktest! {
    /// Echo goes through output processing: NL as CR-NL (ONLCR), control characters as ^X
    /// (ECHOCTL), erase as backspace-space-backspace (two for a ^X), kill erasing the line
    /// (ECHOKE), ^D not echoed; without ECHO nothing but ECHONL's newline; written output
    /// gets ONLCR too, and none without OPOST.
    fn echo_rendering() {
        let t = tty()?;
        t.input(b"a\x01\r");
        kassert_eq!(show(&output()), show(b"a^A\r\n"));
        t.input(b"ab\x7f\x01\x7f\x04");
        kassert_eq!(show(&output()), show(b"ab\x08 \x08^A\x08 \x08\x08 \x08"));
        t.input(b"xy\x15");
        kassert_eq!(show(&output()), show(b"xy\x08 \x08\x08 \x08"));
        // A tab is erased back to where the text before it ended.
        t.input(b"\nab\t\x7f");
        kassert_eq!(show(&output()), show(b"\r\nab\t\x08\x08\x08\x08\x08\x08"));
        kassert_eq!(t.write(b"x\ny", false), Ok(3));
        kassert_eq!(show(&output()), show(b"x\r\ny"));
        let mut tm = t.termios();
        tm.c_lflag &= !ECHO;
        tm.c_lflag |= ECHONL;
        t.set_termios(tm);
        t.input(b"secret\n");
        kassert_eq!(show(&output()), show(b"\r\n"));
        tm.c_oflag &= !OPOST;
        t.set_termios(tm);
        kassert_eq!(t.write(b"x\ny", false), Ok(3));
        kassert_eq!(show(&output()), show(b"x\ny"));
        Ok(())
    }
}

ktest! {
    /// Non-canonical input: VMIN=0 VTIME=0 returns at once (0 bytes, even when blocking);
    /// VMIN=0 VTIME=2 waits about 0.2 s; VMIN=1 blocks until a byte arrives, which wakes
    /// the reader; O_NONBLOCK gives EAGAIN; the edited line becomes readable on the switch.
    fn noncanonical_vmin_vtime() {
        let t = tty()?;
        t.input(b"par");
        let mut tm = t.termios();
        tm.c_lflag &= !(ICANON | ECHO);
        tm.c_cc[VMIN] = 0;
        tm.c_cc[VTIME] = 0;
        t.set_termios(tm);
        let mut buf = [0u8; 8];
        kassert_eq!(t.read(&mut buf, false), Ok(3));
        kassert_eq!(&buf[..3], b"par");
        kassert_eq!(t.read(&mut buf, false), Ok(0));
        kassert_eq!(t.read(&mut buf, true), Ok(0));
        tm.c_cc[VTIME] = 2;
        t.set_termios(tm);
        let t0 = crate::time::nanotime();
        kassert_eq!(t.read(&mut buf, false), Ok(0));
        let waited = crate::time::nanotime() - t0;
        kassert!((150_000_000..2_000_000_000).contains(&waited), "VTIME=2 waited {} ns", waited);
        tm.c_cc[VMIN] = 1;
        tm.c_cc[VTIME] = 0;
        t.set_termios(tm);
        kassert_eq!(t.read(&mut buf, true), Err(EAGAIN));
        let state = Arc::new(AtomicUsize::new(0));
        let (s, t2) = (state.clone(), t.clone());
        create("t-ttyread", pri::KERN_DAEMON, None, move || {
            s.store(1, Ordering::Release);
            let mut b = [0u8; 8];
            let r = t2.read(&mut b, false);
            s.store(if r == Ok(1) && b[0] == b'z' { 2 } else { 3 }, Ordering::Release);
        })
        .ok_or("create failed")?;
        for _ in 0..10_000 {
            if state.load(Ordering::Acquire) != 0 {
                break;
            }
            yield_now();
        }
        for _ in 0..50 {
            yield_now();
        }
        kassert_eq!(state.load(Ordering::Acquire), 1);
        t.input(b"z");
        let t0 = crate::time::nanotime();
        while state.load(Ordering::Acquire) == 1 && crate::time::nanotime() - t0 < 2_000_000_000 {
            yield_now();
        }
        kassert_eq!(state.load(Ordering::Acquire), 2);
        // VMIN=3: a non-blocking read takes what there is.
        tm.c_cc[VMIN] = 3;
        t.set_termios(tm);
        t.input(b"ab");
        kassert_eq!(t.read(&mut buf, true), Ok(2));
        Ok(())
    }
}

ktest! {
    /// ISIG: ^C records SIGINT for the foreground group, discards the pending line and
    /// echoes ^C; ^\ and ^Z give SIGQUIT and SIGTSTP; NOFLSH keeps the line; without ISIG ^C
    /// is data.
    fn isig_records_signals() {
        let t = tty()?;
        t.input(b"doomed\x03");
        kassert_eq!(t.take_signals_due(), 1 << SIGINT);
        kassert_eq!(show(&output()), show(b"doomed^C"));
        t.input(b"kept\n");
        kassert_eq!(read_now(&t, 64), Ok(b"kept\n".to_vec()));
        t.input(b"\x1c\x1a");
        kassert_eq!(t.take_signals_due(), (1 << SIGQUIT) | (1 << SIGTSTP));
        let mut tm = t.termios();
        tm.c_lflag |= NOFLSH;
        t.set_termios(tm);
        t.input(b"ab\x03c\n");
        kassert_eq!(read_now(&t, 64), Ok(b"abc\n".to_vec()));
        tm.c_lflag &= !ISIG;
        t.set_termios(tm);
        t.input(b"\x03\n");
        kassert_eq!(read_now(&t, 64), Ok(b"\x03\n".to_vec()));
        kassert_eq!(t.take_signals_due(), 1 << SIGINT);
        kassert_eq!(t.take_signals_due(), 0);
        kassert_eq!(t.signals_raised(), 4);
        Ok(())
    }
}

ktest! {
    /// IXON: ^S stops output (a non-blocking write says EAGAIN, poll not writable), ^Q
    /// restarts it; neither is input.
    fn ixon_flow_control() {
        let t = tty()?;
        t.input(b"\x13");
        kassert_eq!(t.write(b"x", true), Err(EAGAIN));
        kassert_eq!(t.poll(abi::poll::POLLOUT), 0);
        t.input(b"\x11a\n");
        kassert_eq!(t.write(b"x", true), Ok(1));
        kassert_eq!(read_now(&t, 8), Ok(b"a\n".to_vec()));
        kassert_eq!(t.poll(abi::poll::POLLIN | abi::poll::POLLOUT), abi::poll::POLLOUT);
        Ok(())
    }
}

ktest! {
    /// The ioctls through user memory: TCGETS gives Linux's 36-byte default termios, TCSETS
    /// changes it, TCSETSF also discards input; TIOCGWINSZ is 80x24 and TIOCSWINSZ raises
    /// SIGWINCH; FIONREAD, TIOCSPGRP/TIOCGPGRP; EFAULT for bad pointers, ENOTTY for an
    /// unknown request and for tty requests on a pipe.
    fn ioctls_through_user_memory() {
        let t = tty()?;
        let vs = VmSpace::new().map_err(|e| format!("vmspace {e}"))?;
        let ua = mmap_anon(&vs, 0, 4096, abi::mman::PROT_READ | abi::mman::PROT_WRITE, abi::mman::MAP_PRIVATE | abi::mman::MAP_ANONYMOUS)
            .map_err(|e| format!("mmap {e}"))?;
        vs.activate();
        let r = (|| -> crate::ktest::Outcome {
            kassert_eq!(t.ioctl(TCGETS, ua), Ok(0));
            let mut b = [0u8; TERMIOS_SIZE];
            copyin(&mut b, ua).map_err(|e| format!("copyin {e}"))?;
            kassert_eq!(Termios::from_bytes(&b), Termios::linux_default());
            kassert_eq!(u32::from_le_bytes([b[12], b[13], b[14], b[15]]), 0o105073);
            let mut raw = Termios::linux_default();
            raw.c_lflag &= !(ICANON | ECHO);
            raw.c_cc[VMIN] = 5;
            copyout(ua + 100, &raw.to_bytes()).map_err(|e| format!("copyout {e}"))?;
            kassert_eq!(t.ioctl(TCSETS, ua + 100), Ok(0));
            kassert_eq!(t.termios(), raw);
            kassert_eq!(t.ioctl(TCGETS, ua + 200), Ok(0));
            copyin(&mut b, ua + 200).map_err(|e| format!("copyin {e}"))?;
            kassert_eq!(b[17 + VMIN], 5);
            t.input(b"xyz");
            kassert_eq!(t.ioctl(FIONREAD, ua + 300), Ok(0));
            let mut n = [0u8; 4];
            copyin(&mut n, ua + 300).map_err(|e| format!("copyin {e}"))?;
            kassert_eq!(u32::from_le_bytes(n), 3);
            kassert_eq!(t.ioctl(TCSETSF, ua), Ok(0));
            kassert_eq!(t.input_count(), 0);
            kassert_eq!(t.termios(), Termios::linux_default());
            kassert_eq!(t.ioctl(TIOCGWINSZ, ua + 400), Ok(0));
            let mut w = [0u8; WINSIZE_SIZE];
            copyin(&mut w, ua + 400).map_err(|e| format!("copyin {e}"))?;
            kassert_eq!(WinSize::from_bytes(&w), WinSize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 });
            let big = WinSize { ws_row: 50, ws_col: 132, ws_xpixel: 0, ws_ypixel: 0 };
            copyout(ua + 400, &big.to_bytes()).map_err(|e| format!("copyout {e}"))?;
            t.take_signals_due();
            kassert_eq!(t.ioctl(TIOCSWINSZ, ua + 400), Ok(0));
            kassert_eq!(t.winsize(), big);
            kassert_eq!(t.take_signals_due(), 1 << SIGWINCH);
            copyout(ua + 500, &42i32.to_le_bytes()).map_err(|e| format!("copyout {e}"))?;
            kassert_eq!(t.ioctl(TIOCSPGRP, ua + 500), Ok(0));
            kassert_eq!(t.ioctl(TIOCGPGRP, ua + 504), Ok(0));
            copyin(&mut n, ua + 504).map_err(|e| format!("copyin {e}"))?;
            kassert_eq!(i32::from_le_bytes(n), 42);
            copyout(ua + 500, &(-3i32).to_le_bytes()).map_err(|e| format!("copyout {e}"))?;
            kassert_eq!(t.ioctl(TIOCSPGRP, ua + 500), Err(EINVAL));
            // Bad pointers: unmapped, past the page, kernel addresses.
            kassert_eq!(t.ioctl(TCGETS, 0x10), Err(EFAULT));
            kassert_eq!(t.ioctl(TCSETS, ua + 4096 - 8), Err(EFAULT));
            kassert_eq!(t.ioctl(TIOCGWINSZ, 0xffff_8000_0000_0000), Err(EFAULT));
            kassert_eq!(t.termios(), Termios::linux_default());
            kassert_eq!(t.ioctl(0x5499, ua), Err(ENOTTY));
            kassert_eq!(t.ioctl(0x4004_6601, ua), Err(ENOTTY));
            let (rd, _wr) = crate::vfs::file::pipe_pair(0).map_err(|e| format!("pipe {e}"))?;
            kassert_eq!(rd.ioctl(TCGETS, ua), Err(ENOTTY));
            Ok(())
        })();
        VmSpace::deactivate();
        r
    }
}

ktest! {
    /// /dev/console goes through the console tty: with echo off, input typed into the
    /// console tty is read back a line at a time through the device, poll reports it, and
    /// the device answers TCGETS-family requests (the lead's file layer reaches the same
    /// driver); its knotes are there for poll to sleep on.
    fn console_device_uses_tty() {
        let tty = super::console_tty().ok_or("no console tty")?;
        let d = crate::dev::by_name(b"console").ok_or("no console device")?;
        let saved = tty.termios();
        let mut tm = saved;
        tm.c_lflag &= !ECHO;
        tty.set_termios(tm);
        tty.flush_input();
        tty.input(b"typed\r");
        let poll_in = d.ops.poll(abi::poll::POLLIN);
        let mut buf = [0u8; 16];
        let r = d.ops.read(0, &mut buf, crate::dev::ops::O_NONBLOCK);
        let again = d.ops.read(0, &mut buf[8..], crate::dev::ops::O_NONBLOCK);
        let has_knotes = d.ops.knlist().is_some();
        let unknown = d.ops.ioctl(0x5499, 0, 0);
        tty.set_termios(saved);
        kassert_eq!(poll_in, abi::poll::POLLIN);
        kassert_eq!(r, Ok(6));
        kassert_eq!(&buf[..6], b"typed\n");
        kassert_eq!(again, Err(EAGAIN));
        kassert!(has_knotes, "console device without knotes");
        kassert_eq!(unknown, Err(ENOTTY));
        Ok(())
    }
}

ktest! {
    /// The real receive path: bytes sent in UART loopback mode raise IRQ 4, which the IOAPIC
    /// delivers to the console's vector; the handler moves them into the console tty, and a
    /// raw-mode read returns them unchanged.
    fn serial_interrupt_feeds_console_tty() {
        let Some(v) = super::console::rx_vector() else {
            crate::kprintln!("# serial_interrupt_feeds_console_tty: no receive interrupt, skipped");
            return Ok(());
        };
        let tty = super::console_tty().ok_or("no console tty")?;
        let saved = tty.termios();
        let mut raw = saved;
        raw.c_lflag &= !(ICANON | ECHO | ISIG);
        raw.c_iflag &= !(ICRNL | IXON);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 5;
        tty.set_termios(raw);
        tty.flush_input();
        let count = || (0..crate::lwkt::globaldata::ncpus()).map(|c| crate::arch::x86_64::intr::count(c, v)).sum::<u64>();
        let (irqs, bytes) = (count(), super::console::RX_BYTES.load(Ordering::Relaxed));
        let sent = b"q\x03\rz";
        super::console::loopback_inject(sent);
        let mut got = Vec::new();
        let t0 = crate::time::nanotime();
        while got.len() < sent.len() && crate::time::nanotime() - t0 < 3_000_000_000 {
            let mut buf = [0u8; 8];
            match tty.read(&mut buf, false) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => {
                    tty.set_termios(saved);
                    return Err(format!("read {e}").into());
                }
            }
        }
        tty.set_termios(saved);
        kassert_eq!(show(&got), show(sent));
        kassert!(count() > irqs, "no interrupt on vector {:#x}", v);
        kassert!(super::console::RX_BYTES.load(Ordering::Relaxed) >= bytes + 4, "handler moved too few bytes");
        Ok(())
    }
}
