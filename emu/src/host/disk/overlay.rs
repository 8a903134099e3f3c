//! The sectors a drive in snapshot mode has written, in a form snapshots
//! can share: sectors sit in groups of [`GROUP`] behind `Arc`s, so a copy
//! costs one pointer per group, and a write after a copy duplicates only
//! the group's pointer table (copy on write), never sector data.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::devices::virtio::blk::SECTOR_SIZE;

/// Sectors per group (a group's pointer table is 512 bytes).
pub const GROUP: u64 = 64;

pub type Sector = [u8; SECTOR_SIZE as usize];

type Group = [Option<Arc<Sector>>; GROUP as usize];

/// Written sectors by index; a sector not here reads from the image.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Overlay {
    groups: BTreeMap<u64, Arc<Group>>,
    len: usize,
}

impl fmt::Debug for Overlay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Overlay({} sectors)", self.len)
    }
}

impl Overlay {
    pub fn new() -> Self {
        Overlay::default()
    }

    /// Sectors held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, sector: u64) -> Option<&Sector> {
        self.groups.get(&(sector / GROUP))?[(sector % GROUP) as usize].as_deref()
    }

    /// Stores `data` (at most one sector; a short tail is zero-filled).
    pub fn insert(&mut self, sector: u64, data: &[u8]) {
        let mut s = [0u8; SECTOR_SIZE as usize];
        let n = data.len().min(s.len());
        s[..n].copy_from_slice(&data[..n]);
        let group = self
            .groups
            .entry(sector / GROUP)
            .or_insert_with(|| Arc::new(std::array::from_fn(|_| None)));
        let slot = &mut Arc::make_mut(group)[(sector % GROUP) as usize];
        if slot.is_none() {
            self.len += 1;
        }
        *slot = Some(Arc::new(s));
    }

    /// Every sector, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Sector)> + '_ {
        self.groups.iter().flat_map(|(g, group)| {
            group
                .iter()
                .enumerate()
                .filter_map(move |(i, s)| s.as_deref().map(|s| (g * GROUP + i as u64, s)))
        })
    }

    /// The highest sector held.
    pub fn last_sector(&self) -> Option<u64> {
        self.iter().last().map(|(i, _)| i)
    }

    /// Memory this overlay holds that `older` (a copy it was derived
    /// from, if any) does not share: group tables and sector data that are
    /// not the same allocation in both.
    pub fn bytes_beyond(&self, older: Option<&Overlay>) -> usize {
        let table = std::mem::size_of::<Group>() + 32;
        let mut bytes = 0;
        for (g, group) in &self.groups {
            let old = older.and_then(|o| o.groups.get(g));
            if old.is_some_and(|o| Arc::ptr_eq(o, group)) {
                continue;
            }
            bytes += table;
            for (i, s) in group.iter().enumerate() {
                let Some(s) = s else { continue };
                let shared = old
                    .and_then(|o| o[i].as_ref())
                    .is_some_and(|o| Arc::ptr_eq(o, s));
                if !shared {
                    bytes += SECTOR_SIZE as usize;
                }
            }
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_iterate() {
        let mut o = Overlay::new();
        o.insert(130, &[7; 512]);
        o.insert(2, &[1; 10]);
        o.insert(130, &[8; 512]);
        assert_eq!(o.len(), 2);
        assert_eq!(o.get(130), Some(&[8; 512]));
        let two = o.get(2).unwrap();
        assert_eq!((two[9], two[10]), (1, 0), "short data is zero-filled");
        assert_eq!(o.get(3), None);
        let order: Vec<u64> = o.iter().map(|(i, _)| i).collect();
        assert_eq!(order, vec![2, 130]);
        assert_eq!(o.last_sector(), Some(130));
    }

    #[test]
    fn copies_share_until_written() {
        let mut o = Overlay::new();
        for i in 0..200 {
            o.insert(i, &[i as u8; 512]);
        }
        let full = o.bytes_beyond(None);
        assert!(full >= 200 * 512);
        let copy = o.clone();
        assert_eq!(copy.bytes_beyond(Some(&o)), 0, "a copy shares everything");
        o.insert(5, &[0xee; 512]);
        // One group table and one sector are new.
        assert_eq!(
            o.bytes_beyond(Some(&copy)),
            std::mem::size_of::<Group>() + 32 + 512
        );
        assert_eq!(copy.get(5), Some(&[5; 512]), "the copy keeps its data");
        assert_ne!(o, copy);
    }
}
