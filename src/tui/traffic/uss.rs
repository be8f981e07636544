//! USS telegrams as words: one line per telegram in a chunk, and what
//! is not a telegram (garbage, partial telegrams, a bad checksum) named.

use labdeck_core::link::Direction;
use labdeck_protocol::turbovac::{
    AccessCode, ResponseCode, TELEGRAM_LEN, Telegram, TelegramError, param_error_name,
};

use crate::tui::sanitize;

/// Decoded USS telegrams in a chunk, one line each; bytes that are not a
/// telegram (garbage, partial telegrams) as text with control names.
pub fn uss_lines(bytes: &[u8], dir: Direction) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        // A whole telegram but for its checksum is named as such.
        if rest.len() >= TELEGRAM_LEN
            && let Err(e @ TelegramError::Bcc { .. }) = Telegram::decode(&rest[..TELEGRAM_LEN])
        {
            lines.push(format!(
                "checksum error ({e}): {}",
                labdeck_core::link::hex_string(&rest[..TELEGRAM_LEN])
            ));
            rest = &rest[TELEGRAM_LEN..];
            continue;
        }
        let start = (0..rest.len()).find(|&i| {
            rest.len() - i >= TELEGRAM_LEN && Telegram::decode(&rest[i..i + TELEGRAM_LEN]).is_ok()
        });
        let Some(start) = start else {
            let what = if rest[0] == labdeck_protocol::turbovac::STX && rest.len() < TELEGRAM_LEN {
                format!("{} byte(s) of a telegram", rest.len())
            } else {
                format!("{} byte(s) not a telegram", rest.len())
            };
            lines.push(format!("{what}: {}", sanitize::named(rest)));
            break;
        };
        if start > 0 {
            lines.push(format!(
                "{start} byte(s) not a telegram: {}",
                sanitize::named(&rest[..start])
            ));
        }
        if let Ok(t) = Telegram::decode(&rest[start..start + TELEGRAM_LEN]) {
            lines.push(describe(&t, dir));
        }
        rest = &rest[start + TELEGRAM_LEN..];
    }
    lines
}

fn describe(t: &Telegram, dir: Direction) -> String {
    match dir {
        Direction::Tx => {
            let access = match t.access_code() {
                AccessCode::None => String::new(),
                AccessCode::Read | AccessCode::ReadField => {
                    format!("  read P{}[{}]", t.pnu, t.index)
                }
                AccessCode::Write16
                | AccessCode::Write32
                | AccessCode::Write16Field
                | AccessCode::Write32Field => {
                    format!("  write P{}[{}] = {}", t.pnu, t.index, t.pwe)
                }
                AccessCode::Unknown(ak) => format!("  AK {ak} P{}", t.pnu),
            };
            let setpoint = if t
                .control_word()
                .has(labdeck_protocol::turbovac::ControlWord::SETPOINT)
            {
                format!(" setpoint {} Hz", t.frequency())
            } else {
                String::new()
            };
            format!("{}{setpoint}{access}", t.control_word())
        }
        Direction::Rx => {
            let access = match t.response_code() {
                ResponseCode::None => String::new(),
                ResponseCode::Error | ResponseCode::NoWrite => {
                    format!(
                        "  P{}[{}]: error {} {}",
                        t.pnu,
                        t.index,
                        t.pwe,
                        param_error_name(t.pwe)
                    )
                }
                _ => format!("  P{}[{}] = {}", t.pnu, t.index, t.pwe),
            };
            format!(
                "{} f={} Hz T={} °C I={:.1} A U={} V{access}",
                t.status_word(),
                t.frequency(),
                t.temperature(),
                f64::from(t.current()) / 10.0,
                t.voltage()
            )
        }
    }
}
