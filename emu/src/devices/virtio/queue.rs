//! Split virtqueues (virtio 1.2, 2.7): descriptor table, available ring, used ring.

use super::mem::{GuestMem, MemError};

const VIRTQ_DESC_F_NEXT: u16 = 1;
const VIRTQ_DESC_F_WRITE: u16 = 2;
const VIRTQ_DESC_F_INDIRECT: u16 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Mem(#[from] MemError),
    #[error("descriptor index {index} is beyond queue size {size}")]
    BadIndex { index: u16, size: u16 },
    #[error("descriptor chain longer than the queue (loop?)")]
    ChainLoop,
    #[error("indirect descriptors were not negotiated")]
    Indirect,
    #[error("queue used before it was made ready")]
    NotReady,
}

/// One guest buffer of a descriptor chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Desc {
    pub addr: u64,
    pub len: u32,
    /// Device-writable (guest reads it back).
    pub write: bool,
}

/// A chain popped from the available ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescChain {
    pub head: u16,
    pub descs: Vec<Desc>,
}

impl DescChain {
    /// Total bytes the device may write.
    pub fn writable_len(&self) -> u64 {
        self.descs
            .iter()
            .filter(|d| d.write)
            .map(|d| d.len as u64)
            .sum()
    }
    /// Copies `data` into the writable descriptors in order; returns bytes written.
    pub fn write_all(&self, mem: &mut GuestMem<'_>, mut data: &[u8]) -> Result<u32, MemError> {
        let mut n = 0u32;
        for d in self.descs.iter().filter(|d| d.write) {
            if data.is_empty() {
                break;
            }
            let k = data.len().min(d.len as usize);
            mem.write(d.addr, &data[..k])?;
            data = &data[k..];
            n += k as u32;
        }
        Ok(n)
    }
    /// Concatenates the readable (driver-written) descriptors.
    pub fn read_all(&self, mem: &GuestMem<'_>) -> Result<Vec<u8>, MemError> {
        let mut out = Vec::new();
        for d in self.descs.iter().filter(|d| !d.write) {
            let start = out.len();
            out.resize(start + d.len as usize, 0);
            mem.read(d.addr, &mut out[start..])?;
        }
        Ok(out)
    }
}

/// Guest-configured queue registers plus the device's ring cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queue {
    pub max_size: u16,
    pub size: u16,
    pub ready: bool,
    pub desc: u64,
    pub avail: u64,
    pub used: u64,
    /// Next available-ring slot the device will read.
    pub last_avail: u16,
    /// Next used-ring slot the device will write.
    pub next_used: u16,
}

impl Queue {
    pub fn new(max_size: u16) -> Self {
        Queue {
            max_size,
            size: max_size,
            ..Default::default()
        }
    }

    /// Back to the state after reset (keeps `max_size`).
    pub fn reset(&mut self) {
        *self = Queue::new(self.max_size);
    }

    /// Pops the next available chain, if the driver published one.
    pub fn pop(&mut self, mem: &GuestMem<'_>) -> Result<Option<DescChain>, QueueError> {
        if !self.ready || self.size == 0 {
            return Err(QueueError::NotReady);
        }
        let avail_idx = mem.read_u16(self.avail + 2)?;
        if avail_idx == self.last_avail {
            return Ok(None);
        }
        let slot = self.last_avail % self.size;
        let head = mem.read_u16(self.avail + 4 + 2 * slot as u64)?;
        self.last_avail = self.last_avail.wrapping_add(1);
        let mut descs = Vec::new();
        let mut idx = head;
        loop {
            if idx >= self.size {
                return Err(QueueError::BadIndex {
                    index: idx,
                    size: self.size,
                });
            }
            if descs.len() >= self.size as usize {
                return Err(QueueError::ChainLoop);
            }
            let base = self.desc + 16 * idx as u64;
            let addr = mem.read_u64(base)?;
            let len = mem.read_u32(base + 8)?;
            let flags = mem.read_u16(base + 12)?;
            let next = mem.read_u16(base + 14)?;
            if flags & VIRTQ_DESC_F_INDIRECT != 0 {
                return Err(QueueError::Indirect);
            }
            descs.push(Desc {
                addr,
                len,
                write: flags & VIRTQ_DESC_F_WRITE != 0,
            });
            if flags & VIRTQ_DESC_F_NEXT == 0 {
                break;
            }
            idx = next;
        }
        Ok(Some(DescChain { head, descs }))
    }

