//! QEMU's firmware configuration device (`hw/nvram/fw_cfg.c`), MMIO flavour
//! as the riscv virt board maps it (`fw_cfg_init_mem_wide(base + 8, base,
//! 8, base + 16)`): a data register at +0 (reads of 1..8 bytes stream the
//! selected item), a 2-byte big-endian selector at +8 and a big-endian
//! 8-byte DMA address at +0x10. Items are fixed at construction (the virt
//! board has no writable item), so the state is the selection, the read
//! offset and a half-written DMA address.
//!
//! Which accesses fault follows QEMU 10.0.2 exactly, as measured by
//! `fixtures/fwcfg/fwcfg_dump.c`: a misaligned access is split into
//! aligned pieces as QEMU's TCG splits MMIO accesses, and each piece must
//! be one the register accepts; pieces before a rejected one take effect.

use std::collections::BTreeMap;

use crate::bus::{BusFault, PhysAddr, Ram};

/// Register offsets.
pub const DATA: u64 = 0x00;
pub const SELECTOR: u64 = 0x08;
pub const DMA_ADDRESS: u64 = 0x10;
/// The DMA register's two 4-byte halves.
const DMA_ADDRESS_HIGH: u64 = DMA_ADDRESS;
const DMA_ADDRESS_LOW: u64 = DMA_ADDRESS + 4;
const DMA_ADDRESS_END: u64 = DMA_ADDRESS + 8;

/// Selector keys (include/standard-headers/linux/qemu_fw_cfg.h).
pub const SIGNATURE: u16 = 0x00;
pub const ID: u16 = 0x01;
pub const UUID: u16 = 0x02;
pub const NOGRAPHIC: u16 = 0x04;
pub const NB_CPUS: u16 = 0x05;
pub const BOOT_MENU: u16 = 0x0e;
pub const FILE_DIR: u16 = 0x19;
pub const FILE_FIRST: u16 = 0x20;
/// QEMU's default `x-file-slots`: the directory always has room for 32.
pub const FILE_SLOTS: u16 = 0x20;
const ARCH_LOCAL: u16 = 0x8000;
const ENTRY_MASK: u16 = 0x3fff;
const INVALID: u16 = 0xffff;
/// Keys at or above this (after masking) select nothing.
const MAX_ENTRY: u16 = FILE_FIRST + FILE_SLOTS;

/// FW_CFG_ID bits: the traditional interface and DMA.
const VERSION_TRADITIONAL: u32 = 0x01;
const VERSION_DMA: u32 = 0x02;

/// FWCfgDmaAccess control bits.
pub const DMA_CTL_ERROR: u32 = 0x01;
pub const DMA_CTL_READ: u32 = 0x02;
pub const DMA_CTL_SKIP: u32 = 0x04;
pub const DMA_CTL_SELECT: u32 = 0x08;
pub const DMA_CTL_WRITE: u32 = 0x10;
/// What reads of the DMA register return, byte by byte.
const DMA_SIGNATURE: [u8; 8] = *b"QEMU CFG";
/// FWCfgDmaAccess: BE u32 control, BE u32 length, BE u64 address.
const DMA_ACCESS_LEN: usize = 16;

/// A directory entry: BE u32 size, BE u16 select, u16 reserved, name.
const FILE_ENTRY_LEN: usize = 64;
const FILE_NAME_LEN: usize = 56;
/// The directory item: a BE u32 count, then every slot (unused ones zero).
const FILE_DIR_LEN: usize = 4 + FILE_ENTRY_LEN * FILE_SLOTS as usize;

/// Why a set of items cannot be a fw_cfg device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FwCfgError {
    #[error("fw_cfg key {key:#06x} is not a board's to set (the device builds the ID {ID:#x} and the directory {FILE_DIR:#x}; files start at {FILE_FIRST:#x})")]
    NotBoardKey { key: u16 },
    #[error("fw_cfg key {key:#06x} is given twice")]
    DuplicateKey { key: u16 },
    #[error("fw_cfg file name {name:?} is {len} bytes; at most {} fit", FILE_NAME_LEN - 1)]
    NameTooLong { name: String, len: usize },
    #[error("fw_cfg file {name:?} is given twice")]
    DuplicateFile { name: String },
    #[error("fw_cfg has {FILE_SLOTS} file slots; {count} files do not fit")]
    TooManyFiles { count: usize },
    #[error("fw_cfg item is {len} bytes; lengths are 32-bit")]
    TooLarge { len: usize },
}

pub type Result<T> = std::result::Result<T, FwCfgError>;

/// Collects items and files, then lays them out as QEMU does.
#[derive(Debug, Default)]
pub struct FwCfgBuilder {
    fixed: BTreeMap<u16, Box<[u8]>>,
    /// By name, which is QEMU's order (strcmp); `None` keeps a select
    /// number for a file QEMU has and we do not build.
    files: BTreeMap<String, Option<Box<[u8]>>>,
}

