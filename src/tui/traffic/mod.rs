//! The raw-traffic view's model: chunks from every link in arrival order,
//! bounded, each kept as it came; pause that keeps buffering; filters by
//! link, direction and text/hex pattern; repeats and repeated
//! request/reply pairs collapsed into counters when the view is built (so
//! rows stay in time order, `r` applies to what is already there, and a
//! capture holds every frame); hex and decoded renderings; capture text.

mod collapse;
mod frame;
mod pattern;
mod uss;

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;

use self::collapse::collapse;
use self::pattern::Pattern;
pub use self::uss::uss_lines;
use super::sanitize;
use labdeck_core::link::{Chunk, Direction, Framing};
use labdeck_core::time::Timestamp;

/// Which taps the view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkFilter {
    /// Every link, but not the simulators' own taps (they mirror the links).
    Links,
    /// One tap.
    One(Arc<str>),
    /// Links and simulator taps.
    All,
}

impl LinkFilter {
    pub fn label(&self) -> String {
        match self {
            Self::Links => "links".into(),
            Self::One(name) => super::sanitize::text(name).into_owned(),
            Self::All => "links+simulators".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirFilter {
    Both,
    Tx,
    Rx,
}

impl DirFilter {
    pub fn next(self) -> Self {
        match self {
            Self::Both => Self::Tx,
            Self::Tx => Self::Rx,
            Self::Rx => Self::Both,
        }
    }

    fn admits(self, dir: Direction) -> bool {
        matches!(
            (self, dir),
            (Self::Both, _) | (Self::Tx, Direction::Tx) | (Self::Rx, Direction::Rx)
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Both => "TX+RX",
            Self::Tx => "TX",
            Self::Rx => "RX",
        }
    }
}

/// How the time column reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    /// Wall clock of the (newest) chunk.
    Clock,
    /// Seconds since the row above.
    Delta,
    /// Both side by side.
    Both,
}

impl TimeMode {
    pub fn next(self) -> Self {
        match self {
            Self::Clock => Self::Delta,
            Self::Delta => Self::Both,
            Self::Both => Self::Clock,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Clock => "clock",
            Self::Delta => "delta",
            Self::Both => "clock+delta",
        }
    }
}

/// One chunk, or a run of identical ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub link: Arc<str>,
    pub dir: Direction,
    pub t: Timestamp,
    /// When the last repeat arrived.
    pub last: Timestamp,
    pub bytes: Bytes,
    pub repeats: u32,
}

#[derive(Debug, Clone)]
pub struct Traffic {
    /// Every chunk as it came, oldest first (`repeats` 1).
    entries: VecDeque<Entry>,
    capacity: usize,
    next_seq: u64,
    framing: HashMap<Arc<str>, Framing>,
    /// Sequence number of the newest entry shown when paused.
    pub paused_at: Option<u64>,
    /// The selected row, counted up from the newest (0: the newest).
    pub scroll: usize,
    pub decoded: bool,
    pub time: TimeMode,
    /// Long frames continue on the next lines instead of being cut.
    pub wrap: bool,
    /// Rows whose bytes or rendering contain this are highlighted, and
    /// `n`/`N` go to them.
    pub search: String,
    pub dir: DirFilter,
    pub link: LinkFilter,
    /// Taps that belong to simulators, hidden under `LinkFilter::Links`.
    simulator_taps: Vec<Arc<str>>,
    pub collapse: bool,
    pub pattern: String,
    /// Chunks the view never saw (event bus lag).
    pub lost: u64,
    /// Entries pushed out of the ring.
    pub evicted: u64,
}

impl Traffic {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity: capacity.max(16),
            next_seq: 0,
            framing: HashMap::new(),
            paused_at: None,
            scroll: 0,
            decoded: false,
            time: TimeMode::Clock,
            wrap: false,
            search: String::new(),
            dir: DirFilter::Both,
            link: LinkFilter::Links,
            simulator_taps: Vec::new(),
            collapse: true,
            pattern: String::new(),
            lost: 0,
            evicted: 0,
        }
    }

    pub fn set_framing(&mut self, link: Arc<str>, framing: Framing) {
        self.framing.insert(link, framing);
    }

    pub fn add_simulator_tap(&mut self, name: Arc<str>) {
        self.simulator_taps.push(name);
    }

    /// Next in the cycle: links, each tap, everything.
    pub fn cycle_link(&mut self, taps: &[Arc<str>]) {
        self.link = match &self.link {
            LinkFilter::Links => taps
                .first()
                .cloned()
                .map_or(LinkFilter::All, LinkFilter::One),
            LinkFilter::One(current) => match taps.iter().skip_while(|t| *t != current).nth(1) {
                Some(next) => LinkFilter::One(next.clone()),
                None => LinkFilter::All,
            },
            LinkFilter::All => LinkFilter::Links,
        };
    }

    fn shows(&self, link: &Arc<str>) -> bool {
        match &self.link {
            LinkFilter::Links => !self.simulator_taps.contains(link),
            LinkFilter::One(one) => one == link,
            LinkFilter::All => true,
        }
    }

    pub fn framing(&self, link: &str) -> Framing {
        self.framing.get(link).copied().unwrap_or(Framing::Raw)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn paused(&self) -> bool {
        self.paused_at.is_some()
    }

    pub fn toggle_pause(&mut self) {
        self.paused_at = match self.paused_at {
            Some(_) => {
                self.scroll = 0;
                None
            }
            None => Some(self.next_seq.saturating_sub(1)),
        };
    }

    /// Entries that arrived since the pause.
    pub fn lag(&self) -> u64 {
        self.paused_at.map_or(0, |at| {
            self.entries.back().map_or(0, |e| e.seq.saturating_sub(at))
        })
    }

    /// Record a chunk.
    pub fn push(&mut self, chunk: &Chunk) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
            self.evicted += 1;
        }
        self.entries.push_back(Entry {
            seq: self.next_seq,
            link: chunk.link.clone(),
            dir: chunk.dir,
            t: chunk.t,
            last: chunk.t,
            bytes: chunk.bytes.clone(),
            repeats: 1,
        });
        self.next_seq += 1;
    }

    /// Chunks passing the filters, oldest first, cut at the pause mark.
    fn admitted(&self) -> Vec<&Entry> {
        let pattern = Pattern::parse(&self.pattern);
        self.entries
            .iter()
            .filter(|e| {
                self.paused_at.is_none_or(|at| e.seq <= at)
                    && self.dir.admits(e.dir)
                    && self.shows(&e.link)
                    && pattern.as_ref().is_none_or(|p| p.matches(&e.bytes))
            })
            .collect()
    }

    /// The rows to show, in the order of their last chunk: every chunk
    /// passing the filters, or with collapsing on, a chunk that repeats
    /// its link's last row (or a request/reply pair that repeats its
    /// link's last two) counted into it, the row moving down to where its
    /// newest repeat arrived.
    pub fn visible(&self) -> Vec<Cow<'_, Entry>> {
        let chunks = self.admitted();
        if !self.collapse {
            return chunks.into_iter().map(Cow::Borrowed).collect();
        }
        collapse(&chunks)
    }

    /// Whether a row matches the search (its bytes, as text or hex, or
    /// its rendering).
    pub fn found(&self, entry: &Entry) -> bool {
        let Some(pattern) = Pattern::parse(&self.search) else {
            return false;
        };
        let needle = self.search.trim().to_lowercase();
        pattern.matches(&entry.bytes)
            || self
                .render(entry)
                .iter()
                .any(|line| line.to_lowercase().contains(&needle))
    }

    /// The next matching row from the selected one: older (up) or newer
    /// (down), wrapping around; its distance from the newest row, and how
    /// many rows match.
    pub fn find(&self, older: bool) -> Option<(usize, usize)> {
        self.find_from(Some(self.scroll), older)
    }

    /// The newest matching row (see [`Traffic::find`]).
    pub fn newest_hit(&self) -> Option<(usize, usize)> {
        self.find_from(None, true)
    }

    /// From the row `here` rows up (none: from below the newest).
    fn find_from(&self, here: Option<usize>, older: bool) -> Option<(usize, usize)> {
        let rows = self.visible();
        let hits: Vec<usize> = (0..rows.len())
            .filter(|&i| self.found(&rows[i]))
            .map(|i| rows.len() - 1 - i)
            .collect();
        let next = match (here, older) {
            (None, _) => hits.last(),
            (Some(here), true) => hits.iter().rev().find(|&&d| d > here).or(hits.last()),
            (Some(here), false) => hits.iter().find(|&&d| d < here).or(hits.first()),
        };
        next.map(|&d| (d, hits.len()))
    }

    /// The last chunk sent on `entry`'s link before it: the request a
    /// reply answers.
    pub fn request_of(&self, entry: &Entry) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .skip_while(|e| e.seq >= entry.seq)
            .find(|e| e.link == entry.link && e.dir == Direction::Tx)
    }

    /// Whether a row is shown as hex and ASCII.
    pub fn shows_hex(&self, entry: &Entry) -> bool {
        !self.decoded
            && !matches!(
                self.framing(&entry.link),
                Framing::TextLines | Framing::IndiXml
            )
    }

    /// A row wrapped to `width` columns: hex as whole bytes with their
    /// ASCII on each line, text broken between words where it can be.
    pub fn render_wrapped(&self, entry: &Entry, width: usize) -> Vec<String> {
        if self.shows_hex(entry) {
            // Each byte takes "xx " and one ASCII column; "  ||" around.
            let per_line = (width.saturating_sub(3) / 4).max(1);
            return entry
                .bytes
                .chunks(per_line)
                .map(|c| {
                    format!(
                        "{:<pad$}  |{}|",
                        labdeck_core::link::hex_string(c),
                        sanitize::dots(c),
                        pad = per_line * 3 - 1
                    )
                })
                .collect();
        }
        self.render(entry)
            .iter()
            .flat_map(|line| crate::format::wrap_words(line, width))
            .collect()
    }

    /// One text line per entry (two when a telegram pair shares a chunk).
    pub fn render(&self, entry: &Entry) -> Vec<String> {
        let framing = self.framing(&entry.link);
        match (self.decoded, framing) {
            (true, Framing::UssTelegrams) => uss_lines(&entry.bytes, entry.dir),
            (true, _) | (false, Framing::TextLines | Framing::IndiXml) => {
                vec![sanitize::named(&entry.bytes)]
            }
            (false, _) => vec![format!(
                "{}  |{}|",
                labdeck_core::link::hex_string(&entry.bytes),
                sanitize::dots(&entry.bytes)
            )],
        }
    }

    /// The history as text: every frame that passes the filters, never
    /// collapsed, absolute timestamps, one line per chunk (two when a
    /// telegram pair shares one).
    pub fn capture_text(&self, clock: impl Fn(&Timestamp) -> String) -> String {
        let mut out = String::new();
        for e in self.admitted() {
            for (i, body) in self.render(e).into_iter().enumerate() {
                let time = if i == 0 {
                    clock(&e.t)
                } else {
                    " ".repeat(clock(&e.t).len())
                };
                let _ = writeln!(out, "{time}  {} {}  {body}", e.dir.as_str(), e.link);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labdeck_protocol::turbovac::{AccessCode, ControlWord, Telegram};

    fn chunk(link: &str, dir: Direction, bytes: &[u8]) -> Chunk {
        Chunk {
            link: link.into(),
            epoch: 1,
            dir,
            t: Timestamp::now(),
            bytes: Bytes::copy_from_slice(bytes),
        }
    }

    fn shape(t: &Traffic) -> Vec<(Direction, Vec<u8>, u32)> {
        t.visible()
            .iter()
            .map(|e| (e.dir, e.bytes.to_vec(), e.repeats))
            .collect()
    }

    #[test]
    fn repeated_pairs_collapse_in_order() {
        let mut t = Traffic::new(100);
        for _ in 0..5 {
            t.push(&chunk("p", Direction::Tx, b"q"));
            t.push(&chunk("p", Direction::Rx, b"a"));
        }
        assert_eq!(
            shape(&t),
            vec![
                (Direction::Tx, b"q".to_vec(), 5),
                (Direction::Rx, b"a".to_vec(), 5)
            ]
        );
        // A changing reply breaks the pair: the speculative merge is undone.
        t.push(&chunk("p", Direction::Tx, b"q"));
        // Until the reply comes, the view shows the poll on its own line.
        let shown: Vec<u32> = t.visible().iter().map(|e| e.repeats).collect();
        assert_eq!(shown, vec![5, 5, 1]);
        t.push(&chunk("p", Direction::Rx, b"b"));
        assert_eq!(
            shape(&t),
            vec![
                (Direction::Tx, b"q".to_vec(), 5),
                (Direction::Rx, b"a".to_vec(), 5),
                (Direction::Tx, b"q".to_vec(), 1),
                (Direction::Rx, b"b".to_vec(), 1),
            ]
        );
        // Uncollapsed, every chunk is its own row again.
        t.collapse = false;
        assert_eq!(t.visible().len(), 12);
    }

    #[test]
    fn a_bad_checksum_is_named() {
        let mut bytes = Telegram::query(ControlWord::POLL.0, AccessCode::None, 0, 0, 0).encode();
        bytes[23] ^= 0xff;
        let lines = uss_lines(&bytes, Direction::Tx);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("checksum error (BCC is"), "{lines:?}");
    }

    #[test]
    fn a_collapsed_link_stays_in_view_among_a_busier_one() {
        let mut t = Traffic::new(1000);
        for i in 0..50u8 {
            t.push(&chunk("pump", Direction::Tx, b"q"));
            t.push(&chunk("pump", Direction::Rx, b"a"));
            // The other link's replies all differ: none collapses.
            t.push(&chunk("em", Direction::Tx, b"READ?"));
            t.push(&chunk("em", Direction::Rx, &[i]));
        }
        let rows = t.visible();
        // The pump's pair is near the bottom, not 98 rows up.
        let pump: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, e)| &*e.link == "pump")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(pump.len(), 2);
        assert!(pump[0] >= rows.len() - 4, "{pump:?} of {}", rows.len());
        assert_eq!(rows[pump[0]].repeats, 50);
    }

    proptest::proptest! {
        /// Whatever the interleaving: rows in the order of their newest
        /// chunk, every chunk counted once, every frame in a capture.
        #[test]
        fn collapsing_keeps_time_order_and_every_frame(
            script in proptest::collection::vec((0..3usize, 0..2usize, 0..3u8), 0..200)
        ) {
            let links = ["a", "b", "c"];
            let mut t = Traffic::new(10_000);
            let base = Timestamp::now();
            for (n, (link, dir, byte)) in script.iter().enumerate() {
                let dir = if *dir == 0 { Direction::Tx } else { Direction::Rx };
                let mut c = chunk(links[*link], dir, &[*byte]);
                c.t = Timestamp {
                    mono: base.mono + std::time::Duration::from_millis(n as u64),
                    ..base
                };
                t.push(&c);
            }
            let rows = t.visible();
            proptest::prop_assert!(rows.windows(2).all(|w| w[0].last.mono <= w[1].last.mono));
            let counted: u32 = rows.iter().map(|e| e.repeats).sum();
            proptest::prop_assert_eq!(counted as usize, script.len());
            let captured = t.capture_text(|_| "t".into()).lines().count();
            proptest::prop_assert_eq!(captured, script.len());
        }
    }

    /// The repeat count of each visible row of `link`.
    fn repeats(t: &Traffic, link: &str) -> Vec<u32> {
        t.visible()
            .iter()
            .filter(|e| &*e.link == link)
            .map(|e| e.repeats)
            .collect()
    }

    #[test]
    fn other_links_do_not_break_a_pair() {
        let mut t = Traffic::new(100);
        for _ in 0..3 {
            t.push(&chunk("p", Direction::Tx, b"q"));
            t.push(&chunk("other", Direction::Rx, b"noise"));
            t.push(&chunk("p", Direction::Rx, b"a"));
        }
        assert_eq!(repeats(&t, "p"), vec![3, 3]);
    }

    #[test]
    fn pairs_on_two_links_are_judged_separately() {
        use Direction::{Rx, Tx};
        let mut t = Traffic::new(100);
        for n in 0..3u8 {
            t.push(&chunk("em", Direction::Tx, b"READ?"));
            t.push(&chunk("pump", Direction::Tx, b"q"));
            t.push(&chunk("em", Direction::Rx, &[b'0' + n]));
            t.push(&chunk("pump", Direction::Rx, b"a"));
        }
        let em: Vec<(Direction, u32)> = t
            .visible()
            .iter()
            .filter(|e| &*e.link == "em")
            .map(|e| (e.dir, e.repeats))
            .collect();
        assert_eq!(
            em,
            vec![(Tx, 1), (Rx, 1), (Tx, 1), (Rx, 1), (Tx, 1), (Rx, 1)]
        );
        assert_eq!(repeats(&t, "pump"), vec![3, 3]);
    }

    #[test]
    fn pause_keeps_buffering_and_counts_lag() {
        let mut t = Traffic::new(100);
        t.collapse = false;
        t.push(&chunk("p", Direction::Tx, b"1"));
        t.toggle_pause();
        t.push(&chunk("p", Direction::Tx, b"2"));
        t.push(&chunk("p", Direction::Tx, b"3"));
        assert_eq!(t.visible().len(), 1);
        assert_eq!(t.lag(), 2);
        t.toggle_pause();
        assert_eq!(t.visible().len(), 3);
    }

    #[test]
    fn the_ring_is_bounded() {
        let mut t = Traffic::new(16);
        t.collapse = false;
        for n in 0..40u8 {
            t.push(&chunk("p", Direction::Rx, &[n]));
        }
        assert_eq!(t.len(), 16);
        assert_eq!(t.evicted, 24);
    }

    #[test]
    fn filters_by_direction_link_and_pattern() {
        let mut t = Traffic::new(100);
        t.collapse = false;
        t.push(&chunk("a", Direction::Tx, b"*IDN?\n"));
        t.push(&chunk("a", Direction::Rx, b"KEITHLEY\n"));
        t.push(&chunk("b", Direction::Tx, &[0x02, 0x16, 0x00]));
        t.dir = DirFilter::Tx;
        assert_eq!(t.visible().len(), 2);
        t.dir = DirFilter::Both;
        t.link = LinkFilter::One("a".into());
        assert_eq!(t.visible().len(), 2);
        t.link = LinkFilter::Links;
        t.add_simulator_tap("b".into());
        assert_eq!(t.visible().len(), 2);
        t.link = LinkFilter::All;
        t.pattern = "02 16".into();
        assert_eq!(t.visible().len(), 1);
        t.pattern = "keith".into();
        assert_eq!(t.visible().len(), 1);
    }

    #[test]
    fn renders_hex_text_and_uss() {
        let mut t = Traffic::new(100);
        t.set_framing("pump".into(), Framing::UssTelegrams);
        t.set_framing("scpi".into(), Framing::TextLines);
        let poll = Telegram::query(ControlWord::RUN.0, AccessCode::Read, 24, 0, 0).encode();
        t.push(&chunk("pump", Direction::Tx, &poll));
        t.push(&chunk("scpi", Direction::Rx, b"\x1b[2J+1.0E-12\r\n"));
        let e: Vec<Entry> = t.entries.iter().cloned().collect();
        assert!(
            t.render(&e[0])[0].starts_with("02 16 00 10 18"),
            "{:?}",
            t.render(&e[0])
        );
        assert_eq!(t.render(&e[1]), vec!["<ESC>[2J+1.0E-12<CR><LF>"]);
        t.decoded = true;
        assert_eq!(t.render(&e[0]), vec!["COMMAND|ON  read P24[0]"]);
        let two = [poll, poll].concat();
        assert_eq!(uss_lines(&two, Direction::Tx).len(), 2);
        assert!(uss_lines(&poll[..10], Direction::Rx)[0].starts_with("10 byte(s) of a telegram"));
        let noisy = [b"\x1b[2J".as_slice(), &poll].concat();
        assert_eq!(
            uss_lines(&noisy, Direction::Rx)[0],
            "4 byte(s) not a telegram: <ESC>[2J"
        );
    }
}
