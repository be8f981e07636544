//! The raw-traffic view's model: chunks from every link in arrival order,
//! bounded, each kept as it came; pause that keeps buffering; filters by
//! link, direction and text/hex pattern; repeats and repeated
//! request/reply pairs collapsed into counters when the view is built (so
//! rows stay in time order, `r` applies to what is already there, and a
//! capture holds every frame); hex and decoded renderings; capture text.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;

use super::sanitize;
use labdeck_core::link::{Chunk, Direction, Framing};
use labdeck_core::time::Timestamp;
use labdeck_protocol::turbovac::{
    AccessCode, ResponseCode, TELEGRAM_LEN, Telegram, TelegramError, param_error_name,
};

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
    /// Lines scrolled up from the newest.
    pub scroll: usize,
    pub decoded: bool,
    pub delta: bool,
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
            delta: false,
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

/// Group repeats, newest last. Per link, the rows its last two chunks
/// went into: a chunk like the last row is one more of it; a chunk like
/// the row before, followed (next on its link) by one like the last row,
/// repeats the pair. A row that grows moves to the end, so rows stay in
/// the order of their newest chunk.
fn collapse<'a>(chunks: &[&'a Entry]) -> Vec<Cow<'a, Entry>> {
    // The next chunk of the same link, for a pair's second half.
    let mut next_on_link = vec![None; chunks.len()];
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, e) in chunks.iter().enumerate().rev() {
        next_on_link[i] = seen.insert(&e.link, i);
    }
    let mut rows: Vec<Option<Cow<'a, Entry>>> = Vec::with_capacity(chunks.len());
    // Per link: its last row and the one before; and the row the link's
    // next chunk completes (the reply of a repeated pair).
    let mut tails: HashMap<&str, (usize, Option<usize>)> = HashMap::new();
    let mut expect: HashMap<&str, usize> = HashMap::new();
    let like = |row: &Option<Cow<'a, Entry>>, e: &Entry| {
        row.as_ref()
            .is_some_and(|r| r.dir == e.dir && r.bytes == e.bytes)
    };
    for (i, e) in chunks.iter().enumerate() {
        let link: &str = &e.link;
        let tail = tails.get(link).copied();
        let next = if let Some(reply) = expect.remove(link) {
            let first = tail.map(|t| t.0);
            (grow(&mut rows, reply, e.t), first)
        } else {
            match tail {
                Some((last, before)) if like(&rows[last], e) => {
                    (grow(&mut rows, last, e.t), before)
                }
                Some((last, Some(before)))
                    if like(&rows[before], e)
                        && next_on_link[i].is_some_and(|j| like(&rows[last], chunks[j])) =>
                {
                    expect.insert(link, last);
                    (grow(&mut rows, before, e.t), Some(last))
                }
                _ => {
                    rows.push(Some(Cow::Borrowed(*e)));
                    (rows.len() - 1, tail.map(|t| t.0))
                }
            }
        };
        tails.insert(link, next);
    }
    rows.into_iter().flatten().collect()
}

/// Move row `i` to the end with one more repeat, the last at `t`; its new
/// index.
fn grow(rows: &mut Vec<Option<Cow<'_, Entry>>>, i: usize, t: Timestamp) -> usize {
    if let Some(mut row) = rows[i].take() {
        let r = row.to_mut();
        r.repeats += 1;
        r.last = t;
        rows.push(Some(row));
    }
    rows.len() - 1
}

/// A text or hex pattern for the traffic filter: `02 16` or `0216` as hex
/// (even number of hex digits), anything else as text.
enum Pattern {
    Hex(Vec<u8>),
    Text(String),
}

impl Pattern {
    fn parse(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return None;
        }
        let digits: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len().is_multiple_of(2) && digits.chars().all(|c| c.is_ascii_hexdigit()) {
            let bytes = (0..digits.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
                .collect();
            return Some(Self::Hex(bytes));
        }
        Some(Self::Text(trimmed.to_lowercase()))
    }

    fn matches(&self, bytes: &[u8]) -> bool {
        match self {
            Self::Hex(needle) => bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
            Self::Text(needle) => String::from_utf8_lossy(bytes)
                .to_lowercase()
                .contains(needle),
        }
    }
}