impl FwCfgBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A numbered item (signature, UUID, ...).
    pub fn item(mut self, key: u16, data: &[u8]) -> Result<Self> {
        if key >= FILE_FIRST || key == FILE_DIR || key == ID {
            return Err(FwCfgError::NotBoardKey { key });
        }
        check_len(data.len())?;
        if self.fixed.insert(key, data.into()).is_some() {
            return Err(FwCfgError::DuplicateKey { key });
        }
        Ok(self)
    }

    /// A file, listed in the directory.
    pub fn file(self, name: &str, data: &[u8]) -> Result<Self> {
        check_len(data.len())?;
        self.add_file(name, Some(data.into()))
    }

    /// A file QEMU offers that we do not: it is not listed and its select
    /// number stays empty, so every listed file keeps QEMU's number.
    pub fn absent_file(self, name: &str) -> Result<Self> {
        self.add_file(name, None)
    }

    fn add_file(mut self, name: &str, data: Option<Box<[u8]>>) -> Result<Self> {
        // The name field is NUL-terminated.
        if name.len() >= FILE_NAME_LEN {
            return Err(FwCfgError::NameTooLong {
                name: name.into(),
                len: name.len(),
            });
        }
        if self.files.insert(name.into(), data).is_some() {
            return Err(FwCfgError::DuplicateFile { name: name.into() });
        }
        if self.files.len() > FILE_SLOTS as usize {
            return Err(FwCfgError::TooManyFiles {
                count: self.files.len(),
            });
        }
        Ok(self)
    }

    /// The device, with the ID item (traditional + DMA) and the directory.
    pub fn build(self) -> FwCfg {
        let mut items: Vec<Box<[u8]>> = vec![Box::default(); MAX_ENTRY as usize];
        for (key, data) in self.fixed {
            items[key as usize] = data;
        }
        items[ID as usize] = (VERSION_TRADITIONAL | VERSION_DMA).to_le_bytes().into();
        let mut dir = vec![0u8; FILE_DIR_LEN];
        let mut listed = 0usize;
        for (slot, (name, data)) in self.files.into_iter().enumerate() {
            let Some(data) = data else { continue };
            let select = FILE_FIRST + slot as u16;
            let e = &mut dir[4 + FILE_ENTRY_LEN * listed..][..FILE_ENTRY_LEN];
            e[0..4].copy_from_slice(&(data.len() as u32).to_be_bytes());
            e[4..6].copy_from_slice(&select.to_be_bytes());
            e[8..8 + name.len()].copy_from_slice(name.as_bytes());
            items[select as usize] = data;
            listed += 1;
        }
        dir[0..4].copy_from_slice(&(listed as u32).to_be_bytes());
        items[FILE_DIR as usize] = dir.into();
        FwCfg {
            items,
            cur_entry: SIGNATURE,
            cur_offset: 0,
            dma_addr: 0,
        }
    }
}

fn check_len(len: usize) -> Result<()> {
    if u32::try_from(len).is_err() {
        return Err(FwCfgError::TooLarge { len });
    }
    Ok(())
}

/// The device.
#[derive(Debug, Clone)]
pub struct FwCfg {
    /// By key & ENTRY_MASK; arch-local keys have no items on riscv.
    items: Vec<Box<[u8]>>,
    /// The key as written (INVALID if it selects nothing).
    cur_entry: u16,
    cur_offset: u32,
    /// The DMA address as written so far (a high half waits for the low).
    dma_addr: u64,
}

/// What a DMA request does with its bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DmaOp {
    Read,
    Write,
    Skip,
}

/// [`FwCfg`]'s guest-driven state (snapshots); the items are fixed by the
/// board configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FwCfgState {
    pub cur_entry: u16,
    pub cur_offset: u32,
    pub dma_addr: u64,
}

impl FwCfg {
    pub fn save_state(&self) -> FwCfgState {
        FwCfgState {
            cur_entry: self.cur_entry,
            cur_offset: self.cur_offset,
            dma_addr: self.dma_addr,
        }
    }

    /// Takes `s` if it selects an item the device has (or nothing).
    pub fn restore_state(
        &mut self,
        s: &FwCfgState,
    ) -> std::result::Result<(), crate::devices::StateError> {
        if s.cur_entry != INVALID && s.cur_entry & ENTRY_MASK >= MAX_ENTRY {
            return Err(crate::devices::StateError::new(
                "fw_cfg",
                format!("selector {:#x}", s.cur_entry),
            ));
        }
        self.cur_entry = s.cur_entry;
        self.cur_offset = s.cur_offset;
        self.dma_addr = s.dma_addr;
        Ok(())
    }

