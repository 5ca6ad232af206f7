//! Linux x86_64 terminal interface (`<asm-generic/termbits.h>`, `<asm-generic/ioctls.h>`):
//! the kernel's `struct termios` (36 bytes, what TCGETS/TCSETS copy; glibc's larger
//! `struct termios` is converted in user space), `struct winsize`, the flag bits, the
//! `c_cc` indexes and the tty ioctl request numbers. The kernel uses these numbers
//! internally (DESIGN rule 7).

/// Number of control characters in the kernel's `struct termios`.
pub const NCCS: usize = 19;

/// The kernel's `struct termios` (TCGETS/TCSETS/TCSETSW/TCSETSF), as Linux x86_64 lays it
/// out: four flag words, the line discipline number, then `c_cc`. No padding: 36 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    /// Input modes.
    pub c_iflag: u32,
    /// Output modes.
    pub c_oflag: u32,
    /// Control modes (baud rate, character size).
    pub c_cflag: u32,
    /// Local modes (canonical input, echo, signals).
    pub c_lflag: u32,
    /// Line discipline (N_TTY = 0).
    pub c_line: u8,
    /// Control characters, indexed by the V* constants.
    pub c_cc: [u8; NCCS],
}

/// Size of [`Termios`] as TCGETS copies it.
pub const TERMIOS_SIZE: usize = 36;

impl Termios {
    /// Linux's defaults for a new terminal (`tty_std_termios`): canonical input with echo
    /// and signals, CR to NL on input, NL to CR-NL on output, 8 bits at 38400 baud.
    pub const fn linux_default() -> Termios {
        let mut cc = [0u8; NCCS];
        cc[VINTR] = 0o003; // ^C
        cc[VQUIT] = 0o034; // ^\
        cc[VERASE] = 0o177; // DEL
        cc[VKILL] = 0o025; // ^U
        cc[VEOF] = 0o004; // ^D
        cc[VTIME] = 0;
        cc[VMIN] = 1;
        cc[VSWTC] = 0;
        cc[VSTART] = 0o021; // ^Q
        cc[VSTOP] = 0o023; // ^S
        cc[VSUSP] = 0o032; // ^Z
        cc[VEOL] = 0;
        cc[VREPRINT] = 0o022; // ^R
        cc[VDISCARD] = 0o017; // ^O
        cc[VWERASE] = 0o027; // ^W
        cc[VLNEXT] = 0o026; // ^V
        cc[VEOL2] = 0;
        Termios {
            c_iflag: ICRNL | IXON,
            c_oflag: OPOST | ONLCR,
            c_cflag: B38400 | CS8 | CREAD | HUPCL,
            c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            c_line: 0,
            c_cc: cc,
        }
    }

    /// The 36 bytes TCGETS copies out (little-endian, Linux's layout).
    pub fn to_bytes(&self) -> [u8; TERMIOS_SIZE] {
        let mut b = [0u8; TERMIOS_SIZE];
        b[0..4].copy_from_slice(&self.c_iflag.to_le_bytes());
        b[4..8].copy_from_slice(&self.c_oflag.to_le_bytes());
        b[8..12].copy_from_slice(&self.c_cflag.to_le_bytes());
        b[12..16].copy_from_slice(&self.c_lflag.to_le_bytes());
        b[16] = self.c_line;
        b[17..].copy_from_slice(&self.c_cc);
        b
    }

    /// The termios TCSETS copied in.
    pub fn from_bytes(b: &[u8; TERMIOS_SIZE]) -> Termios {
        let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut c_cc = [0u8; NCCS];
        c_cc.copy_from_slice(&b[17..]);
        Termios { c_iflag: w(0), c_oflag: w(4), c_cflag: w(8), c_lflag: w(12), c_line: b[16], c_cc }
    }
}

/// `struct winsize` (TIOCGWINSZ/TIOCSWINSZ).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WinSize {
    /// Rows.
    pub ws_row: u16,
    /// Columns.
    pub ws_col: u16,
    /// Width in pixels (unused).
    pub ws_xpixel: u16,
    /// Height in pixels (unused).
    pub ws_ypixel: u16,
}

/// Size of [`WinSize`].
pub const WINSIZE_SIZE: usize = 8;

