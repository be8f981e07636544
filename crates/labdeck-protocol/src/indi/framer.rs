//! Cutting the root-less INDI stream into top-level elements. Bytes come
//! in chunks split anywhere; each complete element is handed out whole.
//! Text between elements is skipped, `<?xml …?>` and comments too; a
//! DOCTYPE (entity definitions) is refused, as are elements over their
//! size limit and nesting past the depth limit.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("element <{name}> is larger than {limit} bytes")]
    TooLarge { name: String, limit: usize },
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
    pub depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            blob_element: 64 * 1024 * 1024,
            element: 1024 * 1024,
            depth: 8,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ElementFramer {
    buf: Vec<u8>,
    /// Everything before this is scanned (we are in text there).
    pos: usize,
    depth: usize,
    /// Where the current top-level element starts, and its size limit.
    start: Option<(usize, usize, String)>,
    limits: Limits,
}

/// How a markup construct at the scan position ends.
enum Construct {
    /// Not complete yet: wait for more bytes.
    Partial,
    /// Skip it (comment, declaration, processing instruction).
    Skip(usize),
    Start {
        end: usize,
        name: String,
    },
    Empty {
        end: usize,
        name: String,
    },
    End {
        end: usize,
    },
    Doctype,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The tag at `at` (a `<`): where it ends, honouring quoted `>`.
fn tag_end(buf: &[u8], at: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, &b) in buf.iter().enumerate().skip(at + 1) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn construct(buf: &[u8], at: usize) -> Construct {
    let rest = &buf[at..];
    if rest.len() < 2 {
        return Construct::Partial;
    }
    match rest[1] {
        b'?' => find(rest, b"?>").map_or(Construct::Partial, |i| Construct::Skip(at + i + 2)),
        b'!' => {
            if rest.starts_with(b"<!--") {
                find(&rest[4..], b"-->")
                    .map_or(Construct::Partial, |i| Construct::Skip(at + 4 + i + 3))
            } else if rest.starts_with(b"<![CDATA[") {
                // Character data inside an element: it is text.
                find(&rest[9..], b"]]>")
                    .map_or(Construct::Partial, |i| Construct::Skip(at + 9 + i + 3))
            } else if [&b"<!--"[..], b"<![CDATA["]
                .iter()
                .any(|p| p.starts_with(rest))
            {
                Construct::Partial
            } else {
                // <!DOCTYPE, <!ENTITY …: declarations are not accepted.
                Construct::Doctype
            }
        }
        b'/' => tag_end(buf, at).map_or(Construct::Partial, |end| Construct::End { end }),
        _ => match tag_end(buf, at) {
            None => Construct::Partial,
            Some(end) => {
                let name_end = buf[at + 1..end]
                    .iter()
                    .position(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>')
                    .map_or(end, |i| at + 1 + i);
                let name = String::from_utf8_lossy(&buf[at + 1..name_end]).into_owned();
                if buf[end - 2] == b'/' {
                    Construct::Empty { end, name }
                } else {
                    Construct::Start { end, name }
                }
            }
        },
    }
}

impl ElementFramer {
    pub fn new(limits: Limits) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            depth: 0,
            start: None,
            limits,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held for an element not yet complete.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    fn limit_for(&self, name: &str) -> usize {
        if name.ends_with("BLOBVector") {
            self.limits.blob_element
        } else {
            self.limits.element
        }
    }

    /// The next complete top-level element, an error (the stream cannot go
    /// on), or `None` until more bytes arrive.
    pub fn next_element(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        loop {
            if let Some((start, limit, name)) = &self.start
                && self.buf.len() - start > *limit
            {
                return Some(Err(FrameError::TooLarge {
                    name: name.clone(),
                    limit: *limit,
                }));
            }
            // Text up to the next markup.
            let Some(lt) = self.buf[self.pos..].iter().position(|b| *b == b'<') else {
                if self.depth == 0 {
                    let text = String::from_utf8_lossy(&self.buf[self.pos..]).into_owned();
                    if !text.trim().is_empty() {
                        self.buf.clear();
                        self.pos = 0;
                        return Some(Err(FrameError::StrayText(
                            text.trim().chars().take(40).collect(),
                        )));
                    }
                }
                self.pos = self.buf.len();
                return None;
            };
            let at = self.pos + lt;
            if self.depth == 0 {
                let text = &self.buf[self.pos..at];
                if !text.iter().all(u8::is_ascii_whitespace) {
                    let text = String::from_utf8_lossy(text)
                        .trim()
                        .chars()
                        .take(40)
                        .collect();
                    self.buf.drain(..at);
                    self.pos = 0;
                    return Some(Err(FrameError::StrayText(text)));
                }
            }
            match construct(&self.buf, at) {
                Construct::Partial => {
                    self.pos = at;
                    return None;
                }
                Construct::Doctype => return Some(Err(FrameError::Doctype)),
                Construct::Skip(end) => {
                    if self.depth == 0 {
                        self.buf.drain(..end);
                        self.pos = 0;
                    } else {
                        self.pos = end;
                    }
                }
                Construct::Empty { end, name } => {
                    if self.depth == 0 {
                        let element = self.buf[at..end].to_vec();
                        self.buf.drain(..end);
                        self.pos = 0;
                        if element.len() > self.limit_for(&name) {
                            return Some(Err(FrameError::TooLarge {
                                limit: self.limit_for(&name),
                                name,
                            }));
                        }
                        return Some(Ok(element));
                    }
                    self.pos = end;
                }
                Construct::Start { end, name } => {
                    if self.depth == 0 {
                        let limit = self.limit_for(&name);
                        self.start = Some((at, limit, name));
                    }
                    self.depth += 1;
                    if self.depth > self.limits.depth {
                        return Some(Err(FrameError::TooDeep(self.limits.depth)));
                    }
                    self.pos = end;
                }
                Construct::End { end } => {
                    if self.depth == 0 {
                        return Some(Err(FrameError::StrayEnd));
                    }
                    self.depth -= 1;
                    self.pos = end;
                    if self.depth == 0 {
                        let (start, _, _) = self.start.take().unwrap_or((0, 0, String::new()));
                        let element = self.buf[start..end].to_vec();
                        self.buf.drain(..end);
                        self.pos = 0;
                        return Some(Ok(element));
                    }
                }
            }
        }
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
            let mut f = ElementFramer::new(Limits { element: 64, blob_element: 64, depth: 3 });
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
}