    /// What QEMU 10.0.2 offers on `-M virt` with one hart: the generic
    /// items (signature, UUID, nographic, boot menu, ID, etc/boot-fail-wait,
    /// and at machine reset bootorder and bios-geometry), plus NB_CPUS from
    /// hw/riscv/virt.c. The ACPI and SMBIOS tables QEMU builds are absent
    /// (see docs/emu.md); their select numbers stay empty.
    pub fn qemu_virt(nb_cpus: u16) -> Result<FwCfg> {
        Ok(FwCfgBuilder::new()
            .item(SIGNATURE, b"QEMU")?
            // No -uuid: all zeros.
            .item(UUID, &[0; 16])?
            // emu has no display: QEMU's value under -nographic.
            .item(NOGRAPHIC, &1u16.to_le_bytes())?
            .item(BOOT_MENU, &0u16.to_le_bytes())?
            .item(NB_CPUS, &nb_cpus.to_le_bytes())?
            // No -boot reboot-timeout: -1, "do not reboot".
            .file("etc/boot-fail-wait", &u32::MAX.to_le_bytes())?
            // No device has a bootindex: both lists are empty.
            .file("bootorder", &[])?
            .file("bios-geometry", &[])?
            .absent_file("etc/acpi/rsdp")?
            .absent_file("etc/acpi/tables")?
            .absent_file("etc/table-loader")?
            .absent_file("etc/smbios/smbios-anchor")?
            .absent_file("etc/smbios/smbios-tables")?
            .build())
    }

    /// Device reset: QEMU selects the signature and keeps a half-written
    /// DMA address (fw_cfg_reset only selects).
    pub fn reset(&mut self) {
        self.select(SIGNATURE);
    }

    fn select(&mut self, key: u16) {
        self.cur_offset = 0;
        self.cur_entry = if key & ENTRY_MASK >= MAX_ENTRY {
            INVALID
        } else {
            key
        };
    }

    /// The selected item's bytes (empty if nothing or an arch-local key).
    fn item(&self) -> &[u8] {
        if self.cur_entry == INVALID || self.cur_entry & ARCH_LOCAL != 0 {
            return &[];
        }
        &self.items[(self.cur_entry & ENTRY_MASK) as usize]
    }

    /// The next byte of the selected item; 0 past its end.
    fn next_byte(&mut self) -> u8 {
        let off = self.cur_offset as usize;
        match self.item().get(off).copied() {
            Some(b) => {
                self.cur_offset += 1;
                b
            }
            None => 0,
        }
    }

    pub fn read(&mut self, off: u64, size: u8) -> std::result::Result<u64, BusFault> {
        let mut v = 0;
        for (p, n) in pieces(off, size)? {
            v |= self.read_piece(p, n)? << (8 * (p - off));
        }
        Ok(v)
    }

    pub fn write(
        &mut self,
        off: u64,
        size: u8,
        val: u64,
        ram: &mut Ram,
    ) -> std::result::Result<(), BusFault> {
        for (p, n) in pieces(off, size)? {
            // Pieces are at most 8 bytes in, so the shift stays below 64.
            self.write_piece(p, n, (val >> (8 * (p - off))) & mask(n), ram)?;
        }
        Ok(())
    }

    /// One aligned access of `n` bytes. Item bytes are packed in address
    /// order, so the guest's little-endian load sees them in stream order.
    fn read_piece(&mut self, off: u64, n: u8) -> std::result::Result<u64, BusFault> {
        let mut v = 0;
        if off == DATA {
            for i in 0..n {
                v |= (self.next_byte() as u64) << (8 * i);
            }
        } else if off >= DMA_ADDRESS && off + n as u64 <= DMA_ADDRESS_END {
            let start = (off - DMA_ADDRESS) as usize;
            for (i, &b) in DMA_SIGNATURE[start..start + n as usize].iter().enumerate() {
                v |= (b as u64) << (8 * i);
            }
        } else {
            // The selector is write-only; the rest of the 0x18 bytes is a hole.
            return Err(BusFault::Rejected);
        }
        Ok(v)
    }

    fn write_piece(
        &mut self,
        off: u64,
        n: u8,
        val: u64,
        ram: &mut Ram,
    ) -> std::result::Result<(), BusFault> {
        match (off, n) {
            // Accepted and ignored: data writes went away in QEMU 2.4.
            (DATA, _) => {}
            (SELECTOR, 2) => self.select((val as u16).swap_bytes()),
            (DMA_ADDRESS_HIGH, 4) => self.dma_addr = ((val as u32).swap_bytes() as u64) << 32,
            (DMA_ADDRESS_LOW, 4) => {
                self.dma_addr |= (val as u32).swap_bytes() as u64;
                self.dma_transfer(ram);
            }
            (DMA_ADDRESS, 8) => {
                self.dma_addr = val.swap_bytes();
                self.dma_transfer(ram);
            }
            _ => return Err(BusFault::Rejected),
        }
        Ok(())
    }

