//! labdeck's front ends over the core's Hub: the console (`tui`), the
//! headless `serve` and `sim` commands with the text command language
//! (`headless`), and the INDI server (`indi`).

pub mod daemon;
pub mod format;
pub mod headless;
pub mod indi;
pub mod memory;
pub mod replay;
pub mod tui;
