//! Guest RAM as a chain of page deltas.
//!
//! Snapshot `k` holds the pages that may have changed since snapshot
//! `k - 1`, with their contents at `k`; snapshot 0 holds every page written
//! before it (the images loaded at power-on). A page's contents at `k` are
//! those in the newest snapshot `<= k` that holds it, or zero if none does.
//! Which pages may have changed comes from [`Ram::take_dirty`], which costs
//! the hart nothing on its fast path (see `bus.rs`).

use std::collections::{BTreeMap, BTreeSet};

use crate::bus::{PhysAddr, Ram, PAGE_SIZE};

/// One saved page: its bytes, or `None` when it is all zero.
pub type Page = Option<Box<[u8]>>;

/// The pages of one snapshot, by page index.
#[derive(Debug, Default, Clone)]
pub struct Delta {
    pub pages: BTreeMap<u32, Page>,
}

impl Delta {
    /// The current contents of `pages` in `ram`.
    pub fn capture(ram: &Ram, pages: impl IntoIterator<Item = u32>) -> Delta {
        let pages = pages
            .into_iter()
            .map(|p| {
                let bytes = ram.page(p);
                let page = (!is_zero(bytes)).then(|| bytes.to_vec().into_boxed_slice());
                (p, page)
            })
            .collect();
        Delta { pages }
    }

    /// Bytes held (page contents plus a small per-page overhead).
    pub fn bytes(&self) -> usize {
        self.pages
            .values()
            .map(|p| 16 + p.as_ref().map_or(0, |b| b.len()))
            .sum()
    }

    /// Folds an older delta into this one: pages this one lacks are taken
    /// from `older` (the snapshot between them is going away).
    pub fn absorb_older(&mut self, older: Delta) {
        for (p, page) in older.pages {
            self.pages.entry(p).or_insert(page);
        }
    }
}

pub(crate) fn is_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(64)
        .all(|c| c.iter().fold(0u8, |acc, &b| acc | b) == 0)
}

/// The contents of page `p` at the snapshot whose chain is `chain`
/// (oldest first, the wanted snapshot last).
pub fn page_at<'a>(chain: impl DoubleEndedIterator<Item = &'a Delta>, p: u32) -> Option<&'a Page> {
    chain.rev().find_map(|d| d.pages.get(&p))
}

/// Writes `pages` of the state `chain` describes into `ram`. Pages no delta
/// holds are zero.
pub fn restore<'a, C>(ram: &mut Ram, chain: C, pages: &BTreeSet<u32>)
where
    C: DoubleEndedIterator<Item = &'a Delta> + Clone,
{
    const ZERO: [u8; PAGE_SIZE as usize] = [0; PAGE_SIZE as usize];
    let base = ram.base();
    for &p in pages {
        let addr = PhysAddr(base + p as u64 * PAGE_SIZE);
        let bytes: &[u8] = match page_at(chain.clone(), p) {
            Some(Some(b)) => b,
            _ => &ZERO[..ram.page(p).len()],
        };
        if ram.page(p) != bytes {
            // In range: the page index came from this RAM.
            let _ = ram.write_bytes(addr, bytes);
        }
    }
}
