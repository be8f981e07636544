//! When the console draws and when it listens to the lab. Keys are drawn
//! at once (at most `frame-rate` times a second); what the lab changes by
//! itself — values, traffic, states — is taken in bursts, at most
//! `data-rate` times a second, and drawn with the burst. Between bursts
//! the console does not listen: events wait on the bus, so a pump polled
//! at 10 Hz and its traffic wake the console five times a second, not
//! fifty.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Pacer {
    frame: Duration,
    data: Duration,
    last_draw: Option<Instant>,
    draw_at: Option<Instant>,
    /// While set, the lab is not listened to until then.
    data_opens: Option<Instant>,
}

impl Pacer {
    pub fn new(frame_rate: u32, data_rate: u32) -> Self {
        let every = |rate: u32| Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        Self {
            frame: every(frame_rate),
            data: every(data_rate.min(frame_rate)),
            last_draw: None,
            draw_at: None,
            data_opens: None,
        }
    }

    /// Whether a change in the lab may wake the console now.
    pub fn listening(&self) -> bool {
        self.data_opens.is_none()
    }

    /// When the console listens again, while it does not.
    pub fn data_opens(&self) -> Option<Instant> {
        self.data_opens
    }

    /// A burst was taken: the next one waits a data interval.
    pub fn took_data(&mut self, now: Instant) {
        self.data_opens = Some(now + self.data);
    }

    /// The interval is over and what waited was taken; with nothing
    /// waiting, listen again, else wait another interval.
    pub fn reopened(&mut self, now: Instant, took_any: bool) {
        self.data_opens = took_any.then(|| now + self.data);
    }

    /// Something visible changed: draw now, or as soon as the frame rate
    /// allows.
    pub fn want_draw(&mut self, now: Instant) {
        let allowed = self
            .last_draw
            .map_or(now, |last| (last + self.frame).max(now));
        self.draw_at = Some(self.draw_at.map_or(allowed, |at| at.min(allowed)));
    }

    /// When the next draw is due, if one is wanted.
    pub fn draw_at(&self) -> Option<Instant> {
        self.draw_at
    }

    pub fn due(&self, now: Instant) -> bool {
        self.draw_at.is_some_and(|at| at <= now)
    }

    pub fn drew(&mut self, now: Instant) {
        self.last_draw = Some(now);
        self.draw_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn keys_draw_at_the_frame_rate_data_at_the_data_rate() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(30, 5);
        pacer.want_draw(t0);
        assert!(pacer.due(t0), "the first frame at once");
        pacer.drew(t0);
        // A key 10 ms later waits for the 33 ms frame interval.
        pacer.want_draw(t0 + 10 * MS);
        assert!(!pacer.due(t0 + 20 * MS));
        assert!(pacer.due(t0 + 34 * MS));
        pacer.drew(t0 + 34 * MS);
        // A burst of data closes the lab for 200 ms.
        assert!(pacer.listening());
        pacer.took_data(t0 + 40 * MS);
        assert!(!pacer.listening());
        assert_eq!(pacer.data_opens(), Some(t0 + 240 * MS));
        // More was waiting: another interval; nothing: listen again.
        pacer.reopened(t0 + 240 * MS, true);
        assert_eq!(pacer.data_opens(), Some(t0 + 440 * MS));
        pacer.reopened(t0 + 440 * MS, false);
        assert!(pacer.listening());
    }

    #[test]
    fn an_earlier_wish_wins_and_a_draw_clears_it() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(10, 10);
        pacer.drew(t0);
        pacer.want_draw(t0 + 50 * MS);
        assert_eq!(pacer.draw_at(), Some(t0 + 100 * MS));
        pacer.want_draw(t0 + 300 * MS);
        assert_eq!(
            pacer.draw_at(),
            Some(t0 + 100 * MS),
            "the earlier one stays"
        );
        pacer.drew(t0 + 100 * MS);
        assert_eq!(pacer.draw_at(), None);
    }

    #[test]
    fn data_never_faster_than_frames() {
        let pacer = Pacer::new(4, 30);
        assert_eq!(pacer.data, pacer.frame);
    }
}