    /// Runs the FWCfgDmaAccess at the written address, then writes its
    /// control word back: 0, or the error bit.
    fn dma_transfer(&mut self, ram: &mut Ram) {
        let at = PhysAddr(std::mem::take(&mut self.dma_addr));
        let mut raw = [0u8; DMA_ACCESS_LEN];
        let status = match ram.read_bytes(at, &mut raw) {
            Ok(()) => self.dma_run(&raw, ram),
            Err(_) => DMA_CTL_ERROR,
        };
        // Nowhere to report to if the control word is not in RAM either.
        let _ = ram.write_bytes(at, &status.to_be_bytes());
    }

    fn dma_run(&mut self, raw: &[u8; DMA_ACCESS_LEN], ram: &mut Ram) -> u32 {
        let [c0, c1, c2, c3, l0, l1, l2, l3, a @ ..] = *raw;
        let control = u32::from_be_bytes([c0, c1, c2, c3]);
        let mut length = u32::from_be_bytes([l0, l1, l2, l3]);
        let mut address = u64::from_be_bytes(a);
        if control & DMA_CTL_SELECT != 0 {
            self.select((control >> 16) as u16);
        }
        // One operation; read wins over write, write over skip.
        let op = if control & DMA_CTL_READ != 0 {
            DmaOp::Read
        } else if control & DMA_CTL_WRITE != 0 {
            DmaOp::Write
        } else if control & DMA_CTL_SKIP != 0 {
            DmaOp::Skip
        } else {
            length = 0;
            DmaOp::Skip
        };
        // At most two rounds: the item's remaining bytes, then past its end.
        let mut status = 0;
        while length > 0 && status & DMA_CTL_ERROR == 0 {
            let off = self.cur_offset as usize;
            let (len, failed) = if off >= self.item().len() {
                // Past the end (or nothing selected): reads give zeros.
                let failed = match op {
                    DmaOp::Read => zero_fill(ram, address, length).is_err(),
                    DmaOp::Write => true,
                    DmaOp::Skip => false,
                };
                (length, failed)
            } else {
                let len = length.min((self.item().len() - off) as u32);
                let bytes = &self.item()[off..off + len as usize];
                let failed = match op {
                    DmaOp::Read => ram.write_bytes(PhysAddr(address), bytes).is_err(),
                    // No item on this board is writable.
                    DmaOp::Write => true,
                    DmaOp::Skip => false,
                };
                // As QEMU: the offset moves even when the transfer failed.
                self.cur_offset += len;
                (len, failed)
            };
            if failed {
                status |= DMA_CTL_ERROR;
            }
            address = address.wrapping_add(len as u64);
            length -= len;
        }
        status
    }

    /// The guest-visible state (the items are fixed by the board config).
    pub fn digest_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.cur_entry.to_le_bytes());
        out.extend_from_slice(&self.cur_offset.to_le_bytes());
        out.extend_from_slice(&self.dma_addr.to_le_bytes());
    }
}

/// Writes `len` zero bytes at `address`, all in RAM or nothing.
fn zero_fill(ram: &mut Ram, address: u64, len: u32) -> std::result::Result<(), BusFault> {
    const CHUNK: [u8; 4096] = [0; 4096];
    ram.offset_of(PhysAddr(address), len as u64)
        .ok_or(BusFault::Unmapped)?;
    let mut done = 0u64;
    while done < len as u64 {
        let n = (len as u64 - done).min(CHUNK.len() as u64);
        ram.write_bytes(PhysAddr(address + done), &CHUNK[..n as usize])?;
        done += n;
    }
    Ok(())
}

/// Splits an access as QEMU's TCG splits MMIO accesses: aligned pieces of
/// at most 8 bytes, lowest address first.
fn pieces(off: u64, size: u8) -> std::result::Result<Vec<(u64, u8)>, BusFault> {
    if size == 0 || size > 8 {
        return Err(BusFault::Rejected);
    }
    let mut out = Vec::with_capacity(size as usize);
    let (mut at, mut left) = (off, size as u64);
    while left > 0 {
        let n = 1u64 << (left | at | 8).trailing_zeros();
        out.push((at, n as u8));
        at = at.checked_add(n).ok_or(BusFault::Rejected)?;
        left -= n;
    }
    Ok(out)
}

