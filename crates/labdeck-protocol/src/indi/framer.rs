//! Cutting the root-less INDI stream into top-level elements. Bytes come
//! in chunks split anywhere; each complete element is handed out whole.
//! Text between elements is skipped, `<?xml …?>` and comments too; a
//! DOCTYPE (entity definitions) is refused, as are elements over their
//! size limit, tags (comments, declarations) over theirs, and nesting past
//! the depth limit.
//!
//! The scan is incremental: every byte is looked at once however the
//! stream is cut, and an unterminated tag is refused once it passes its
//! limit, so a peer streaming an endless `<getProperties ` costs O(n).

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("element <{name}> is larger than {limit} bytes")]
    TooLarge { name: String, limit: usize },
    #[error("a tag, comment or declaration longer than {limit} bytes (never closed)")]
    TagTooLong { limit: usize },
    #[error("elements nested deeper than {0}")]
    TooDeep(usize),
    #[error("a DOCTYPE is not accepted (no entity definitions)")]
    Doctype,
    #[error("unexpected end tag at the top level")]
    StrayEnd,
    #[error("text outside any element: {0:?}")]
    StrayText(String),
}

/// Limits of one peer's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `*BLOBVector` elements.
    pub blob_element: usize,
    /// Every other element.
    pub element: usize,
    /// One tag with its attributes, one comment or declaration.
    pub tag: usize,
    pub depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            blob_element: 64 * 1024 * 1024,
            element: 1024 * 1024,
            tag: 64 * 1024,
            depth: 8,
        }
    }
}

/// Above this capacity an idle buffer is given back to the allocator.
const KEEP_CAPACITY: usize = 64 * 1024;

/// What the scan position is in. Offsets count from the start of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Text,
    /// A `<` at `at`, not yet classified.
    Open {
        at: usize,
    },
    /// A start or end tag; `quote` is the open attribute quote.
    Tag {
        at: usize,
        quote: Option<u8>,
        end_tag: bool,
    },
    /// A comment, processing instruction or CDATA section: skipped up to
    /// `close`, which is searched from `from` on.
    Until {
        at: usize,
        from: usize,
        close: &'static [u8],
    },
}

/// The top-level element being framed.
#[derive(Debug, Clone)]
struct Top {
    start: usize,
    limit: usize,
    name: String,
}

#[derive(Debug, Clone)]
pub struct ElementFramer {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: usize,
    /// Everything before this is handed out or skipped.
    done: usize,
    /// Everything before this is scanned.
    pos: usize,
    lex: Lex,
    depth: usize,
    top: Option<Top>,
    limits: Limits,
}

