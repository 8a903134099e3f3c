//! Block translation to host code (x86-64): the hot blocks of the decode
//! cache run as straight-line machine code instead of one interpreter
//! dispatch per instruction.
//!
//! A translated block does exactly what the interpreter does with the same
//! slots, in the same order, on the same state: integer ALU instructions,
//! branches and jumps are emitted inline; loads and stores look the TLB up
//! inline (the same lookup as [`Hart::load_fast`], [`Hart::store_fast`])
//! and, when it misses, call the interpreter's own [`Hart::exec`] for that
//! slot; every other
//! instruction (CSRs, atomics, F/D, bit manipulation, ...) is
//! [`Hart::exec`] called from the block. Guest registers stay in
//! `Hart::x` (no host register caching), so a helper always sees them
//! current and a trap leaves them exactly as the interpreter would.
//! Translation is therefore invisible to the guest: same icount, same
//! state, same log. `EMU_JIT=off` turns it off (to compare the two).
//!
//! Blocks are translated after [`HOT`] runs. Code lives in an [`Arena`];
//! when it is full every translation is dropped at once (a generation
//! number makes the blocks' handles stale) and hot blocks translate again.

mod arena;
#[cfg(target_arch = "x86_64")]
mod emit;

use super::block::Slot;
use super::exec::Flow;
use super::mmu::tlb::Entry;
use super::trap::Trap;
use super::Hart;
use crate::bus::SystemBus;
use arena::Arena;

/// Runs of a block before it is translated (unless `EMU_JIT=eager`).
const HOT: u32 = 16;
/// Executable memory for translations.
const ARENA_BYTES: usize = 64 << 20;

/// How a translated block ended, packed into its return value as
/// `ran | kind << 32`; `ran` = slots retired (for a trap: the index of
/// the slot that trapped).
pub(crate) const EXIT_NEXT: u64 = 0;
pub(crate) const EXIT_JUMP: u64 = 1;
pub(crate) const EXIT_END: u64 = 2;
pub(crate) const EXIT_TRAP: u64 = 3;

/// What a translated block and its helpers share. `#[repr(C)]`: the
/// generated code reads and writes fields at the `CTX_*` offsets.
#[repr(C)]
pub(crate) struct JitCtx {
    /// `Hart::x`.
    x: *mut u64,
    hart: *mut Hart,
    /// The `SystemBus` the block runs on (type known to the helpers).
    bus: *mut (),
    /// Virtual address of the running block's first instruction.
    block_pc: u64,
    /// icount of the running block's first instruction; a block that loops
    /// on itself, or chains to another, advances it.
    base: u64,
    /// The icount the run must not pass (the run's budget).
    end: u64,
    /// Out: the jump target (EXIT_JUMP) or next pc (EXIT_END).
    target: u64,
    /// The read and write TLB entries of the data privilege (`Tlb::data_sets`).
    tlb_read: *const Entry,
    tlb_write: *const Entry,
    /// Guest RAM's first byte (TLB entries hold RAM page numbers).
    ram: *mut u8,
    /// The page's slot arena.
    page_slots: *const Slot,
    /// The running block: its first slot in `page_slots`, and its length.
    first: u32,
    n: u32,
    /// Out: the link cell of a chainable jump that left the run.
    link: *mut usize,
    /// Out: the trap (EXIT_TRAP).
    trap: Option<Trap>,
}

macro_rules! ctx_offset {
    ($($name:ident = $field:ident),* $(,)?) => {
        $(pub(crate) const $name: i32 = std::mem::offset_of!(JitCtx, $field) as i32;)*
    };
}
ctx_offset!(
    CTX_X = x,
    CTX_BLOCK_PC = block_pc,
    CTX_BASE = base,
    CTX_END = end,
    CTX_TARGET = target,
    CTX_TLB_READ = tlb_read,
    CTX_TLB_WRITE = tlb_write,
    CTX_RAM = ram,
    CTX_FIRST = first,
    CTX_N = n,
    CTX_LINK = link,
);

/// A translated block: `extern "sysv64" fn(*mut JitCtx) -> u64`.
type BlockFn = unsafe extern "sysv64" fn(*mut JitCtx) -> u64;

/// A block's translation: its entry, and the entry other blocks of its
/// page chain to.
#[derive(Clone, Copy)]
pub(crate) struct Translation {
    code: BlockFn,
    chain: usize,
}

