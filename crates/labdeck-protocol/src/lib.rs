//! Wire formats only: pure codecs that turn bytes into typed frames and back.
//!
//! Nothing in here performs I/O, reads a clock or touches global mutable
//! state, so every codec is unit-tested with vectors and fuzzed with proptest.

pub mod indi;
pub mod keithley;
pub mod rfc2217;
pub mod scpi;
pub mod turbovac;
