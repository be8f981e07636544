//! Triggered acquisition: after `:INIT` readings are taken at the trigger
//! rate (the integration time for `IMM`, `:TRIG:TIM` for `TIM`, one per
//! `*TRG` for `BUS`) and fed to the buffer. Readings are made lazily when
//! the instrument is next asked, on the fixed grid they would have had.

use serde::{Deserialize, Serialize};

use super::{FeedControl, Instrument};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerSource {
    Immediate,
    Timer,
    Bus,
    Manual,
    External,
}

impl TriggerSource {
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "IMM" | "IMMEDIATE" => Self::Immediate,
            "TIM" | "TIMER" => Self::Timer,
            "BUS" => Self::Bus,
            "MAN" | "MANUAL" => Self::Manual,
            "EXT" | "EXTERNAL" | "TLIN" | "TLINK" => Self::External,
            _ => return None,
        })
    }

    pub fn mnemonic(self) -> &'static str {
        match self {
            Self::Immediate => "IMM",
            Self::Timer => "TIM",
            Self::Bus => "BUS",
            Self::Manual => "MAN",
            Self::External => "EXT",
        }
    }
}

/// An acquisition in progress.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Acquisition {
    pub start: f64,
    /// Seconds between readings; `None` when triggers come from outside.
    pub period: Option<f64>,
    /// Readings still to take; `None` = until aborted or the buffer is full.
    pub remaining: Option<u64>,
    pub taken: u64,
}

/// Readings made in one catch-up at most, so a long idle time costs little.
const MAX_CATCH_UP: u64 = 2_000_000;

impl Instrument {
    /// `:INIT`: start taking readings.
    pub(super) fn initiate(&mut self, now: f64) -> Result<(), crate::protocol::scpi::ScpiError> {
        if self.acquisition.is_some() {
            return Err(crate::protocol::scpi::ScpiError::INIT_IGNORED);
        }
        let integration = self.model.integration_time(self.settings().nplc)
            * f64::from(self.settings().filter_count());
        let period = match self.trigger_source {
            TriggerSource::Immediate => Some(integration.max(1e-4)),
            TriggerSource::Timer => Some(self.trigger_timer.max(integration).max(1e-4)),
            _ => None,
        };
        self.acquisition = Some(Acquisition {
            start: now + self.trigger_delay,
            period,
            remaining: self.trigger_count.filter(|c| *c > 1),
            taken: 0,
        });
        Ok(())
    }

    pub(super) fn abort(&mut self) {
        self.acquisition = None;
    }

    /// `*TRG`: one reading of a bus-triggered acquisition.
    pub(super) fn bus_trigger(&mut self, now: f64) {
        if let Some(acq) = self.acquisition
            && acq.period.is_none()
        {
            self.take_reading(now);
            self.count_reading();
        }
    }

    fn count_reading(&mut self) {
        let done = match &mut self.acquisition {
            Some(acq) => {
                acq.taken += 1;
                if let Some(r) = &mut acq.remaining {
                    *r = r.saturating_sub(1);
                }
                acq.remaining == Some(0)
            }
            None => false,
        };
        let full = self.trace_control == FeedControl::Never
            && self.measurement_event & super::BUFFER_FULL != 0;
        if (done || full) && !self.continuous {
            self.acquisition = None;
        }
    }

    /// Make the readings that fell due since the last call.
    pub(super) fn update(&mut self, now: f64) {
        let Some(acq) = self.acquisition else { return };
        let Some(period) = acq.period else { return };
        if now < acq.start {
            return;
        }
        let due = ((now - acq.start) / period).floor() as u64 + 1;
        let feeding =
            self.trace_feed != super::Feed::None && self.trace_control != FeedControl::Never;
        if !feeding && acq.remaining.is_none() && due > acq.taken + 1 {
            // Nothing keeps these readings: only the newest matters.
            if let Some(a) = &mut self.acquisition {
                a.taken = due - 1;
            }
        }
        let taken = self.acquisition.map_or(0, |a| a.taken);
        let mut todo = due.saturating_sub(taken).min(MAX_CATCH_UP);
        if let Some(remaining) = acq.remaining {
            todo = todo.min(remaining);
        }
        for _ in 0..todo {
            let taken = self.acquisition.map_or(0, |a| a.taken);
            let at = acq.start + period * taken as f64;
            self.take_reading(at);
            self.count_reading();
            if self.acquisition.is_none() {
                break;
            }
        }
    }
}