/// Decoded USS telegrams in a chunk, one line each; bytes that are not a
/// telegram (garbage, partial telegrams) as text with control names.
pub fn uss_lines(bytes: &[u8], dir: Direction) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        // A whole telegram but for its checksum is named as such.
        if rest.len() >= TELEGRAM_LEN
            && let Err(e @ TelegramError::Bcc { .. }) = Telegram::decode(&rest[..TELEGRAM_LEN])
        {
            lines.push(format!(
                "checksum error ({e}): {}",
                labdeck_core::link::hex_string(&rest[..TELEGRAM_LEN])
            ));
            rest = &rest[TELEGRAM_LEN..];
            continue;
        }
        let start = (0..rest.len()).find(|&i| {
            rest.len() - i >= TELEGRAM_LEN && Telegram::decode(&rest[i..i + TELEGRAM_LEN]).is_ok()
        });
        let Some(start) = start else {
            let what = if rest[0] == labdeck_protocol::turbovac::STX && rest.len() < TELEGRAM_LEN {
                format!("{} byte(s) of a telegram", rest.len())
            } else {
                format!("{} byte(s) not a telegram", rest.len())
            };
            lines.push(format!("{what}: {}", sanitize::named(rest)));
            break;
        };
        if start > 0 {
            lines.push(format!(
                "{start} byte(s) not a telegram: {}",
                sanitize::named(&rest[..start])
            ));
        }
        if let Ok(t) = Telegram::decode(&rest[start..start + TELEGRAM_LEN]) {
            lines.push(describe(&t, dir));
        }
        rest = &rest[start + TELEGRAM_LEN..];
    }
    lines
}

fn describe(t: &Telegram, dir: Direction) -> String {
    match dir {
        Direction::Tx => {
            let access = match t.access_code() {
                AccessCode::None => String::new(),
                AccessCode::Read | AccessCode::ReadField => {
                    format!("  read P{}[{}]", t.pnu, t.index)
                }
                AccessCode::Write16
                | AccessCode::Write32
                | AccessCode::Write16Field
                | AccessCode::Write32Field => {
                    format!("  write P{}[{}] = {}", t.pnu, t.index, t.pwe)
                }
                AccessCode::Unknown(ak) => format!("  AK {ak} P{}", t.pnu),
            };
            let setpoint = if t
                .control_word()
                .has(labdeck_protocol::turbovac::ControlWord::SETPOINT)
            {
                format!(" setpoint {} Hz", t.frequency())
            } else {
                String::new()
            };
            format!("{}{setpoint}{access}", t.control_word())
        }
        Direction::Rx => {
            let access = match t.response_code() {
                ResponseCode::None => String::new(),
                ResponseCode::Error | ResponseCode::NoWrite => {
                    format!(
                        "  P{}[{}]: error {} {}",
                        t.pnu,
                        t.index,
                        t.pwe,
                        param_error_name(t.pwe)
                    )
                }
                _ => format!("  P{}[{}] = {}", t.pnu, t.index, t.pwe),
            };
            format!(
                "{} f={} Hz T={} °C I={:.1} A U={} V{access}",
                t.status_word(),
                t.frequency(),
                t.temperature(),
                f64::from(t.current()) / 10.0,
                t.voltage()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labdeck_protocol::turbovac::{ControlWord, Telegram};

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

    #[test]
    fn other_links_do_not_break_a_pair() {
        let mut t = Traffic::new(100);
        for _ in 0..3 {
            t.push(&chunk("p", Direction::Tx, b"q"));
            t.push(&chunk("other", Direction::Rx, b"noise"));
            t.push(&chunk("p", Direction::Rx, b"a"));
        }
        let p: Vec<u32> = t
            .visible()
            .iter()
            .filter(|e| &*e.link == "p")
            .map(|e| e.repeats)
            .collect();
        assert_eq!(p, vec![3, 3]);
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
        let pump: Vec<u32> = t
            .visible()
            .iter()
            .filter(|e| &*e.link == "pump")
            .map(|e| e.repeats)
            .collect();
        assert_eq!(pump, vec![3, 3]);
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
