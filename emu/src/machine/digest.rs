//! The end-of-run state digest: FNV-1a (64-bit) over a canonical byte
//! serialisation of the hart, RAM and every device, in a fixed order.
//! FNV-1a is tiny, has no keys and is stable across platforms and builds;
//! it is a fingerprint for comparing runs, not a cryptographic hash.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(FNV_OFFSET)
    }
}

impl Fnv1a {
    pub fn update(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(FNV_PRIME);
        }
        self.0 = h;
    }

    /// Hashes a length prefix, then the bytes, so section boundaries count.
    pub fn section(&mut self, bytes: &[u8]) {
        self.update(&(bytes.len() as u64).to_le_bytes());
        self.update(bytes);
    }

    /// Like [`Fnv1a::section`] for large inputs (guest RAM): FNV-1a steps
    /// over little-endian u64 words in four independent lanes, so hashing
    /// 128 MiB takes milliseconds, not a tenth of a second (a record or
    /// replay digests RAM at every exit). Each step is a bijection of the
    /// lane state, so any single changed word changes the result.
    pub fn section_wide(&mut self, bytes: &[u8]) {
        self.update(&(bytes.len() as u64).to_le_bytes());
        let mut lanes = [FNV_OFFSET, FNV_OFFSET ^ 1, FNV_OFFSET ^ 2, FNV_OFFSET ^ 3];
        let mut chunks = bytes.chunks_exact(32);
        for c in &mut chunks {
            for (i, lane) in lanes.iter_mut().enumerate() {
                let w = u64::from_le_bytes(c[i * 8..i * 8 + 8].try_into().expect("8-byte slice"));
                *lane = (*lane ^ w).wrapping_mul(FNV_PRIME);
            }
        }
        for lane in lanes {
            self.update(&lane.to_le_bytes());
        }
        self.update(chunks.remainder());
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Fnv1a {
    /// Guest RAM of `size` bytes, given the pages that may be non-zero (the
    /// rest are zero): the index and contents of every page that is not all
    /// zero. Equal RAM gives equal digests however the pages were found,
    /// and a byte written anywhere changes the result.
    pub fn ram<'a>(&mut self, size: u64, pages: impl Iterator<Item = (usize, &'a [u8])>) {
        self.update(&size.to_le_bytes());
        for (i, page) in pages {
            let zero = page
                .chunks(64)
                .all(|c| c.iter().fold(0u8, |acc, &b| acc | b) == 0);
            if !zero {
                self.update(&(i as u64).to_le_bytes());
                self.section_wide(page);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Published FNV-1a 64 test vectors.
        let mut h = Fnv1a::default();
        assert_eq!(h.finish(), 0xcbf29ce484222325);
        h.update(b"a");
        assert_eq!(h.finish(), 0xaf63dc4c8601ec8c);
        let mut h = Fnv1a::default();
        h.update(b"foobar");
        assert_eq!(h.finish(), 0x85944171f73967e8);
    }

    #[test]
    fn wide_sections_see_every_word_and_the_tail() {
        let base = vec![0u8; 4096 + 5];
        let digest = |b: &[u8]| {
            let mut h = Fnv1a::default();
            h.section_wide(b);
            h.finish()
        };
        let d0 = digest(&base);
        for at in [0, 7, 8, 31, 32, 2049, 4095, 4096, 4100] {
            let mut b = base.clone();
            b[at] = 0x80;
            assert_ne!(digest(&b), d0, "change at byte {at} not seen");
        }
        assert_ne!(digest(&base[..4096]), d0, "length counts");
    }

    #[test]
    fn ram_digest_sees_writes_to_zero_pages_and_where_they_land() {
        const RAM_PAGE: usize = 4096;
        let ram = vec![0u8; 4 * RAM_PAGE];
        let digest = |b: &[u8]| {
            let mut h = Fnv1a::default();
            h.ram(b.len() as u64, b.chunks(RAM_PAGE).enumerate());
            h.finish()
        };
        let d0 = digest(&ram);
        let mut a = ram.clone();
        a[RAM_PAGE + 3] = 1;
        let mut b = ram.clone();
        b[2 * RAM_PAGE + 3] = 1;
        assert_ne!(digest(&a), d0);
        assert_ne!(
            digest(&a),
            digest(&b),
            "the same page content at another index differs"
        );
        assert_ne!(digest(&ram[..3 * RAM_PAGE]), d0, "the RAM size counts");
    }
}
