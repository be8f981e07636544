//! A fixed console model for the snapshot tests and the render benchmark,
//! built on the core's sample lab (`labdeck_core::testing`, behind its
//! `testing` feature): a pump on a virtual port, an electrometer-like TCP
//! link in recovery, any number of extra pumps, and traffic. Not part of
//! the product's API.

use tokio::time::Instant;

use labdeck::tui::{BUILTIN_THEMES, Data, Setup};

// Not every test that includes `common` uses every part.
#[allow(unused_imports)]
pub use labdeck_core::testing::{at, pump_properties, traffic};

/// Setup and data: `extra` more pumps beyond the first two links.
pub fn sample(base: Instant, extra: usize) -> (Setup, Data) {
    let data = labdeck_core::testing::lab(base, extra);
    let themes = BUILTIN_THEMES.iter().map(ToString::to_string).collect();
    let mut setup = Setup::from_snapshot(&data, themes, 10_000);
    // The TCP link in recovery has no device; it speaks SCPI.
    setup
        .framing
        .insert("scpi".into(), labdeck_core::link::Framing::TextLines);
    (setup, data)
}
