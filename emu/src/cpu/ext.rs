//! Which optional ISA extensions a hart implements.
//!
//! One flag per extension that QEMU 10's default riscv64 CPU (or `max`)
//! offers beyond rv64imafdc + Zicsr/Zifencei/Zicntr. The decoder treats an
//! instruction of a disabled extension as illegal, the CSR file hides CSRs of
//! a disabled extension, and the device tree names exactly the enabled ones,
//! so `-cpu rv64,zba=off` behaves as it does on QEMU.

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
    pub zicboz: bool,
    pub zihintntl: bool,
    pub zihintpause: bool,
    pub zihpm: bool,
    pub zawrs: bool,
    pub sstc: bool,
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
        zicboz: false,
        zihintntl: false,
        zihintpause: false,
        zihpm: false,
        zawrs: false,
        sstc: false,
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
        zicboz: true,
        zihintntl: true,
        zihintpause: true,
        zihpm: true,
        zawrs: true,
        sstc: true,
        svvptc: true,
    };
}

impl Default for IsaExtensions {
    fn default() -> Self {
        IsaExtensions::QEMU_DEFAULT
    }
}
