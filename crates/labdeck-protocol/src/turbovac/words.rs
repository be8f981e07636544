//! Control word STW (query PZD1) and status word ZSW (reply PZD1).

use std::fmt;

/// Control word of a query (`specs/turbovac.md` §5). Bits 12 and 13 are
/// named by function, not by turboctl's swapped names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlWord(pub u16);

impl ControlWord {
    pub const ON: u16 = 1 << 0;
    pub const X201: u16 = 1 << 5;
    pub const SETPOINT: u16 = 1 << 6;
    pub const RESET_ERROR: u16 = 1 << 7;
    pub const STANDBY: u16 = 1 << 8;
    pub const COMMAND: u16 = 1 << 10;
    pub const X1_ERROR: u16 = 1 << 11;
    pub const X1_NORMAL_OP: u16 = 1 << 12;
    pub const X1_WARNING: u16 = 1 << 13;
    pub const X202: u16 = 1 << 14;
    pub const X203: u16 = 1 << 15;

    /// Status poll: changes nothing.
    pub const POLL: Self = Self(0);
    /// Switch on, or keep running (keep-alive).
    pub const RUN: Self = Self(Self::COMMAND | Self::ON);
    /// Switch off.
    pub const STOP: Self = Self(Self::COMMAND);

    const NAMES: [(u16, &'static str); 11] = [
        (Self::ON, "ON"),
        (Self::X201, "X201"),
        (Self::SETPOINT, "SETPOINT"),
        (Self::RESET_ERROR, "RESET_ERROR"),
        (Self::STANDBY, "STANDBY"),
        (Self::COMMAND, "COMMAND"),
        (Self::X1_ERROR, "X1_ERROR"),
        (Self::X1_NORMAL_OP, "X1_NORMAL_OP"),
        (Self::X1_WARNING, "X1_WARNING"),
        (Self::X202, "X202"),
        (Self::X203, "X203"),
    ];

    pub fn has(self, bit: u16) -> bool {
        self.0 & bit == bit
    }

    /// The word to reset an error: with ON when the pump must keep running,
    /// because COMMAND without ON switches the pump off (§5).
    pub fn reset_error(keep_running: bool) -> Self {
        let base = Self::COMMAND | Self::RESET_ERROR;
        Self(if keep_running { base | Self::ON } else { base })
    }
}

impl fmt::Display for ControlWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_flags(f, self.0, &Self::NAMES, "POLL")
    }
}

/// Status word of a reply (`specs/turbovac.md` §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusWord(pub u16);

impl StatusWord {
    pub const READY: u16 = 1 << 0;
    pub const BIT1: u16 = 1 << 1;
    pub const OPERATION: u16 = 1 << 2;
    pub const ERROR: u16 = 1 << 3;
    pub const ACCELERATION: u16 = 1 << 4;
    pub const DECELERATION: u16 = 1 << 5;
    pub const SWITCH_ON_LOCK: u16 = 1 << 6;
    pub const TEMP_WARNING: u16 = 1 << 7;
    pub const BIT8: u16 = 1 << 8;
    pub const PARAM_CHANNEL: u16 = 1 << 9;
    pub const DETAINED: u16 = 1 << 10;
    pub const TURNING: u16 = 1 << 11;
    pub const BIT12: u16 = 1 << 12;
    pub const OVERLOAD: u16 = 1 << 13;
    pub const WARNING: u16 = 1 << 14;
    pub const PROCESS_CHANNEL: u16 = 1 << 15;

    /// Bit, short name, and the description turboctl prints (UI text).
    pub const BITS: [(u16, &'static str, &'static str); 16] = [
        (Self::READY, "READY", "Ready for operation"),
        (Self::BIT1, "BIT1", "Unknown status bit: 1"),
        (Self::OPERATION, "OPERATION", "Operation enabled"),
        (Self::ERROR, "ERROR", "Error condition (all components)"),
        (Self::ACCELERATION, "ACCEL", "Accelerating"),
        (Self::DECELERATION, "DECEL", "Decelerating"),
        (Self::SWITCH_ON_LOCK, "SWITCH_ON_LOCK", "Switch-on lock"),
        (Self::TEMP_WARNING, "TEMP_WARNING", "Temperature warning"),
        (Self::BIT8, "BIT8", "Unknown status bit: 8"),
        (Self::PARAM_CHANNEL, "PARAM", "Parameter channel enabled"),
        (Self::DETAINED, "DETAINED", "Normal operation detained"),
        (Self::TURNING, "TURNING", "Pump is turning"),
        (Self::BIT12, "BIT12", "Unknown status bit: 12"),
        (Self::OVERLOAD, "OVERLOAD", "Overload warning"),
        (Self::WARNING, "WARNING", "Collective warning"),
        (Self::PROCESS_CHANNEL, "PROCESS", "Process channel enabled"),
    ];

    pub fn has(self, bit: u16) -> bool {
        self.0 & bit == bit
    }

    /// Descriptions of the bits that are set, lowest bit first.
    pub fn descriptions(self) -> impl Iterator<Item = &'static str> {
        Self::BITS
            .iter()
            .filter(move |(bit, _, _)| self.has(*bit))
            .map(|(_, _, text)| *text)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<(u16, &str)> = Self::BITS.iter().map(|(b, n, _)| (*b, *n)).collect();
        write_flags(f, self.0, &names, "-")
    }
}

fn write_flags(
    f: &mut fmt::Formatter<'_>,
    word: u16,
    names: &[(u16, &str)],
    empty: &str,
) -> fmt::Result {
    let mut first = true;
    for (bit, name) in names.iter().rev() {
        if word & bit != 0 {
            if !first {
                f.write_str("|")?;
            }
            f.write_str(name)?;
            first = false;
        }
    }
    if first {
        f.write_str(empty)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_words_match_turboctl() {
        assert_eq!(ControlWord::RUN.0, 0x0401);
        assert_eq!(ControlWord::STOP.0, 0x0400);
        assert_eq!(ControlWord::reset_error(false).0, 0x0480);
        assert_eq!(ControlWord::reset_error(true).0, 0x0481);
        assert_eq!(ControlWord::RUN.to_string(), "COMMAND|ON");
        assert_eq!(ControlWord::POLL.to_string(), "POLL");
    }

    #[test]
    fn status_word_names() {
        let zsw = StatusWord(0x8214);
        assert_eq!(zsw.to_string(), "PROCESS|PARAM|ACCEL|OPERATION");
        let texts: Vec<_> = StatusWord(0x0201).descriptions().collect();
        assert_eq!(texts, ["Ready for operation", "Parameter channel enabled"]);
    }
}