/// Per decoded block: how often it ran, and its translation.
#[derive(Clone, Copy, Default)]
pub(crate) struct BlockJit {
    runs: u32,
    /// Generation of the arena the code belongs to.
    generation: u32,
    code: Option<Translation>,
}

/// A chainable exit's link cell, valid while the arena's generation holds.
#[derive(Clone, Copy)]
pub(crate) struct Link {
    cell: *mut usize,
    generation: u32,
}

/// Where a block is, as the translator needs it.
pub(crate) struct BlockPlace {
    /// Byte offset of its first instruction in the page.
    pub page_off: u64,
    /// Its first slot in the page's arena.
    pub first: u32,
}

/// The host function a translation calls (the interpreter, for one bus type).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Helpers {
    exec: usize,
}

impl Helpers {
    fn for_bus<B: SystemBus>() -> Helpers {
        Helpers {
            exec: helper_exec::<B> as *const () as usize,
        }
    }
}

/// The translator and its code space (one per hart).
pub(crate) struct Jit {
    arena: Option<Arena>,
    generation: u32,
    /// The bus type the current translations call into.
    helpers: Option<Helpers>,
    /// Runs of a block before it is translated.
    hot: u32,
}

impl Jit {
    pub(crate) fn new() -> Jit {
        let mode = std::env::var("EMU_JIT");
        let enabled = cfg!(target_arch = "x86_64") && !matches!(mode.as_deref(), Ok("off" | "0"));
        Jit {
            arena: if enabled {
                Arena::new(ARENA_BYTES)
            } else {
                None
            },
            generation: 1,
            helpers: None,
            hot: if mode.as_deref() == Ok("eager") {
                1
            } else {
                HOT
            },
        }
    }

    /// Drops every translation.
    fn flush(&mut self) {
        if let Some(a) = &mut self.arena {
            a.reset();
        }
        self.generation = self.generation.wrapping_add(1).max(1);
    }

    /// The translation of the block `slots` (whose entry is `bj`), counting
    /// the run and translating once it is hot. `None`: interpret it.
    #[inline(always)]
    pub(crate) fn code_for<B: SystemBus>(
        &mut self,
        bj: &mut BlockJit,
        slots: &[Slot],
        place: BlockPlace,
    ) -> Option<Translation> {
        if bj.generation == self.generation {
            if let Some(t) = bj.code {
                return Some(t);
            }
        }
        self.arena.as_ref()?;
        if bj.generation != self.generation {
            *bj = BlockJit {
                runs: 0,
                generation: self.generation,
                code: None,
            };
        }
        bj.runs += 1;
        if bj.runs < self.hot {
            return None;
        }
        self.translate::<B>(bj, slots, place)
    }

    #[cold]
    fn translate<B: SystemBus>(
        &mut self,
        bj: &mut BlockJit,
        slots: &[Slot],
        place: BlockPlace,
    ) -> Option<Translation> {
        let helpers = Helpers::for_bus::<B>();
        if self.helpers != Some(helpers) {
            // Translations for another bus type call the wrong helpers.
            self.flush();
            self.helpers = Some(helpers);
        }
        let t = self.assemble(slots, &helpers, place)?;
        // Assembling may have flushed a full arena: stamp after it.
        bj.generation = self.generation;
        bj.code = Some(t);
        Some(t)
    }

