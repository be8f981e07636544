//! The line settings a program applied to a tty (speed, stop bits, flow
//! control), read from its termios, so a sniffer can apply them to the
//! real port behind its pty.
//!
//! A Linux pty forces CS8 and clears PARENB whatever the program asks
//! for (`pty_set_termios`), so data bits and parity cannot be seen
//! through one: they come from the sniffer's own settings.
//!
//! termios goes to libc directly: nix's speed calls panic on the custom
//! rates (BOTHER) that pyserial and serialport-rs set, hence `unsafe`.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;

use serde::Serialize;

use super::{FlowControl, StopBits};

/// The speed a sniffer's pty is held at between a program's changes:
/// 50 baud, which no instrument uses, so any rate a program asks for is a
/// visible change (also 38400, the simulators' idle speed).
pub const UNSET_SPEED: libc::speed_t = libc::B50;

/// What a program set on its end of a pty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineSettings {
    /// `None` while the pty is at [`UNSET_SPEED`]: no rate asked for since
    /// the last one was taken.
    pub baud: Option<u32>,
    pub stop_bits: StopBits,
    pub flow_control: FlowControl,
    /// Canonical (line) mode, as the program's line discipline applies it.
    pub canonical: bool,
}

impl std::fmt::Display for LineSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.baud {
            Some(baud) => write!(f, "{baud} baud")?,
            None => f.write_str("speed unchanged")?,
        }
        write!(f, ", {} stop bit(s)", self.stop_bits.0)?;
        match self.flow_control {
            FlowControl::None => {}
            FlowControl::Software => f.write_str(", XON/XOFF")?,
            FlowControl::Hardware => f.write_str(", RTS/CTS")?,
        }
        if self.canonical {
            f.write_str(", canonical")?;
        }
        Ok(())
    }
}

/// Read the line settings of the tty `fd`.
pub fn read(fd: RawFd) -> io::Result<LineSettings> {
    let attrs = get(fd)?;
    // SAFETY: `attrs` is an initialised termios.
    let speed = unsafe { libc::cfgetospeed(&raw const attrs) };
    let baud = if speed == UNSET_SPEED {
        None
    } else if speed == libc::BOTHER {
        Some(custom_speed(fd)?)
    } else {
        baud_of(speed)
    };
    let flow_control = if attrs.c_cflag & libc::CRTSCTS != 0 {
        FlowControl::Hardware
    } else if attrs.c_iflag & (libc::IXON | libc::IXOFF) != 0 {
        FlowControl::Software
    } else {
        FlowControl::None
    };
    Ok(LineSettings {
        baud,
        stop_bits: StopBits(if attrs.c_cflag & libc::CSTOPB != 0 {
            2
        } else {
            1
        }),
        flow_control,
        canonical: attrs.c_lflag & libc::ICANON != 0,
    })
}

/// The tty's output speed code.
pub fn speed(fd: RawFd) -> io::Result<libc::speed_t> {
    let attrs = get(fd)?;
    // SAFETY: `attrs` is an initialised termios.
    Ok(unsafe { libc::cfgetospeed(&raw const attrs) })
}

/// Put the tty's speed to `speed`, leaving everything else as it is.
pub fn set_speed(fd: RawFd, speed: libc::speed_t) -> io::Result<()> {
    let mut attrs = get(fd)?;
    // SAFETY: `attrs` is an initialised termios and `fd` an open tty;
    // tcsetattr only reads `attrs`.
    unsafe {
        libc::cfsetspeed(&raw mut attrs, speed);
        if libc::tcsetattr(fd, libc::TCSANOW, &raw const attrs) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn get(fd: RawFd) -> io::Result<libc::termios> {
    let mut attrs = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: `attrs` is a valid out-pointer that tcgetattr fills
    // completely on success; a bad `fd` is reported, not undefined.
    unsafe {
        if libc::tcgetattr(fd, attrs.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(attrs.assume_init())
    }
}

/// The rate of a tty set to BOTHER (a custom rate), through termios2.
fn custom_speed(fd: RawFd) -> io::Result<u32> {
    let mut attrs = std::mem::MaybeUninit::<libc::termios2>::uninit();
    // SAFETY: TCGETS2 fills a termios2 completely on success.
    unsafe {
        if libc::ioctl(fd, libc::TCGETS2, attrs.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(attrs.assume_init().c_ospeed)
    }
}

/// The baud rate of a standard speed code.
#[allow(clippy::wildcard_imports)] // the table reads as the kernel's names
pub fn baud_of(speed: libc::speed_t) -> Option<u32> {
    use libc::*;
    Some(match speed {
        B50 => 50,
        B75 => 75,
        B110 => 110,
        B134 => 134,
        B150 => 150,
        B200 => 200,
        B300 => 300,
        B600 => 600,
        B1200 => 1200,
        B1800 => 1800,
        B2400 => 2400,
        B4800 => 4800,
        B9600 => 9600,
        B19200 => 19_200,
        B38400 => 38_400,
        B57600 => 57_600,
        B115200 => 115_200,
        B230400 => 230_400,
        B460800 => 460_800,
        B500000 => 500_000,
        B576000 => 576_000,
        B921600 => 921_600,
        B1000000 => 1_000_000,
        B1152000 => 1_152_000,
        B1500000 => 1_500_000,
        B2000000 => 2_000_000,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;

    #[test]
    fn reads_what_a_program_set_and_hides_the_unset_speed() {
        let pair = nix::pty::openpty(None, None).unwrap();
        let fd = pair.slave.as_raw_fd();
        set_speed(fd, UNSET_SPEED).unwrap();
        assert_eq!(read(fd).unwrap().baud, None);

        let mut attrs = get(fd).unwrap();
        // SAFETY: as in `set_speed`.
        unsafe {
            libc::cfmakeraw(&raw mut attrs);
            libc::cfsetspeed(&raw mut attrs, libc::B19200);
            attrs.c_cflag |= libc::CSTOPB | libc::CRTSCTS;
            assert_eq!(libc::tcsetattr(fd, libc::TCSANOW, &raw const attrs), 0);
        }
        let line = read(fd).unwrap();
        assert_eq!(line.baud, Some(19_200));
        assert_eq!(line.stop_bits, StopBits(2));
        assert_eq!(line.flow_control, FlowControl::Hardware);
        assert!(!line.canonical);
        assert_eq!(line.to_string(), "19200 baud, 2 stop bit(s), RTS/CTS");
    }

    #[test]
    fn every_standard_code_has_its_rate() {
        assert_eq!(baud_of(libc::B9600), Some(9600));
        assert_eq!(baud_of(libc::B115200), Some(115_200));
        assert_eq!(baud_of(libc::BOTHER), None);
    }
}