    /// Returns chain `head` to the driver with `len` bytes written.
    pub fn push_used(
        &mut self,
        mem: &mut GuestMem<'_>,
        head: u16,
        len: u32,
    ) -> Result<(), QueueError> {
        if !self.ready || self.size == 0 {
            return Err(QueueError::NotReady);
        }
        let slot = self.next_used % self.size;
        let elem = self.used + 4 + 8 * slot as u64;
        mem.write_u32(elem, head as u32)?;
        mem.write_u32(elem + 4, len)?;
        self.next_used = self.next_used.wrapping_add(1);
        // The index is published after the element (the guest polls it).
        mem.write_u16(self.used + 2, self.next_used)?;
        Ok(())
    }

    pub fn digest_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.max_size.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.push(self.ready as u8);
        for v in [self.desc, self.avail, self.used] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.last_avail.to_le_bytes());
        out.extend_from_slice(&self.next_used.to_le_bytes());
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bus::{PhysAddr, Ram};

    pub const DESC: u64 = 0x8000_0000;
    pub const AVAIL: u64 = 0x8000_1000;
    pub const USED: u64 = 0x8000_2000;

    /// Writes a chain of (addr, len, writable) descriptors starting at
    /// descriptor `first` and publishes it in the available ring.
    pub fn publish(ram: &mut Ram, q: &Queue, first: u16, bufs: &[(u64, u32, bool)]) {
        let mut mem = GuestMem::new(ram);
        for (i, &(addr, len, w)) in bufs.iter().enumerate() {
            let idx = first + i as u16;
            let base = DESC + 16 * idx as u64;
            let mut flags = if w { VIRTQ_DESC_F_WRITE } else { 0 };
            if i + 1 < bufs.len() {
                flags |= VIRTQ_DESC_F_NEXT;
            }
            mem.write(base, &addr.to_le_bytes()).unwrap();
            mem.write_u32(base + 8, len).unwrap();
            mem.write_u16(base + 12, flags).unwrap();
            mem.write_u16(base + 14, idx + 1).unwrap();
        }
        let idx = mem.read_u16(AVAIL + 2).unwrap();
        mem.write_u16(AVAIL + 4 + 2 * (idx % q.size) as u64, first)
            .unwrap();
        mem.write_u16(AVAIL + 2, idx.wrapping_add(1)).unwrap();
    }

    pub fn ready_queue(size: u16) -> Queue {
        Queue {
            size,
            ready: true,
            desc: DESC,
            avail: AVAIL,
            used: USED,
            ..Queue::new(size)
        }
    }

    #[test]
    fn pop_and_push_round_trip() {
        let mut ram = Ram::new(PhysAddr(0x8000_0000), 1 << 20);
        let mut q = ready_queue(8);
        publish(
            &mut ram,
            &q,
            0,
            &[(0x8000_4000, 16, false), (0x8000_5000, 8, true)],
        );
        let mut mem = GuestMem::new(&mut ram);
        let chain = q.pop(&mem).unwrap().unwrap();
        assert_eq!(chain.head, 0);
        assert_eq!(chain.descs.len(), 2);
        assert_eq!(chain.writable_len(), 8);
        assert!(q.pop(&mem).unwrap().is_none());
        q.push_used(&mut mem, chain.head, 8).unwrap();
        assert_eq!(mem.read_u16(USED + 2).unwrap(), 1);
        assert_eq!(mem.read_u32(USED + 8).unwrap(), 8);
    }

    #[test]
    fn bad_index_is_an_error_not_a_panic() {
        let mut ram = Ram::new(PhysAddr(0x8000_0000), 1 << 20);
        let mut q = ready_queue(4);
        {
            let mut mem = GuestMem::new(&mut ram);
            mem.write_u16(AVAIL + 4, 9).unwrap();
            mem.write_u16(AVAIL + 2, 1).unwrap();
        }
        let mem = GuestMem::new(&mut ram);
        assert_eq!(q.pop(&mem), Err(QueueError::BadIndex { index: 9, size: 4 }));
    }

    #[test]
    fn looping_chain_is_detected() {
        let mut ram = Ram::new(PhysAddr(0x8000_0000), 1 << 20);
        let mut q = ready_queue(2);
        {
            let mut mem = GuestMem::new(&mut ram);
            for i in 0..2u64 {
                mem.write_u32(DESC + 16 * i + 8, 1).unwrap();
                mem.write_u16(DESC + 16 * i + 12, VIRTQ_DESC_F_NEXT)
                    .unwrap();
                mem.write_u16(DESC + 16 * i + 14, (1 - i) as u16).unwrap();
            }
            mem.write_u16(AVAIL + 2, 1).unwrap();
        }
        let mem = GuestMem::new(&mut ram);
        assert_eq!(q.pop(&mem), Err(QueueError::ChainLoop));
    }
}
