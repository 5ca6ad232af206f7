//! The legacy 8259 PICs. The firmware leaves them programmed for real mode, with the timer on
//! vector 8 (the double-fault vector): remap them out of the exception range, then mask every
//! line. Interrupts come through the APICs (issue 3).
use x86_64::instructions::port::Port;

/// Remaps both PICs to vectors 0x20..0x2f and masks all their lines.
pub fn disable() {
    const ICW1_INIT_ICW4: u8 = 0x11;
    let mut m_cmd = Port::<u8>::new(0x20);
    let mut m_data = Port::<u8>::new(0x21);
    let mut s_cmd = Port::<u8>::new(0xa0);
    let mut s_data = Port::<u8>::new(0xa1);
    // SAFETY: the 8259 ports belong to the PICs; the sequence is the standard ICW1..ICW4
    // initialisation and only changes which vectors they would raise, then masks them.
    unsafe {
        m_cmd.write(ICW1_INIT_ICW4);
        s_cmd.write(ICW1_INIT_ICW4);
        m_data.write(0x20);
        s_data.write(0x28);
        m_data.write(4); // slave on IRQ2
        s_data.write(2);
        m_data.write(1); // 8086 mode
        s_data.write(1);
        m_data.write(0xff);
        s_data.write(0xff);
    }
}
