//! What each fuzz target does with its input. Shared with the corpus
//! replay test (`tests/fuzz_corpus.rs`), so every committed input runs
//! through the same checks on stable in `cargo test`.
//!
//! Stream decoders are fed the input cut into chunks whose size the first
//! byte chooses, and must find the same frames as when fed it whole.

#![allow(dead_code)]

use labdeck_protocol::indi::{ElementFramer, FrameError, Limits, MessageReader};
use labdeck_protocol::scpi::LineFramer;
use labdeck_protocol::turbovac::{FrameEvent, TelegramFramer};
use labdeck_protocol::{indi, keithley, scpi};

/// The input after its first byte, cut into chunks of 1..=32 bytes.
fn chunked(data: &[u8]) -> Vec<&[u8]> {
    let Some((&first, rest)) = data.split_first() else {
        return Vec::new();
    };
    rest.chunks(usize::from(first % 32) + 1).collect()
}

pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fn telegrams(pieces: &[&[u8]]) -> Vec<[u8; 24]> {
    let mut framer = TelegramFramer::new();
    let mut found = Vec::new();
    for piece in pieces {
        framer.push(piece);
        while let Some(event) = framer.next_event() {
            if let FrameEvent::Frame(telegram) = event {
                found.push(telegram.encode());
            }
        }
        assert!(framer.pending() < 24, "the framer holds a whole telegram");
    }
    found
}

pub fn uss_framer(data: &[u8]) {
    let pieces = chunked(data);
    let whole: Vec<u8> = pieces.concat();
    assert_eq!(telegrams(&pieces), telegrams(&[&whole]));
}

pub fn scpi_message(data: &[u8]) {
    let Some(line) = text(data) else { return };
    for unit in scpi::parse_units(line).into_iter().flatten() {
        for param in &unit.params {
            let _ = (
                param.number(),
                param.boolean(),
                param.word(),
                param.string(),
            );
        }
    }
}

fn lines(pieces: &[&[u8]]) -> Vec<Result<Vec<u8>, scpi::FrameError>> {
    let mut framer = LineFramer::new(b"\n", 64);
    let mut found = Vec::new();
    for piece in pieces {
        framer.push(piece);
        while let Some(line) = framer.next_line() {
            found.push(line);
        }
    }
    found
}

pub fn scpi_lines(data: &[u8]) {
    let pieces = chunked(data);
    let whole: Vec<u8> = pieces.concat();
    let (split, once) = (lines(&pieces), lines(&[&whole]));
    // An overlong line is reported when the limit is passed, which may be
    // in a later chunk: compare the lines themselves.
    let ok = |found: Vec<Result<Vec<u8>, scpi::FrameError>>| -> Vec<Vec<u8>> {
        found.into_iter().filter_map(Result::ok).collect()
    };
    let (split, once) = (ok(split), ok(once));
    let shorter = split.len().min(once.len());
    assert_eq!(split[..shorter], once[..shorter]);
}

pub fn keithley_reading(data: &[u8]) {
    let Some(line) = text(data) else { return };
    if let Some(reading) = keithley::parse_reading(line) {
        let _ = keithley::nr3(reading.value);
    }
    let _ = keithley::parse_error(line);
}

/// Elements and errors of a stream, stray text aside (its pieces depend
/// on where the stream is cut), up to the first error that ends it.
fn elements(pieces: &[&[u8]]) -> Vec<Result<Vec<u8>, FrameError>> {
    let mut framer = ElementFramer::new(Limits::default());
    let mut found = Vec::new();
    for piece in pieces {
        framer.push(piece);
        while let Some(next) = framer.next_element() {
            match next {
                Err(FrameError::StrayText(_)) => {}
                Err(FrameError::StrayEnd) => found.push(Err(FrameError::StrayEnd)),
                Ok(element) => found.push(Ok(element)),
                Err(fatal) => {
                    found.push(Err(fatal));
                    return found;
                }
            }
        }
    }
    found
}

pub fn indi_stream(data: &[u8]) {
    let pieces = chunked(data);
    let whole: Vec<u8> = pieces.concat();
    assert_eq!(elements(&pieces), elements(&[&whole]));
    let mut reader = MessageReader::new(Limits::default());
    for piece in &pieces {
        reader.push(piece);
        while let Some(next) = reader.next_message() {
            match next {
                Ok(indi::Incoming::Message(message)) => {
                    let _ = message.to_xml();
                }
                Ok(indi::Incoming::Ignored(_)) => {}
                Err(_) => return,
            }
        }
    }
}

pub fn indi_number(data: &[u8]) {
    let Some(line) = text(data) else { return };
    let (number, format) = line.split_once('|').unwrap_or((line, "%g"));
    if let Some(value) = indi::parse_number(number) {
        let _ = indi::format_number(value, format);
        let _ = indi::format_number(value, "%010.6m");
    }
}

pub fn config(data: &[u8]) {
    use labdeck_core::config::{self, ConfigOrigin};
    match text(data) {
        Some(text) => {
            let _ = config::parse(text, ConfigOrigin::Demo);
        }
        None => {
            let _ = config::not_utf8(&ConfigOrigin::Demo, data).to_string();
        }
    }
}
