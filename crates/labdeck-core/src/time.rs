//! Moments, kept both as wall-clock time (for display and files) and as a
//! monotonic instant (for deltas and ordering). The bottom layer: every
//! module may use it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::time::Instant;

/// `0.5`, `500ms`, `2s`, `1.5min`, `1h` as a duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.trim().parse().ok()?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    let secs = number * scale;
    (secs.is_finite() && secs > 0.0 && secs < 1e9).then(|| Duration::from_secs_f64(secs))
}

/// A moment on both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub wall: SystemTime,
    pub mono: Instant,
}

impl Timestamp {
    pub fn now() -> Self {
        Self {
            wall: SystemTime::now(),
            mono: Instant::now(),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> f64 {
        self.wall
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64()
    }

    /// The timestamp of another monotonic instant, placed relative to this one.
    #[must_use]
    pub fn at(&self, mono: Instant) -> Timestamp {
        let wall = match mono.checked_duration_since(self.mono) {
            Some(ahead) => self.wall + ahead,
            None => self.wall - self.mono.duration_since(mono),
        };
        Timestamp { wall, mono }
    }

    /// A wall-clock time from elsewhere (a file, another process): its
    /// monotonic instant is placed as far before or after now as its wall
    /// time is.
    pub fn from_unix(secs: f64) -> Self {
        let wall = UNIX_EPOCH + Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or_default();
        Self::now().at_wall(wall)
    }

    fn at_wall(self, wall: SystemTime) -> Self {
        let mono = match wall.duration_since(self.wall) {
            Ok(ahead) => self.mono + ahead,
            Err(behind) => self
                .mono
                .checked_sub(behind.duration())
                .unwrap_or(self.mono),
        };
        Self { wall, mono }
    }
}

/// On the wire a timestamp is Unix seconds with microseconds.
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((self.unix() * 1e6).round() / 1e6)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(Self::from_unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_survives_the_wire_to_the_microsecond() {
        let t = Timestamp::now();
        let json = serde_json::to_string(&t).unwrap();
        let back: Timestamp = serde_json::from_str(&json).unwrap();
        let diff = (back.unix() - t.unix()).abs();
        assert!(diff < 2e-6, "{diff}");
        // The monotonic side is placed where the wall time says.
        let gap = back
            .mono
            .checked_duration_since(t.mono)
            .unwrap_or_else(|| t.mono.duration_since(back.mono));
        assert!(gap < Duration::from_millis(50), "{gap:?}");
    }
}
