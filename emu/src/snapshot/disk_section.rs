//! The DISK section of a snapshot file (format version 2): the drive's
//! overlay and the completions in flight. Empty when the machine has no
//! drive. See docs/snapshot-format.md.

use super::wire::{self, Dec, Wire};
use crate::devices::virtio::blk::{BlockCompletion, SECTOR_SIZE};
use crate::host::disk::{DiskState, Overlay};

const REC: usize = 8 + SECTOR_SIZE as usize;

/// The section's bytes.
pub fn encode(disk: Option<&DiskState>) -> Vec<u8> {
    let Some(d) = disk else {
        return Vec::new();
    };
    let mut e = wire::Enc::default();
    d.bytes.put(&mut e);
    d.pending.put(&mut e);
    (d.overlay.len() as u64).put(&mut e);
    let mut out = e.out;
    out.reserve(d.overlay.len() * REC);
    for (i, s) in d.overlay.iter() {
        out.extend_from_slice(&i.to_le_bytes());
        out.extend_from_slice(s);
    }
    out
}

/// Parses the section; every sector must lie inside the image, in
/// strictly ascending order, and completions must have ascending ids.
pub fn decode(bytes: &[u8]) -> Result<Option<DiskState>, String> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let mut d = Dec::new(bytes);
    let image = u64::get(&mut d).map_err(|e| e.to_string())?;
    let pending = Vec::<BlockCompletion>::get(&mut d).map_err(|e| e.to_string())?;
    let count = u64::get(&mut d).map_err(|e| e.to_string())?;
    if image % SECTOR_SIZE != 0 {
        return Err(format!("an image of {image} bytes, not whole sectors"));
    }
    if pending.windows(2).any(|w| w[0].id >= w[1].id) {
        return Err("completions out of order".into());
    }
    let rest = &bytes[bytes.len() - d.remaining()..];
    if count.checked_mul(REC as u64) != Some(rest.len() as u64) {
        return Err(format!("{} bytes for {count} sectors", rest.len()));
    }
    let limit = image / SECTOR_SIZE;
    let mut overlay = Overlay::new();
    let mut last = None;
    for rec in rest.chunks_exact(REC) {
        let i = u64::from_le_bytes(rec[..8].try_into().expect("8 bytes"));
        if i >= limit || last.is_some_and(|l| l >= i) {
            return Err(format!(
                "sector {i} out of order or outside {limit} sectors"
            ));
        }
        last = Some(i);
        overlay.insert(i, &rec[8..]);
    }
    Ok(Some(DiskState {
        bytes: image,
        overlay,
        pending,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DiskState {
        let mut overlay = Overlay::new();
        overlay.insert(3, &[0x33; 512]);
        overlay.insert(200, &[0xc8; 512]);
        DiskState {
            bytes: 1 << 20,
            overlay,
            pending: vec![
                BlockCompletion {
                    id: 4,
                    ok: true,
                    data: vec![1; 1024],
                },
                BlockCompletion {
                    id: 5,
                    ok: false,
                    data: vec![],
                },
            ],
        }
    }

    #[test]
    fn round_trip_and_empty() {
        let d = sample();
        assert_eq!(decode(&encode(Some(&d))).unwrap(), Some(d));
        assert_eq!(decode(&encode(None)).unwrap(), None);
    }

    #[test]
    fn bad_sections_are_refused() {
        let good = encode(Some(&sample()));
        // Cut anywhere.
        for len in 1..good.len() {
            assert!(decode(&good[..len]).is_err(), "cut at {len}");
        }
        // A sector past the end of the image.
        let mut small = sample();
        small.bytes = 100 * 512;
        assert!(decode(&encode(Some(&small)))
            .unwrap_err()
            .contains("sector 200"));
        // Sectors out of order: swap the two records.
        let n = good.len();
        let mut swapped = good.clone();
        swapped[n - 2 * REC..].rotate_left(REC);
        assert!(decode(&swapped).is_err());
        // A huge sector count cannot make it allocate.
        let mut huge = good.clone();
        let at = n - 2 * REC - 8;
        huge[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
    }
}
