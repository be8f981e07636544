//! The 24-byte USS telegram (see `specs/turbovac.md` §2).

use thiserror::Error;

/// Start byte of every telegram.
pub const STX: u8 = 0x02;
/// Length byte: the number of bytes after LGE (22).
pub const LGE: u8 = 0x16;
/// Total telegram length on the wire.
pub const TELEGRAM_LEN: usize = 24;

/// Block check character: XOR of the first 23 bytes.
pub fn bcc(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Why 24 bytes are not a telegram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TelegramError {
    #[error("telegram has {0} bytes, expected 24")]
    Length(usize),
    #[error("byte 0 is {0:#04x}, expected STX 0x02")]
    Stx(u8),
    #[error("byte 1 is {0:#04x}, expected LGE 0x16")]
    Lge(u8),
    #[error("BCC is {found:#04x}, expected {expected:#04x}")]
    Bcc { expected: u8, found: u8 },
}

/// Access code (AK) of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessCode {
    None,
    Read,
    Write16,
    Write32,
    ReadField,
    Write16Field,
    Write32Field,
    /// A 4-bit value the protocol does not define; answered like `None`.
    Unknown(u8),
}

impl AccessCode {
    pub fn from_bits(ak: u8) -> Self {
        match ak & 0x0f {
            0 => Self::None,
            1 => Self::Read,
            2 => Self::Write16,
            3 => Self::Write32,
            6 => Self::ReadField,
            7 => Self::Write16Field,
            8 => Self::Write32Field,
            other => Self::Unknown(other),
        }
    }

    pub fn bits(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Read => 1,
            Self::Write16 => 2,
            Self::Write32 => 3,
            Self::ReadField => 6,
            Self::Write16Field => 7,
            Self::Write32Field => 8,
            Self::Unknown(v) => v & 0x0f,
        }
    }

    /// True for the codes that address an element of an indexed parameter.
    pub fn is_field(self) -> bool {
        matches!(
            self,
            Self::ReadField | Self::Write16Field | Self::Write32Field
        )
    }

    pub fn is_write(self) -> bool {
        matches!(
            self,
            Self::Write16 | Self::Write32 | Self::Write16Field | Self::Write32Field
        )
    }

    /// Width in bits a write code requires, `None` for reads.
    pub fn write_width(self) -> Option<u8> {
        match self {
            Self::Write16 | Self::Write16Field => Some(16),
            Self::Write32 | Self::Write32Field => Some(32),
            _ => None,
        }
    }
}

/// Response code (AK) of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseCode {
    None,
    S16,
    S32,
    S16Field,
    S32Field,
    Error,
    NoWrite,
    Unknown(u8),
}

impl ResponseCode {
    pub fn from_bits(ak: u8) -> Self {
        match ak & 0x0f {
            0 => Self::None,
            1 => Self::S16,
            2 => Self::S32,
            4 => Self::S16Field,
            5 => Self::S32Field,
            7 => Self::Error,
            8 => Self::NoWrite,
            other => Self::Unknown(other),
        }
    }

    pub fn bits(self) -> u8 {
        match self {
            Self::None => 0,
            Self::S16 => 1,
            Self::S32 => 2,
            Self::S16Field => 4,
            Self::S32Field => 5,
            Self::Error => 7,
            Self::NoWrite => 8,
            Self::Unknown(v) => v & 0x0f,
        }
    }

    /// The code that carries a value of `width` bits, indexed or not.
    pub fn for_value(width: u8, field: bool) -> Self {
        match (width, field) {
            (16, false) => Self::S16,
            (16, true) => Self::S16Field,
            (_, false) => Self::S32,
            (_, true) => Self::S32Field,
        }
    }
}

/// One USS telegram, query or reply. Field names follow the protocol; the
/// process-data words PZD1–PZD6 sit in `pzd[0..6]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Telegram {
    /// Slave address (byte 2).
    pub address: u8,
    /// AK: access code in a query, response code in a reply (4 bits).
    pub ak: u8,
    /// SPM bit of PKE (always 0 in practice, kept for exact round trips).
    pub spm: bool,
    /// Parameter number (11 bits).
    pub pnu: u16,
    /// Reserved high byte of IND (byte 5).
    pub index_high: u8,
    /// Parameter index (byte 6).
    pub index: u8,
    /// 32-bit parameter value (bytes 7–10).
    pub pwe: u32,
    /// PZD1 (STW/ZSW) … PZD6.
    pub pzd: [u16; 6],
}

impl Telegram {
    /// A query with the given control word and parameter access.
    pub fn query(stw: u16, access: AccessCode, pnu: u16, index: u8, pwe: u32) -> Self {
        Self {
            ak: access.bits(),
            pnu: pnu & 0x07ff,
            index,
            pwe,
            pzd: [stw, 0, 0, 0, 0, 0],
            ..Self::default()
        }
    }

