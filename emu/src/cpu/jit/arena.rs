//! Executable memory for translated blocks: one anonymous mapping, filled
//! front to back. When it is full the whole translation cache is dropped
//! (as QEMU's tb_flush does) and filling starts again.

use std::ptr::NonNull;

/// A read-write-execute mapping that hands out code space in order.
pub(crate) struct Arena {
    base: NonNull<u8>,
    len: usize,
    used: usize,
}

impl Arena {
    /// Maps `len` bytes; `None` if the host refuses executable memory
    /// (the interpreter then runs everything).
    pub(crate) fn new(len: usize) -> Option<Arena> {
        // SAFETY: an anonymous private mapping at an address of the
        // kernel's choosing aliases nothing.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        Some(Arena {
            base: NonNull::new(p.cast())?,
            len,
            used: 0,
        })
    }

    /// Where the next piece of code will go (assemblers need it up front).
    pub(crate) fn next_addr(&self) -> usize {
        self.base.as_ptr() as usize + self.used
    }

    /// Copies `code`, assembled for [`Arena::next_addr`], into the arena and
    /// returns its address; `None` if it does not fit.
    pub(crate) fn push(&mut self, code: &[u8]) -> Option<usize> {
        let start = self.used;
        let end = start.checked_add(code.len())?.next_multiple_of(16);
        if end > self.len {
            return None;
        }
        // SAFETY: [start, start + code.len()) lies inside the mapping and
        // no translated code in that range is live (it is past `used`).
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), self.base.as_ptr().add(start), code.len());
        }
        self.used = end;
        Some(self.base.as_ptr() as usize + start)
    }

    /// Forgets every piece of code handed out (callers drop their pointers).
    pub(crate) fn reset(&mut self) {
        self.used = 0;
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

// SAFETY: the arena owns its mapping; nothing else points into it except
// code pointers held by the same hart.
unsafe impl Send for Arena {}
