//! Which optional ISA extensions a hart implements, and its MMU modes.
//!
//! One flag per extension that QEMU 10's default riscv64 CPU (or `max`)
//! offers beyond rv64imafdc + Zicsr/Zifencei/Zicntr. The decoder treats an
//! instruction of a disabled extension as illegal, the CSR file hides CSRs of
//! a disabled extension, and the device tree names exactly the enabled ones,
//! so `-cpu rv64,zba=off` behaves as it does on QEMU. `cpu::model` parses
//! QEMU's `-cpu` spelling into these.

/// Optional extensions, each on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsaExtensions {
    pub zba: bool,
    pub zbb: bool,
    pub zbc: bool,
    pub zbs: bool,
    pub zicond: bool,
    pub zfa: bool,
    pub zicbom: bool,
    /// Prefetch hints (`prefetch.i/r/w` are `ori` encodings: nothing to
    /// execute beyond the `ori` itself; advertised with a block size).
    pub zicbop: bool,
    pub zicboz: bool,
    pub zihintntl: bool,
    pub zihintpause: bool,
    /// hpmcounter3..18 and mhpmevent3..31 (QEMU's default `pmu-mask`).
    pub zihpm: bool,
    pub zawrs: bool,
    /// stimecmp and menvcfg.STCE.
    pub sstc: bool,
    /// Hardware A/D-bit updates when menvcfg.ADUE is set (its reset value).
    pub svadu: bool,
    pub svvptc: bool,
}

impl IsaExtensions {
    /// None of the optional extensions (the fixtures' minimal CPU).
    pub const NONE: IsaExtensions = IsaExtensions {
        zba: false,
        zbb: false,
        zbc: false,
        zbs: false,
        zicond: false,
        zfa: false,
        zicbom: false,
        zicbop: false,
        zicboz: false,
        zihintntl: false,
        zihintpause: false,
        zihpm: false,
        zawrs: false,
        sstc: false,
        svadu: false,
        svvptc: false,
    };

    /// QEMU 10's default riscv64 `virt` CPU (Zicond is only in `max`).
    pub const QEMU_DEFAULT: IsaExtensions = IsaExtensions {
        zba: true,
        zbb: true,
        zbc: true,
        zbs: true,
        zicond: false,
        zfa: true,
        zicbom: true,
        zicbop: true,
        zicboz: true,
        zihintntl: true,
        zihintpause: true,
        zihpm: true,
        zawrs: true,
        sstc: true,
        svadu: true,
        svvptc: true,
    };

    /// Every extension emu implements (`--cpu max`).
    pub const ALL: IsaExtensions = IsaExtensions {
        zicond: true,
        ..IsaExtensions::QEMU_DEFAULT
    };
}

impl Default for IsaExtensions {
    fn default() -> Self {
        IsaExtensions::QEMU_DEFAULT
    }
}

/// The largest virtual-memory scheme a hart offers; satp accepts it and
/// every smaller one (as QEMU: `sv48=on` also allows Sv39).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MmuType {
    Sv39,
    Sv48,
    Sv57,
}

impl MmuType {
    /// Whether satp.MODE `mode` is accepted (Bare always is).
    #[inline]
    pub fn accepts(self, mode: u64) -> bool {
        match mode {
            0 | 8 => true,
            9 => self >= MmuType::Sv48,
            10 => self >= MmuType::Sv57,
            _ => false,
        }
    }

    /// The device tree's `mmu-type`.
    pub fn dt_name(self) -> &'static str {
        match self {
            MmuType::Sv39 => "riscv,sv39",
            MmuType::Sv48 => "riscv,sv48",
            MmuType::Sv57 => "riscv,sv57",
        }
    }
}

/// Bytes per cache block for Zicbom/Zicbop/Zicboz (QEMU's default
/// `cbom_blocksize` etc.; `cbo.zero` clears this many bytes).
pub const CBO_BLOCK_SIZE: u32 = 64;
