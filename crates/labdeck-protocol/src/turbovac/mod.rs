//! Leybold TURBOVAC USS protocol: 24-byte telegrams, control and status
//! words, the parameter database and the error/warning tables.

mod framer;
mod params;
mod tables;
mod telegram;
mod words;

pub use framer::{DiscardReason, FrameEvent, TelegramFramer};
pub use params::{
    Defaults, Limit, ParamDef, ParamFormat, ParamNumber, ParamTable, ParamValue, param_table,
};
pub use tables::{error_name, param_error_name, warning_name, warnings_in};
pub use telegram::{
    AccessCode, LGE, ResponseCode, STX, TELEGRAM_LEN, Telegram, TelegramError, bcc,
};
pub use words::{ControlWord, StatusWord};