fn mask(n: u8) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAM_BASE: u64 = 0x8000_0000;

    fn dev() -> FwCfg {
        FwCfg::qemu_virt(1).unwrap()
    }

    fn ram() -> Ram {
        Ram::new(PhysAddr(RAM_BASE), 0x10000)
    }

    fn select(f: &mut FwCfg, key: u16, ram: &mut Ram) {
        f.write(SELECTOR, 2, key.swap_bytes() as u64, ram).unwrap();
    }

    /// `n` bytes of the selected item, one data read of `width` at a time.
    fn read_stream(f: &mut FwCfg, n: usize, width: u8) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < n {
            let v = f.read(DATA, width).unwrap();
            out.extend_from_slice(&v.to_le_bytes()[..width as usize]);
        }
        out.truncate(n);
        out
    }

    /// Runs one DMA request with its descriptor at 0x8000_0100; returns
    /// the control word written back.
    fn dma(f: &mut FwCfg, ram: &mut Ram, control: u32, length: u32, address: u64) -> u32 {
        let desc = RAM_BASE + 0x100;
        let mut raw = [0u8; 16];
        raw[0..4].copy_from_slice(&control.to_be_bytes());
        raw[4..8].copy_from_slice(&length.to_be_bytes());
        raw[8..16].copy_from_slice(&address.to_be_bytes());
        ram.write_bytes(PhysAddr(desc), &raw).unwrap();
        f.write(DMA_ADDRESS, 8, desc.swap_bytes(), ram).unwrap();
        control_at(ram, desc)
    }

    /// The big-endian control word of the descriptor at `at`.
    fn control_at(ram: &Ram, at: u64) -> u32 {
        u32::from_be_bytes(ram_bytes(ram, at, 4).try_into().unwrap())
    }

    fn ram_bytes(ram: &Ram, at: u64, n: usize) -> Vec<u8> {
        let mut b = vec![0; n];
        ram.read_bytes(PhysAddr(at), &mut b).unwrap();
        b
    }

    fn sel(key: u16) -> u32 {
        (key as u32) << 16 | DMA_CTL_SELECT
    }

    #[test]
    fn every_item_reads_the_same_at_every_width() {
        let mut r = ram();
        let expected: [(u16, &[u8]); 8] = [
            (SIGNATURE, b"QEMU"),
            (ID, &[3, 0, 0, 0]),
            (UUID, &[0; 16]),
            (NOGRAPHIC, &[1, 0]),
            (NB_CPUS, &[1, 0]),
            (BOOT_MENU, &[0, 0]),
            (0x03, &[]),
            (0x0040, &[]),
        ];
        for (key, want) in expected {
            for width in [1, 2, 4, 8] {
                let mut f = dev();
                select(&mut f, key, &mut r);
                let got = read_stream(&mut f, 24, width);
                let mut padded = want.to_vec();
                padded.resize(24, 0);
                assert_eq!(got, padded, "key {key:#x} width {width}");
            }
        }
        // The signature packs in address order: "QEMU" as a LE u32.
        let mut f = dev();
        assert_eq!(f.read(DATA, 4), Ok(0x554d_4551));
        assert_eq!(f.read(DATA, 8), Ok(0), "past the end reads zero");
        f.reset();
        assert_eq!(f.read(DATA, 1), Ok(0x51));
        assert_eq!(f.read(DATA, 8), Ok(0x0055_4d45), "the tail, then zeros");
    }

    #[test]
    fn file_directory_lists_files_by_name_with_qemus_selects() {
        let mut r = ram();
        let mut f = dev();
        select(&mut f, FILE_DIR, &mut r);
        let dir = read_stream(&mut f, FILE_DIR_LEN + 8, 8);
        assert_eq!(&dir[0..4], &3u32.to_be_bytes());
        let entry = |i: usize| {
            let e = &dir[4 + FILE_ENTRY_LEN * i..][..FILE_ENTRY_LEN];
            let name_end = e[8..].iter().position(|&b| b == 0).unwrap();
            (
                u32::from_be_bytes(e[0..4].try_into().unwrap()),
                u16::from_be_bytes(e[4..6].try_into().unwrap()),
                u16::from_be_bytes(e[6..8].try_into().unwrap()),
                std::str::from_utf8(&e[8..8 + name_end])
                    .unwrap()
                    .to_string(),
            )
        };
        // QEMU: bios-geometry 0x20, bootorder 0x21, etc/acpi/rsdp 0x22,
        // etc/acpi/tables 0x23, etc/boot-fail-wait 0x24, ...
        assert_eq!(entry(0), (0, 0x20, 0, "bios-geometry".into()));
        assert_eq!(entry(1), (0, 0x21, 0, "bootorder".into()));
        assert_eq!(entry(2), (4, 0x24, 0, "etc/boot-fail-wait".into()));
        assert!(dir[4 + 3 * FILE_ENTRY_LEN..].iter().all(|&b| b == 0));
        select(&mut f, 0x24, &mut r);
        assert_eq!(f.read(DATA, 8), Ok(0xffff_ffff));
        select(&mut f, 0x22, &mut r);
        assert_eq!(f.read(DATA, 8), Ok(0), "absent files read empty");
    }

    #[test]
    fn builder_rejects_what_qemu_cannot_hold() {
        let b = || FwCfgBuilder::new();
        for key in [ID, FILE_DIR, FILE_FIRST] {
            assert_eq!(
                b().item(key, &[]).unwrap_err(),
                FwCfgError::NotBoardKey { key }
            );
        }
        assert_eq!(
            b().item(NB_CPUS, &[1])
                .unwrap()
                .item(NB_CPUS, &[2])
                .unwrap_err(),
            FwCfgError::DuplicateKey { key: NB_CPUS }
        );
        let long = "x".repeat(56);
        assert_eq!(
            b().file(&long, &[]).unwrap_err(),
            FwCfgError::NameTooLong {
                name: long,
                len: 56
            }
        );
        assert!(b().file(&"x".repeat(55), &[]).is_ok());
        assert_eq!(
            b().file("a", &[]).unwrap().absent_file("a").unwrap_err(),
            FwCfgError::DuplicateFile { name: "a".into() }
        );
        let mut many = b();
        for i in 0..FILE_SLOTS {
            many = many.file(&format!("f{i:02}"), &[]).unwrap();
        }
        assert_eq!(
            many.file("one-more", &[]).unwrap_err(),
            FwCfgError::TooManyFiles { count: 33 }
        );
    }

    #[test]
    fn keys_select_as_qemu_masks_them() {
        let mut r = ram();
        let mut f = dev();
        // The write-channel bit is ignored, arch-local keys are empty,
        // keys past the last file slot select nothing.
        for (key, first) in [
            (0x4000, 0x51),
            (0x4001, 3),
            (0x8000, 0),
            (0x3f, 0),
            (0x40, 0),
            (0xffff, 0),
        ] {
            select(&mut f, key, &mut r);
            assert_eq!(f.read(DATA, 1), Ok(first), "key {key:#x}");
        }
        select(&mut f, 0x40, &mut r);
        assert_eq!(f.cur_entry, INVALID);
    }

    #[test]
    fn accesses_fault_where_qemu_rejects_them() {
        let mut r = ram();
        let mut f = dev();
        // Data: reads and (ignored) writes at +0 only.
        for size in [1, 2, 4, 8] {
            f.reset();
            assert!(f.read(DATA, size).is_ok());
            assert!(f.write(DATA, size, 0, &mut r).is_ok());
            for off in 1..8 {
                assert_eq!(f.read(off, size), Err(BusFault::Rejected), "+{off}/{size}");
                assert_eq!(f.write(off, size, 0, &mut r), Err(BusFault::Rejected));
            }
        }
        // Selector: 2-byte writes only.
        for size in [1, 2, 4, 8] {
            assert_eq!(f.read(SELECTOR, size), Err(BusFault::Rejected));
            assert_eq!(
                f.write(SELECTOR + 1, size, 0, &mut r),
                Err(BusFault::Rejected)
            );
        }
        for size in [1, 4, 8] {
            assert_eq!(f.write(SELECTOR, size, 0, &mut r), Err(BusFault::Rejected));
        }
        // The hole between selector and DMA.
        for off in 0xa..0x10 {
            assert_eq!(f.read(off, 1), Err(BusFault::Rejected));
            assert_eq!(f.write(off, 1, 0, &mut r), Err(BusFault::Rejected));
        }
        // DMA register: reads of any aligned piece; 4- or 8-byte writes.
        assert_eq!(f.read(DMA_ADDRESS, 8), Ok(u64::from_le_bytes(*b"QEMU CFG")));
        assert_eq!(f.read(DMA_ADDRESS + 4, 4), Ok(0x4746_4320));
        assert_eq!(f.read(DMA_ADDRESS + 7, 1), Ok(b'G' as u64));
        for size in [1, 2] {
            assert_eq!(
                f.write(DMA_ADDRESS, size, 0, &mut r),
                Err(BusFault::Rejected)
            );
            assert_eq!(
                f.write(DMA_ADDRESS + 4, size, 0, &mut r),
                Err(BusFault::Rejected)
            );
        }
        assert_eq!(
            f.write(DMA_ADDRESS + 4, 8, 0, &mut r),
            Err(BusFault::Rejected)
        );
    }

    #[test]
    fn misaligned_accesses_split_like_qemus_tcg() {
        let mut r = ram();
        let mut f = dev();
        assert_eq!(
            pieces(0x11, 8).unwrap(),
            (0x11..0x19).map(|a| (a, 1)).collect::<Vec<_>>()
        );
        assert_eq!(pieces(0x14, 8).unwrap(), vec![(0x14, 4), (0x18, 4)]);
        assert_eq!(pieces(0x12, 4).unwrap(), vec![(0x12, 2), (0x14, 2)]);
        // Inside the DMA register a misaligned read works piece by piece...
        assert_eq!(f.read(0x11, 4), Ok(0x2055_4d45));
        assert_eq!(f.read(0x13, 4), Ok(0x4643_2055));
        // ...and faults once a piece leaves it.
        assert_eq!(f.read(0x15, 4), Err(BusFault::Rejected));
        // An 8-byte store at +0x14: the low half runs the DMA, then the
        // piece at +0x18 faults.
        let desc = RAM_BASE + 0x200;
        let mut raw = [0u8; 16];
        raw[0..4].copy_from_slice(&sel(NB_CPUS).to_be_bytes());
        r.write_bytes(PhysAddr(desc), &raw).unwrap();
        let v = (desc as u32).swap_bytes() as u64;
        assert_eq!(f.write(0x14, 8, v, &mut r), Err(BusFault::Rejected));
        assert_eq!(r.read_u32(PhysAddr(desc)), Ok(0), "the DMA ran");
        assert_eq!(f.read(DATA, 2), Ok(1), "and selected NB_CPUS");
    }

    #[test]
    fn dma_read_select_skip_and_past_the_end() {
        let mut r = ram();
        let mut f = dev();
        let buf = RAM_BASE + 0x1000;
        r.write_bytes(PhysAddr(buf), &[0xaa; 8]).unwrap();
        assert_eq!(
            dma(&mut f, &mut r, sel(SIGNATURE) | DMA_CTL_READ, 6, buf),
            0
        );
        assert_eq!(ram_bytes(&r, buf, 8), b"QEMU\0\0\xaa\xaa");
        // Skip, then a traditional read continues there.
        assert_eq!(dma(&mut f, &mut r, sel(ID) | DMA_CTL_SKIP, 1, 0), 0);
        assert_eq!(f.read(DATA, 1), Ok(0));
        assert_eq!(dma(&mut f, &mut r, sel(SIGNATURE) | DMA_CTL_SKIP, 2, 0), 0);
        assert_eq!(f.read(DATA, 2), Ok(0x554d), "MU");
        // A read without select continues the selected item.
        r.write_bytes(PhysAddr(buf), &[0xaa; 4]).unwrap();
        select(&mut f, SIGNATURE, &mut r);
        f.read(DATA, 1).unwrap();
        assert_eq!(dma(&mut f, &mut r, DMA_CTL_READ, 2, buf), 0);
        assert_eq!(ram_bytes(&r, buf, 4), b"EM\xaa\xaa");
        // Select only, and no operation at all: nothing is copied.
        r.write_bytes(PhysAddr(buf), &[0xaa; 4]).unwrap();
        assert_eq!(dma(&mut f, &mut r, sel(ID), 4, buf), 0);
        assert_eq!(dma(&mut f, &mut r, 0, 4, buf), 0);
        assert_eq!(ram_bytes(&r, buf, 4), [0xaa; 4]);
        assert_eq!(f.read(DATA, 4), Ok(3));
        // An invalid key reads zeros; read wins over write and skip; the
        // error bit and unknown bits of a request are ignored.
        assert_eq!(dma(&mut f, &mut r, sel(0x40) | DMA_CTL_READ, 4, buf), 0);
        assert_eq!(ram_bytes(&r, buf, 4), [0; 4]);
        let all = DMA_CTL_READ | DMA_CTL_WRITE | DMA_CTL_SKIP | DMA_CTL_ERROR | 0xffe0;
        assert_eq!(dma(&mut f, &mut r, sel(SIGNATURE) | all, 4, buf), 0);
        assert_eq!(ram_bytes(&r, buf, 4), b"QEMU");
    }

    #[test]
    fn dma_writes_and_bad_addresses_set_the_error_bit() {
        let mut r = ram();
        let mut f = dev();
        let buf = RAM_BASE + 0x1000;
        // Items are read-only; the offset moves anyway, as in QEMU.
        assert_eq!(
            dma(&mut f, &mut r, sel(SIGNATURE) | DMA_CTL_WRITE, 2, buf),
            DMA_CTL_ERROR
        );
        assert_eq!(f.read(DATA, 1), Ok(b'M' as u64));
        assert_eq!(
            dma(&mut f, &mut r, sel(SIGNATURE) | DMA_CTL_WRITE, 0, buf),
            0
        );
        assert_eq!(
            dma(&mut f, &mut r, sel(0x40) | DMA_CTL_WRITE, 1, buf),
            DMA_CTL_ERROR
        );
        assert_eq!(
            dma(
                &mut f,
                &mut r,
                sel(SIGNATURE) | DMA_CTL_WRITE | DMA_CTL_SKIP,
                4,
                buf
            ),
            DMA_CTL_ERROR,
            "write wins over skip"
        );
        // Reads to an address outside RAM, within and past the item.
        assert_eq!(
            dma(&mut f, &mut r, sel(SIGNATURE) | DMA_CTL_READ, 2, 0),
            DMA_CTL_ERROR
        );
        assert_eq!(f.read(DATA, 1), Ok(b'M' as u64));
        assert_eq!(
            dma(
                &mut f,
                &mut r,
                sel(ID) | DMA_CTL_READ,
                8,
                RAM_BASE + 0x10000 - 6
            ),
            DMA_CTL_ERROR,
            "the zero fill past the item leaves RAM"
        );
        // A huge read past the end fails at once instead of filling 4 GiB.
        assert_eq!(
            dma(&mut f, &mut r, sel(0x40) | DMA_CTL_READ, u32::MAX, buf),
            DMA_CTL_ERROR
        );
        // A descriptor not wholly in RAM: the error goes to its control word.
        let last = RAM_BASE + 0x10000 - 8;
        r.write_bytes(PhysAddr(last), &sel(ID).to_be_bytes())
            .unwrap();
        select(&mut f, SIGNATURE, &mut r);
        f.write(DMA_ADDRESS, 8, last.swap_bytes(), &mut r).unwrap();
        assert_eq!(control_at(&r, last), DMA_CTL_ERROR);
        assert_eq!(f.read(DATA, 1), Ok(b'Q' as u64), "nothing was selected");
        // A descriptor outside RAM: nothing happens at all.
        f.write(DMA_ADDRESS, 8, 0u64, &mut r).unwrap();
        assert_eq!(f.read(DATA, 1), Ok(b'E' as u64));
    }

    #[test]
    fn dma_address_in_two_halves() {
        let mut r = ram();
        let mut f = dev();
        let desc = RAM_BASE + 0x300;
        let put = |r: &mut Ram| {
            r.write_bytes(PhysAddr(desc), &sel(NB_CPUS).to_be_bytes())
                .unwrap()
        };
        put(&mut r);
        // The high half alone does nothing; the low half runs it.
        f.write(DMA_ADDRESS, 4, 0, &mut r).unwrap();
        assert_eq!(f.read(DATA, 1), Ok(b'Q' as u64));
        f.write(
            DMA_ADDRESS + 4,
            4,
            (desc as u32).swap_bytes() as u64,
            &mut r,
        )
        .unwrap();
        assert_eq!(r.read_u32(PhysAddr(desc)), Ok(0));
        assert_eq!(f.read(DATA, 2), Ok(1));
        // A non-zero high half makes the address leave RAM; the transfer
        // resets it, so the next low half alone works.
        put(&mut r);
        f.write(DMA_ADDRESS, 4, 1u32.swap_bytes() as u64, &mut r)
            .unwrap();
        f.write(
            DMA_ADDRESS + 4,
            4,
            (desc as u32).swap_bytes() as u64,
            &mut r,
        )
        .unwrap();
        assert_eq!(control_at(&r, desc), sel(NB_CPUS));
        f.write(
            DMA_ADDRESS + 4,
            4,
            (desc as u32).swap_bytes() as u64,
            &mut r,
        )
        .unwrap();
        assert_eq!(r.read_u32(PhysAddr(desc)), Ok(0));
    }

    #[test]
    fn dma_keeps_decoded_code_coherent() {
        let mut r = ram();
        let mut f = dev();
        r.mark_code(1);
        dma(
            &mut f,
            &mut r,
            sel(SIGNATURE) | DMA_CTL_READ,
            4,
            RAM_BASE + 0x1000,
        );
        assert_eq!(r.take_stale(), Some(vec![1]));
    }

    #[test]
    fn reset_selects_the_signature_and_keeps_a_half_dma_address() {
        let mut r = ram();
        let mut f = dev();
        select(&mut f, ID, &mut r);
        f.read(DATA, 1).unwrap();
        f.write(DMA_ADDRESS, 4, 1u32.swap_bytes() as u64, &mut r)
            .unwrap();
        f.reset();
        assert_eq!(f.read(DATA, 4), Ok(0x554d_4551));
        assert_eq!(f.dma_addr, 1 << 32, "QEMU's reset only selects");
    }

    #[test]
    fn digest_follows_selector_offset_and_dma_address() {
        let mut r = ram();
        let mut f = dev();
        let digest = |f: &FwCfg| {
            let mut v = Vec::new();
            f.digest_state(&mut v);
            v
        };
        let d0 = digest(&f);
        select(&mut f, ID, &mut r);
        let d1 = digest(&f);
        assert_ne!(d1, d0);
        f.read(DATA, 1).unwrap();
        let d2 = digest(&f);
        assert_ne!(d2, d1);
        f.write(DMA_ADDRESS, 4, 1, &mut r).unwrap();
        assert_ne!(digest(&f), d2);
        assert_eq!(digest(&dev()), d0, "same state, same bytes");
    }
}