impl ElementFramer {
    pub fn new(limits: Limits) -> Self {
        Self {
            buf: Vec::new(),
            base: 0,
            done: 0,
            pos: 0,
            lex: Lex::Text,
            depth: 0,
            top: None,
            limits,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        // Forget what is handed out before growing (amortised: each byte
        // is moved at most once per push that follows it).
        self.buf.drain(..self.done - self.base);
        self.base = self.done;
        if self.buf.is_empty() && self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held for an element not yet complete.
    pub fn pending(&self) -> usize {
        self.end() - self.done
    }

    fn end(&self) -> usize {
        self.base + self.buf.len()
    }

    /// The bytes at stream offsets `from..to`.
    fn bytes(&self, from: usize, to: usize) -> &[u8] {
        &self.buf[from - self.base..to - self.base]
    }

    fn limit_for(&self, name: &str) -> usize {
        if name.ends_with("BLOBVector") {
            self.limits.blob_element
        } else {
            self.limits.element
        }
    }

    /// The next complete top-level element, an error, or `None` until more
    /// bytes arrive. After `StrayText` and `StrayEnd` the stream goes on;
    /// the other errors mean it cannot.
    pub fn next_element(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        if let Some(found) = self.scan() {
            return Some(found);
        }
        self.over_limit().map(Err)
    }

    /// Whether what is held already breaks a limit.
    fn over_limit(&self) -> Option<FrameError> {
        if let Lex::Tag { at, .. } | Lex::Until { at, .. } | Lex::Open { at } = self.lex
            && self.pos - at > self.limits.tag
        {
            return Some(FrameError::TagTooLong {
                limit: self.limits.tag,
            });
        }
        let top = self.top.as_ref()?;
        (self.pos - top.start > top.limit).then(|| FrameError::TooLarge {
            name: top.name.clone(),
            limit: top.limit,
        })
    }

    fn scan(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        loop {
            match self.lex {
                Lex::Text => {
                    if let Some(stray) = self.text() {
                        return Some(Err(stray));
                    }
                    if self.pos == self.end() {
                        return None;
                    }
                    // At a `<`.
                    if self.depth == 0 {
                        self.top = Some(Top {
                            start: self.pos,
                            limit: self.limits.element,
                            name: String::new(),
                        });
                    }
                    self.lex = Lex::Open { at: self.pos };
                }
                Lex::Open { at } => {
                    let head = self.bytes(at, self.end().min(at + 9));
                    let &kind = head.get(1)?;
                    self.lex = match kind {
                        b'?' => Lex::Until {
                            at,
                            from: at + 2,
                            close: b"?>",
                        },
                        b'!' if head.starts_with(b"<!--") => Lex::Until {
                            at,
                            from: at + 4,
                            close: b"-->",
                        },
                        // Character data inside an element: it is text.
                        b'!' if head.starts_with(b"<![CDATA[") => Lex::Until {
                            at,
                            from: at + 9,
                            close: b"]]>",
                        },
                        b'!' if b"<!--".starts_with(head) || b"<![CDATA[".starts_with(head) => {
                            return None;
                        }
                        // <!DOCTYPE, <!ENTITY …: declarations are not accepted.
                        b'!' => return Some(Err(FrameError::Doctype)),
                        b'/' => Lex::Tag {
                            at,
                            quote: None,
                            end_tag: true,
                        },
                        _ => Lex::Tag {
                            at,
                            quote: None,
                            end_tag: false,
                        },
                    };
                    self.pos = at + 1;
                }
                Lex::Tag { at, quote, end_tag } => {
                    let end = self.tag_end(at, quote, end_tag)?;
                    self.lex = Lex::Text;
                    self.pos = end;
                    let found = if end_tag {
                        self.end_tag(end)
                    } else {
                        self.start_tag(at, end)
                    };
                    if found.is_some() {
                        return found;
                    }
                }
                Lex::Until { from, close, .. } => {
                    let search = self.pos.saturating_sub(close.len() - 1).max(from);
                    let hay = self.bytes(search, self.end());
                    let Some(i) = hay.windows(close.len()).position(|w| w == close) else {
                        self.pos = self.end().max(from);
                        return None;
                    };
                    let end = search + i + close.len();
                    self.lex = Lex::Text;
                    self.pos = end;
                    if self.depth == 0 {
                        self.done = end;
                        self.top = None;
                    }
                }
            }
        }
    }

    /// Scan text up to the next `<`; text at the top level must be blank.
    fn text(&mut self) -> Option<FrameError> {
        let rest = self.bytes(self.pos, self.end());
        let text_end = rest
            .iter()
            .position(|b| *b == b'<')
            .map_or(self.end(), |i| self.pos + i);
        let from = self.pos;
        self.pos = text_end;
        if self.depth > 0 {
            return None;
        }
        self.done = text_end;
        let text = self.bytes(from, text_end);
        text.iter().any(|b| !b.is_ascii_whitespace()).then(|| {
            FrameError::StrayText(
                String::from_utf8_lossy(text)
                    .trim()
                    .chars()
                    .take(40)
                    .collect(),
            )
        })
    }

    /// Where the tag at `at` ends (after its `>`), honouring quoted `>`;
    /// `None` (with the scan state saved) until it does.
    fn tag_end(&mut self, at: usize, mut quote: Option<u8>, end_tag: bool) -> Option<usize> {
        let from = self.pos;
        let found = self
            .bytes(from, self.end())
            .iter()
            .position(|&b| match quote {
                Some(q) => {
                    if b == q {
                        quote = None;
                    }
                    false
                }
                None if b == b'"' || b == b'\'' => {
                    quote = Some(b);
                    false
                }
                None => b == b'>',
            });
        if let Some(i) = found {
            return Some(from + i + 1);
        }
        self.pos = self.end();
        self.lex = Lex::Tag { at, quote, end_tag };
        None
    }

    fn end_tag(&mut self, end: usize) -> Option<Result<Vec<u8>, FrameError>> {
        if self.depth == 0 {
            self.done = end;
            self.top = None;
            return Some(Err(FrameError::StrayEnd));
        }
        self.depth -= 1;
        if self.depth > 0 {
            return None;
        }
        let top = self.top.take()?;
        Some(self.hand_out(top, end))
    }

    fn start_tag(&mut self, at: usize, end: usize) -> Option<Result<Vec<u8>, FrameError>> {
        let tag = self.bytes(at, end);
        let empty = tag.len() > 2 && tag[tag.len() - 2] == b'/';
        if self.depth == 0 {
            let name_end = tag[1..]
                .iter()
                .position(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>')
                .map_or(tag.len(), |i| i + 1);
            let name = String::from_utf8_lossy(&tag[1..name_end]).into_owned();
            let limit = self.limit_for(&name);
            if let Some(top) = &mut self.top {
                top.name = name;
                top.limit = limit;
            }
        }
        if empty {
            if self.depth == 0 {
                let top = self.top.take()?;
                return Some(self.hand_out(top, end));
            }
            return None;
        }
        self.depth += 1;
        (self.depth > self.limits.depth).then_some(Err(FrameError::TooDeep(self.limits.depth)))
    }

    /// The complete top-level element ending at `end`.
    fn hand_out(&mut self, top: Top, end: usize) -> Result<Vec<u8>, FrameError> {
        self.done = end;
        if end - top.start > top.limit {
            return Err(FrameError::TooLarge {
                name: top.name,
                limit: top.limit,
            });
        }
        Ok(self.bytes(top.start, end).to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STREAM: &str = "<?xml version='1.0'?>\n<getProperties version='1.7'/>\n<defNumberVector device=\"D\" name=\"N\" label=\"a > b\">\n    <defNumber name=\"X\" format=\"%.2f\" min=\"0\" max=\"1\" step=\"0\">\n0.5\n    </defNumber>\n</defNumberVector><!-- note --><message message=\"hi\"/>";

    fn all(framer: &mut ElementFramer) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(element) = framer.next_element() {
            out.push(String::from_utf8(element.unwrap()).unwrap());
        }
        out
    }

    #[test]
    fn elements_come_out_whole() {
        let mut f = ElementFramer::new(Limits::default());
        f.push(STREAM.as_bytes());
        let elements = all(&mut f);
        assert_eq!(elements.len(), 3);
        assert!(elements[0].starts_with("<getProperties"));
        assert!(
            elements[1].starts_with("<defNumberVector")
                && elements[1].ends_with("</defNumberVector>")
        );
        assert_eq!(elements[2], "<message message=\"hi\"/>");
        assert_eq!(f.pending(), 0);
    }

    proptest! {
        /// Wherever the chunks are cut, the same elements come out.
        #[test]
        fn chunk_boundaries_anywhere(cuts in proptest::collection::vec(0usize..STREAM.len(), 0..12)) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            cuts.dedup();
            let mut f = ElementFramer::new(Limits::default());
            let mut out = Vec::new();
            let mut last = 0;
            for cut in cuts.into_iter().chain([STREAM.len()]) {
                f.push(&STREAM.as_bytes()[last..cut]);
                last = cut;
                out.extend(all(&mut f));
            }
            prop_assert_eq!(out.len(), 3);
        }

        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut f = ElementFramer::new(Limits { element: 64, blob_element: 64, tag: 48, depth: 3 });
            f.push(&bytes);
            for _ in 0..100 {
                if f.next_element().is_none() { break; }
            }
        }
    }

    #[test]
    fn limits_and_refusals() {
        let mut f = ElementFramer::new(Limits {
            element: 32,
            blob_element: 64,
            tag: 32,
            depth: 3,
        });
        f.push(b"<defTextVector device='d'>");
        f.push(&[b'x'; 40]);
        assert!(matches!(
            f.next_element(),
            Some(Err(FrameError::TooLarge { .. }))
        ));
        let mut f = ElementFramer::new(Limits::default());
        f.push(b"<a><b><c><d><e><f><g><h><i>");
        assert_eq!(f.next_element(), Some(Err(FrameError::TooDeep(8))));
        let mut f = ElementFramer::new(Limits::default());
        f.push(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>");
        assert_eq!(f.next_element(), Some(Err(FrameError::Doctype)));
        let mut f = ElementFramer::new(Limits::default());
        f.push(b"junk <x/>");
        assert!(matches!(
            f.next_element(),
            Some(Err(FrameError::StrayText(_)))
        ));
        assert_eq!(f.next_element(), Some(Ok(b"<x/>".to_vec())));
    }

    /// An unterminated tag, attribute or comment streamed without end is
    /// refused once it passes the tag limit, and what comes in meanwhile
    /// is scanned once (the scan position moves with the stream).
    #[test]
    fn unterminated_markup_is_refused_at_its_limit() {
        for opening in [
            "<getProperties ",
            "<getProperties version='",
            "<!--",
            "<?xml ",
        ] {
            let mut f = ElementFramer::new(Limits::default());
            f.push(opening.as_bytes());
            let mut refused = None;
            for round in 0..200 {
                f.push(&[b'a'; 1024]);
                if let Some(found) = f.next_element() {
                    refused = Some((round, found));
                    break;
                }
                assert_eq!(f.pos, f.end(), "{opening}: not scanned to the end");
            }
            let (round, found) = refused.unwrap_or_else(|| panic!("{opening}: never refused"));
            assert_eq!(
                found,
                Err(FrameError::TagTooLong { limit: 64 * 1024 }),
                "{opening}"
            );
            assert!(round <= 64, "{opening}: refused only after {round} KiB");
        }
    }

    #[test]
    fn blank_text_between_elements_is_not_kept() {
        let mut f = ElementFramer::new(Limits::default());
        for _ in 0..100 {
            f.push(&[b' '; 1024]);
            assert_eq!(f.next_element(), None);
        }
        assert_eq!(f.pending(), 0);
        f.push(b"<a/>\n");
        assert_eq!(f.next_element(), Some(Ok(b"<a/>".to_vec())));
    }

    #[test]
    fn many_elements_in_one_push_all_come_out() {
        let mut f = ElementFramer::new(Limits::default());
        f.push("<pingRequest uid='1'/>".repeat(10_000).as_bytes());
        assert_eq!(all(&mut f).len(), 10_000);
        assert_eq!(f.pending(), 0);
    }
}