    /// Parse 24 bytes, checking STX, LGE and BCC.
    pub fn decode(bytes: &[u8]) -> Result<Self, TelegramError> {
        if bytes.len() != TELEGRAM_LEN {
            return Err(TelegramError::Length(bytes.len()));
        }
        if bytes[0] != STX {
            return Err(TelegramError::Stx(bytes[0]));
        }
        if bytes[1] != LGE {
            return Err(TelegramError::Lge(bytes[1]));
        }
        let expected = bcc(&bytes[..23]);
        if bytes[23] != expected {
            return Err(TelegramError::Bcc {
                expected,
                found: bytes[23],
            });
        }
        let word = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        let pke = word(3);
        let mut pzd = [0u16; 6];
        for (n, slot) in pzd.iter_mut().enumerate() {
            *slot = word(11 + 2 * n);
        }
        Ok(Self {
            address: bytes[2],
            ak: (pke >> 12) as u8,
            spm: pke & 0x0800 != 0,
            pnu: pke & 0x07ff,
            index_high: bytes[5],
            index: bytes[6],
            pwe: u32::from_be_bytes([bytes[7], bytes[8], bytes[9], bytes[10]]),
            pzd,
        })
    }

    /// Serialise to the 24 wire bytes, computing the BCC.
    pub fn encode(&self) -> [u8; TELEGRAM_LEN] {
        let mut out = [0u8; TELEGRAM_LEN];
        out[0] = STX;
        out[1] = LGE;
        out[2] = self.address;
        let pke =
            (u16::from(self.ak & 0x0f) << 12) | (u16::from(self.spm) << 11) | (self.pnu & 0x07ff);
        out[3..5].copy_from_slice(&pke.to_be_bytes());
        out[5] = self.index_high;
        out[6] = self.index;
        out[7..11].copy_from_slice(&self.pwe.to_be_bytes());
        for (n, word) in self.pzd.iter().enumerate() {
            out[11 + 2 * n..13 + 2 * n].copy_from_slice(&word.to_be_bytes());
        }
        out[23] = bcc(&out[..23]);
        out
    }

    pub fn access_code(&self) -> AccessCode {
        AccessCode::from_bits(self.ak)
    }

    pub fn response_code(&self) -> ResponseCode {
        ResponseCode::from_bits(self.ak)
    }

    /// PZD1 read as a query's control word.
    pub fn control_word(&self) -> super::ControlWord {
        super::ControlWord(self.pzd[0])
    }

    /// PZD1 read as a reply's status word.
    pub fn status_word(&self) -> super::StatusWord {
        super::StatusWord(self.pzd[0])
    }

    /// Rotor frequency in Hz (PZD2).
    pub fn frequency(&self) -> u16 {
        self.pzd[1]
    }

    /// Converter temperature in °C (PZD3, signed).
    pub fn temperature(&self) -> i16 {
        self.pzd[2] as i16
    }

    /// Motor current in 0.1 A (PZD4).
    pub fn current(&self) -> u16 {
        self.pzd[3]
    }

    /// Intermediate-circuit voltage in V (PZD6).
    pub fn voltage(&self) -> u16 {
        self.pzd[5]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    #[test]
    fn decodes_the_worked_example() {
        let bytes = hex("02 16 00 00 00 00 00 00 00 00 00 82 14 00 00 00 1e 00 0a 00 00 00 18 8e");
        let t = Telegram::decode(&bytes).unwrap();
        assert_eq!(t.pzd[0], 0x8214);
        assert_eq!(t.temperature(), 30);
        assert_eq!(t.current(), 10);
        assert_eq!(t.voltage(), 24);
        assert_eq!(t.encode().to_vec(), bytes);
    }

    #[test]
    fn pke_examples_from_the_spec() {
        let read_p24 = Telegram::query(0, AccessCode::Read, 24, 0, 0).encode();
        assert_eq!(&read_p24[3..5], &[0x10, 0x18]);
        let read_p611 = Telegram::query(0, AccessCode::Read, 611, 0, 0).encode();
        assert_eq!(&read_p611[3..5], &[0x12, 0x63]);
        let rf_p171 = Telegram::query(0, AccessCode::ReadField, 171, 5, 0).encode();
        assert_eq!(&rf_p171[3..5], &[0x60, 0xab]);
    }

    #[test]
    fn rejects_bad_headers_and_checksums() {
        let mut bytes = Telegram::query(0, AccessCode::None, 0, 0, 0).encode();
        assert_eq!(bytes[23], 0x14);
        bytes[23] = 0;
        assert_eq!(
            Telegram::decode(&bytes),
            Err(TelegramError::Bcc {
                expected: 0x14,
                found: 0
            })
        );
        bytes[0] = 0x03;
        assert_eq!(Telegram::decode(&bytes), Err(TelegramError::Stx(0x03)));
        assert_eq!(
            Telegram::decode(&bytes[..10]),
            Err(TelegramError::Length(10))
        );
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(address: u8, ak in 0u8..16, spm: bool, pnu in 0u16..2048,
                                    index_high: u8, index: u8, pwe: u32, pzd: [u16; 6]) {
            let t = Telegram { address, ak, spm, pnu, index_high, index, pwe, pzd };
            prop_assert_eq!(Telegram::decode(&t.encode()), Ok(t));
        }

        #[test]
        fn any_valid_frame_round_trips(mut body in proptest::collection::vec(any::<u8>(), 21)) {
            let mut bytes = vec![STX, LGE];
            bytes.append(&mut body);
            bytes.push(bcc(&bytes));
            let t = Telegram::decode(&bytes).unwrap();
            prop_assert_eq!(t.encode().to_vec(), bytes);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Telegram::decode(&bytes);
        }
    }
}
