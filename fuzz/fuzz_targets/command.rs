#![no_main]

#[path = "../command_body.rs"]
mod command_body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| command_body::command(data));