    /// Makes the chainable exit `link` jump straight to `to`, if both are
    /// still current.
    pub(crate) fn link(&mut self, link: Link, to: Translation) {
        if link.generation == self.generation {
            // SAFETY: the cell lies in the arena's current generation (it
            // was handed out since the last flush) and is 8-aligned.
            unsafe { link.cell.write(to.chain) }
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn assemble(
        &mut self,
        slots: &[Slot],
        helpers: &Helpers,
        place: BlockPlace,
    ) -> Option<Translation> {
        for attempt in 0..2 {
            let arena = self.arena.as_mut()?;
            let at = emit::Placement {
                addr: arena.next_addr(),
                page_off: place.page_off,
                first: place.first,
            };
            let code = emit::block(slots, helpers, &at)?;
            if let Some(addr) = arena.push(&code.bytes) {
                // SAFETY: `bytes` is a complete function with this ABI,
                // assembled for `addr` (emit::block).
                let entry = unsafe { std::mem::transmute::<usize, BlockFn>(addr) };
                return Some(Translation {
                    code: entry,
                    chain: addr + code.chain_offset,
                });
            }
            if attempt == 0 {
                // Full: start over.
                self.flush();
            }
        }
        None
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn assemble(&mut self, _: &[Slot], _: &Helpers, _: BlockPlace) -> Option<Translation> {
        None
    }
}

impl Default for Jit {
    fn default() -> Self {
        Jit::new()
    }
}

/// How a block run ended: `Ok((retired, flow))`, or `Err((retired, index,
/// trap))` when slot `index` trapped after `retired` instructions (a block
/// that loops on itself may retire more than its length).
pub(crate) type BlockExit = Result<(u64, Flow), (u64, usize, Trap)>;

/// Where a translated run ended: how, in which block (chaining may have
/// moved on from the first), and the link cell of its last jump.
pub(crate) struct TranslatedExit {
    pub exit: BlockExit,
    /// The last block run: first slot, length, pc.
    pub first: usize,
    pub n: usize,
    pub block_pc: u64,
    pub link: Option<Link>,
}

impl Hart {
    /// Runs the translation `t` of the block of `n` slots at `first` in
    /// `page_slots`, starting at `block_pc` with icount `base`, stopping by
    /// icount `end`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn run_translated<B: SystemBus>(
        &mut self,
        t: Translation,
        bus: &mut B,
        page_slots: &[Slot],
        (first, n): (usize, usize),
        block_pc: u64,
        base: u64,
        end: u64,
    ) -> TranslatedExit {
        let (tlb_read, tlb_write) = self.tlb.data_sets(self.dset);
        let ram = bus.ram().data_mut().as_mut_ptr();
        let hart: *mut Hart = self;
        let mut ctx = JitCtx {
            // SAFETY: `hart` is `self`, live for the call.
            x: unsafe { std::ptr::addr_of_mut!((*hart).x) }.cast(),
            hart,
            bus: (bus as *mut B).cast(),
            block_pc,
            base,
            end,
            target: 0,
            tlb_read,
            tlb_write,
            ram,
            page_slots: page_slots.as_ptr(),
            first: first as u32,
            n: n as u32,
            link: std::ptr::null_mut(),
            trap: None,
        };
        // SAFETY: the code was assembled from these slots for bus type `B`
        // (`Jit::translate` flushes on a change of type), and the blocks it
        // chains to from the same page's slots; the context's pointers are
        // live for the call and nothing else uses them.
        let r = unsafe { (t.code)(&mut ctx) };
        let ran = r & 0xffff_ffff;
        let retired = ctx.base - base + ran;
        let exit = match r >> 32 {
            EXIT_NEXT => Ok((retired, Flow::Next)),
            EXIT_JUMP => Ok((retired, Flow::Jump(ctx.target))),
            EXIT_END => Ok((retired, Flow::End(ctx.target))),
            _ => Err((
                retired,
                ran as usize,
                ctx.trap.expect("a trap exit carries its trap"),
            )),
        };
        TranslatedExit {
            exit,
            first: ctx.first as usize,
            n: ctx.n as usize,
            block_pc: ctx.block_pc,
            link: (!ctx.link.is_null()).then_some(Link {
                cell: ctx.link,
                generation: self.jit.generation,
            }),
        }
    }
}

/// Executes slot `k` with the interpreter. Returns 0 to go on, or the
/// block's exit value.
unsafe extern "sysv64" fn helper_exec<B: SystemBus>(ctx: *mut JitCtx, k: u64) -> u64 {
    // SAFETY: called only by a translated block with its live context.
    let ctx = unsafe { &mut *ctx };
    let (hart, bus, slot) = unsafe {
        (
            &mut *ctx.hart,
            &mut *ctx.bus.cast::<B>(),
            &*ctx.page_slots.add(ctx.first as usize + k as usize),
        )
    };
    match hart.exec(bus, slot, ctx.block_pc, ctx.base) {
        Ok(Flow::Next) => {
            // The data privilege may have changed (it does not today
            // without ending the block, but the block must not care).
            (ctx.tlb_read, ctx.tlb_write) = hart.tlb.data_sets(hart.dset);
            0
        }
        Ok(Flow::Jump(t)) => {
            ctx.target = t;
            (k + 1) | EXIT_JUMP << 32
        }
        Ok(Flow::End(t)) => {
            ctx.target = t;
            (k + 1) | EXIT_END << 32
        }
        Err(t) => {
            ctx.trap = Some(t);
            k | EXIT_TRAP << 32
        }
    }
}