impl WinSize {
    /// The bytes TIOCGWINSZ copies out.
    pub fn to_bytes(&self) -> [u8; WINSIZE_SIZE] {
        let mut b = [0u8; WINSIZE_SIZE];
        for (i, v) in [self.ws_row, self.ws_col, self.ws_xpixel, self.ws_ypixel].iter().enumerate() {
            b[2 * i..2 * i + 2].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// The winsize TIOCSWINSZ copied in.
    pub fn from_bytes(b: &[u8; WINSIZE_SIZE]) -> WinSize {
        let h = |i: usize| u16::from_le_bytes([b[2 * i], b[2 * i + 1]]);
        WinSize { ws_row: h(0), ws_col: h(1), ws_xpixel: h(2), ws_ypixel: h(3) }
    }
}

// c_cc indexes.
/// Interrupt (SIGINT).
pub const VINTR: usize = 0;
/// Quit (SIGQUIT).
pub const VQUIT: usize = 1;
/// Erase a character.
pub const VERASE: usize = 2;
/// Erase the line.
pub const VKILL: usize = 3;
/// End of file.
pub const VEOF: usize = 4;
/// Non-canonical read timeout, in tenths of a second.
pub const VTIME: usize = 5;
/// Non-canonical read minimum byte count.
pub const VMIN: usize = 6;
/// Switch character (unused on Linux).
pub const VSWTC: usize = 7;
/// Restart output (IXON).
pub const VSTART: usize = 8;
/// Stop output (IXON).
pub const VSTOP: usize = 9;
/// Suspend (SIGTSTP).
pub const VSUSP: usize = 10;
/// Additional end of line.
pub const VEOL: usize = 11;
/// Reprint the line (IEXTEN).
pub const VREPRINT: usize = 12;
/// Toggle output discarding (IEXTEN).
pub const VDISCARD: usize = 13;
/// Erase a word (IEXTEN).
pub const VWERASE: usize = 14;
/// Take the next character literally (IEXTEN).
pub const VLNEXT: usize = 15;
/// Yet another end of line (IEXTEN).
pub const VEOL2: usize = 16;

// c_iflag.
/// Ignore break.
pub const IGNBRK: u32 = 0o000001;
/// Break reads as SIGINT.
pub const BRKINT: u32 = 0o000002;
/// Ignore parity errors.
pub const IGNPAR: u32 = 0o000004;
/// Mark parity errors.
pub const PARMRK: u32 = 0o000010;
/// Check input parity.
pub const INPCK: u32 = 0o000020;
/// Strip the eighth bit.
pub const ISTRIP: u32 = 0o000040;
/// NL to CR on input.
pub const INLCR: u32 = 0o000100;
/// Ignore CR on input.
pub const IGNCR: u32 = 0o000200;
/// CR to NL on input.
pub const ICRNL: u32 = 0o000400;
/// Upper to lower case on input.
pub const IUCLC: u32 = 0o001000;
/// Start/stop output control.
pub const IXON: u32 = 0o002000;
/// Any character restarts stopped output.
pub const IXANY: u32 = 0o004000;
/// Start/stop input control.
pub const IXOFF: u32 = 0o010000;
/// Ring the bell when the input queue is full.
pub const IMAXBEL: u32 = 0o020000;
/// Input is UTF-8 (erase removes a whole character).
pub const IUTF8: u32 = 0o040000;

// c_oflag.
/// Output processing.
pub const OPOST: u32 = 0o000001;
/// Lower to upper case on output.
pub const OLCUC: u32 = 0o000002;
/// NL to CR-NL on output.
pub const ONLCR: u32 = 0o000004;
/// CR to NL on output.
pub const OCRNL: u32 = 0o000010;
/// No CR output at column 0.
pub const ONOCR: u32 = 0o000020;
/// NL performs the CR function.
pub const ONLRET: u32 = 0o000040;
/// Fill characters for delays.
pub const OFILL: u32 = 0o000100;
/// Tab delay mask.
pub const TABDLY: u32 = 0o014000;
/// Expand tabs to spaces.
pub const XTABS: u32 = 0o014000;

// c_cflag.
/// Baud rate mask.
pub const CBAUD: u32 = 0o010017;
/// 38400 baud.
pub const B38400: u32 = 0o000017;
/// Character size mask.
pub const CSIZE: u32 = 0o000060;
/// 8-bit characters.
pub const CS8: u32 = 0o000060;
/// Two stop bits.
pub const CSTOPB: u32 = 0o000100;
/// Enable the receiver.
pub const CREAD: u32 = 0o000200;
/// Parity.
pub const PARENB: u32 = 0o000400;
/// Hang up on last close.
pub const HUPCL: u32 = 0o002000;
/// Ignore modem control lines.
pub const CLOCAL: u32 = 0o004000;

// c_lflag.
/// INTR, QUIT, SUSP generate signals.
pub const ISIG: u32 = 0o000001;
/// Canonical (line-by-line) input.
pub const ICANON: u32 = 0o000002;
/// Echo input.
pub const ECHO: u32 = 0o000010;
/// ERASE erases the previous character on screen.
pub const ECHOE: u32 = 0o000020;
/// KILL echoes a newline after the kill character.
pub const ECHOK: u32 = 0o000040;
/// Echo NL even without ECHO.
pub const ECHONL: u32 = 0o000100;
/// No flush after INTR, QUIT, SUSP.
pub const NOFLSH: u32 = 0o000200;
/// Background writers get SIGTTOU.
pub const TOSTOP: u32 = 0o000400;
/// Echo control characters as ^X.
pub const ECHOCTL: u32 = 0o001000;
/// Echo erased characters between \ and /.
pub const ECHOPRT: u32 = 0o002000;
/// KILL erases each character of the line on screen.
pub const ECHOKE: u32 = 0o004000;
/// Output is being flushed (VDISCARD).
pub const FLUSHO: u32 = 0o010000;
/// Retype pending input at the next read.
pub const PENDIN: u32 = 0o040000;
/// Implementation-defined input processing (WERASE, LNEXT, REPRINT, EOL2).
pub const IEXTEN: u32 = 0o100000;

// ioctl requests.
/// Get the termios.
pub const TCGETS: u32 = 0x5401;
/// Set the termios now.
pub const TCSETS: u32 = 0x5402;
/// Set the termios after output drains.
pub const TCSETSW: u32 = 0x5403;
/// Set the termios after output drains, discarding pending input.
pub const TCSETSF: u32 = 0x5404;
/// Send a break.
pub const TCSBRK: u32 = 0x5409;
/// Start/stop output or input.
pub const TCXONC: u32 = 0x540A;
/// Flush queues (TCIFLUSH 0, TCOFLUSH 1, TCIOFLUSH 2).
pub const TCFLSH: u32 = 0x540B;
/// Make this the controlling terminal.
pub const TIOCSCTTY: u32 = 0x540E;
/// Get the foreground process group.
pub const TIOCGPGRP: u32 = 0x540F;
/// Set the foreground process group.
pub const TIOCSPGRP: u32 = 0x5410;
/// Bytes in the output queue.
pub const TIOCOUTQ: u32 = 0x5411;
/// Get the window size.
pub const TIOCGWINSZ: u32 = 0x5413;
/// Set the window size.
pub const TIOCSWINSZ: u32 = 0x5414;
/// Bytes ready to read.
pub const FIONREAD: u32 = 0x541B;
/// Same as FIONREAD.
pub const TIOCINQ: u32 = FIONREAD;
/// Give up the controlling terminal.
pub const TIOCNOTTY: u32 = 0x5422;
/// Get the session id.
pub const TIOCGSID: u32 = 0x5429;

/// TCFLSH argument: flush pending input.
pub const TCIFLUSH: u64 = 0;
/// TCFLSH argument: flush pending output.
pub const TCOFLUSH: u64 = 1;
/// TCFLSH argument: flush both.
pub const TCIOFLUSH: u64 = 2;

/// True for requests only a terminal answers (what other files reject with ENOTTY).
pub const fn is_tty_ioctl(cmd: u32) -> bool {
    matches!(cmd, 0x5401..=0x5437)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_linux() {
        assert_eq!(size_of::<Termios>(), TERMIOS_SIZE);
        assert_eq!(offset_of!(Termios, c_iflag), 0);
        assert_eq!(offset_of!(Termios, c_oflag), 4);
        assert_eq!(offset_of!(Termios, c_cflag), 8);
        assert_eq!(offset_of!(Termios, c_lflag), 12);
        assert_eq!(offset_of!(Termios, c_line), 16);
        assert_eq!(offset_of!(Termios, c_cc), 17);
        assert_eq!(size_of::<WinSize>(), WINSIZE_SIZE);
        assert_eq!(offset_of!(WinSize, ws_col), 2);
    }

    #[test]
    fn defaults_are_linuxs() {
        // Linux's tty_std_termios: ICRNL|IXON, OPOST|ONLCR, B38400|CS8|CREAD|HUPCL,
        // ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN.
        let t = Termios::linux_default();
        assert_eq!((t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag), (0o2400, 0o5, 0o2277, 0o105073));
        assert_eq!(&t.c_cc[..7], &[3, 0x1c, 0x7f, 0x15, 4, 0, 1]);
    }

    #[test]
    fn bytes_round_trip() {
        let mut t = Termios::linux_default();
        t.c_lflag &= !ICANON;
        t.c_cc[VMIN] = 7;
        let b = t.to_bytes();
        assert_eq!(&b[12..16], &t.c_lflag.to_le_bytes());
        assert_eq!(b[17 + VMIN], 7);
        assert_eq!(Termios::from_bytes(&b), t);
        let w = WinSize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 };
        assert_eq!(WinSize::from_bytes(&w.to_bytes()), w);
        assert_eq!(&w.to_bytes()[..4], &[24, 0, 80, 0]);
    }
}
