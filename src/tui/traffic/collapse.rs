//! Repeats collapsed into counters, at view time: a chunk like its link's
//! last row is one more of it; a request/reply pair like the link's last
//! two rows is one more of the pair. Rows stay in the order of their
//! newest chunk.

use std::borrow::Cow;
use std::collections::HashMap;

use labdeck_core::time::Timestamp;

use super::Entry;

/// Group repeats, newest last. Per link, the rows its last two chunks
/// went into: a chunk like the last row is one more of it; a chunk like
/// the row before, followed (next on its link) by one like the last row,
/// repeats the pair. A row that grows moves to the end, so rows stay in
/// the order of their newest chunk.
pub(super) fn collapse<'a>(chunks: &[&'a Entry]) -> Vec<Cow<'a, Entry>> {
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
