//! Loading guest images the way QEMU's virt board does: firmware at the
//! start of DRAM, the kernel at the next 2 MiB boundary after it, the
//! initrd halfway into RAM (at most 128 MiB) past the kernel, the FDT at the
//! top of RAM aligned down to 2 MiB. ELF images load by their program
//! headers' physical addresses; an ELF `tohost` symbol enables HTIF.

use std::path::{Path, PathBuf};

use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{Endianness, Object, ObjectSymbol};

use super::memmap::DRAM_BASE;

const MIB: u64 = 1 << 20;
const EM_RISCV: u16 = 243;

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a usable RISC-V ELF: {reason}")]
    Elf { path: PathBuf, reason: String },
    #[error(
        "{path}: {len} bytes at {addr:#x} do not fit in guest RAM ({ram_base:#x}..{ram_end:#x})"
    )]
    DoesNotFit {
        path: PathBuf,
        addr: u64,
        len: u64,
        ram_base: u64,
        ram_end: u64,
    },
    #[error("{path} is empty")]
    Empty { path: PathBuf },
}

/// One chunk of guest memory to (re)write at every reset.
#[derive(Debug, Clone)]
pub struct Blob {
    pub addr: u64,
    pub bytes: Vec<u8>,
    /// What it came from, for error messages.
    pub source: PathBuf,
}

/// A loaded image.
#[derive(Debug, Clone)]
pub struct Image {
    pub blobs: Vec<Blob>,
    pub entry: u64,
    /// First byte after the image.
    pub end: u64,
    /// HTIF `tohost` symbol address, if the ELF has one.
    pub tohost: Option<u64>,
}

pub fn read_file(path: &Path) -> Result<Vec<u8>, BootError> {
    let b = std::fs::read(path).map_err(|source| BootError::Read {
        path: path.into(),
        source,
    })?;
    if b.is_empty() {
        return Err(BootError::Empty { path: path.into() });
    }
    Ok(b)
}

pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// Loads `bytes` (from `path`): ELF by its headers, anything else raw at `raw_addr`.
pub fn load_image(path: &Path, bytes: Vec<u8>, raw_addr: u64) -> Result<Image, BootError> {
    if is_elf(&bytes) {
        return load_elf(path, &bytes, raw_addr);
    }
    let end = raw_addr + bytes.len() as u64;
    Ok(Image {
        blobs: vec![Blob {
            addr: raw_addr,
            bytes,
            source: path.into(),
        }],
        entry: raw_addr,
        end,
        tohost: None,
    })
}

/// Position-independent ELFs (ET_DYN, e.g. OpenSBI's fw_dynamic.elf, linked
/// at 0) are placed with their lowest segment at `pie_base`; they relocate
/// themselves at run time.
fn load_elf(path: &Path, data: &[u8], pie_base: u64) -> Result<Image, BootError> {
    let bad = |reason: String| BootError::Elf {
        path: path.into(),
        reason,
    };
    let elf = ElfFile64::<Endianness>::parse(data).map_err(|e| bad(e.to_string()))?;
    let endian = elf.endian();
    let machine = elf.elf_header().e_machine(endian);
    if machine != EM_RISCV {
        return Err(bad(format!(
            "e_machine is {machine}, not RISC-V ({EM_RISCV})"
        )));
    }
    let loads = || {
        elf.elf_program_headers()
            .iter()
            .filter(|ph| ph.p_type(endian) == object::elf::PT_LOAD && ph.p_memsz(endian) != 0)
    };
    let bias = if elf.elf_header().e_type(endian) == object::elf::ET_DYN {
        pie_base.wrapping_sub(loads().map(|ph| ph.p_paddr(endian)).min().unwrap_or(0))
    } else {
        0
    };
    let mut blobs = Vec::new();
    let mut end = 0;
    for ph in elf.elf_program_headers() {
        if ph.p_type(endian) != object::elf::PT_LOAD || ph.p_memsz(endian) == 0 {
            continue;
        }
        let paddr = ph.p_paddr(endian).wrapping_add(bias);
        let memsz = ph.p_memsz(endian);
        let file_bytes = ph
            .data(endian, data)
            .map_err(|_| bad(format!("segment at {paddr:#x} lies outside the file")))?;
        let mut bytes = file_bytes.to_vec();
        // .bss: the part of memsz beyond filesz is zero.
        bytes.resize(memsz as usize, 0);
        end = end.max(paddr + memsz);
        blobs.push(Blob {
            addr: paddr,
            bytes,
            source: path.into(),
        });
    }
    if blobs.is_empty() {
        return Err(bad("no loadable segments".into()));
    }
    let tohost = elf
        .symbols()
        .find(|s| s.name() == Ok("tohost"))
        .map(|s| s.address().wrapping_add(bias));
    Ok(Image {
        blobs,
        entry: elf.entry().wrapping_add(bias),
        end,
        tohost,
    })
}

/// Where QEMU puts a kernel after firmware ending at `firmware_end` (RV64: next 2 MiB).
pub fn kernel_start(firmware_end: Option<u64>) -> u64 {
    match firmware_end {
        Some(end) => end.div_ceil(2 * MIB) * (2 * MIB),
        None => DRAM_BASE,
    }
}

/// Where QEMU puts the initrd: halfway into RAM, at most 128 MiB past the kernel.
pub fn initrd_start(kernel_entry: u64, ram_size: u64) -> u64 {
    kernel_entry + (ram_size / 2).min(128 * MIB)
}

/// Where QEMU puts the FDT: the top of RAM below 3 GiB, aligned down to 2 MiB.
pub fn fdt_addr(ram_size: u64, fdt_size: u64) -> u64 {
    let dram_end = DRAM_BASE + ram_size;
    let top = if DRAM_BASE < 3072 * MIB {
        dram_end.min(3072 * MIB)
    } else {
        dram_end
    };
    (top - fdt_size) & !(2 * MIB - 1)
}

/// Checks that every blob fits in RAM.
pub fn check_fits(blobs: &[Blob], ram_size: u64) -> Result<(), BootError> {
    let ram_end = DRAM_BASE + ram_size;
    for b in blobs {
        let len = b.bytes.len() as u64;
        if b.addr < DRAM_BASE || b.addr.checked_add(len).is_none_or(|e| e > ram_end) {
            return Err(BootError::DoesNotFit {
                path: b.source.clone(),
                addr: b.addr,
                len,
                ram_base: DRAM_BASE,
                ram_end,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_placement_rules() {
        // OpenSBI fw_dynamic.bin is 272488 bytes: the kernel goes to 0x80200000.
        assert_eq!(kernel_start(Some(DRAM_BASE + 272_488)), 0x8020_0000);
        assert_eq!(kernel_start(None), DRAM_BASE);
        // 128 MiB: OpenSBI printed "Next Arg1 : 0x0000000087e00000".
        assert_eq!(fdt_addr(128 * MIB, 0x1800), 0x87e0_0000);
        assert_eq!(initrd_start(0x8020_0000, 128 * MIB), 0x8420_0000);
    }

    #[test]
    fn raw_and_bad_elf() {
        let img = load_image(Path::new("x.bin"), vec![1, 2, 3], DRAM_BASE).unwrap();
        assert_eq!((img.entry, img.end), (DRAM_BASE, DRAM_BASE + 3));
        let mut fake = b"\x7fELF".to_vec();
        fake.resize(64, 0);
        assert!(matches!(
            load_image(Path::new("bad.elf"), fake, 0),
            Err(BootError::Elf { .. })
        ));
        let blob = Blob {
            addr: DRAM_BASE + 127 * MIB,
            bytes: vec![0; 2 << 20],
            source: "big".into(),
        };
        assert!(matches!(
            check_fits(&[blob], 128 * MIB),
            Err(BootError::DoesNotFit { .. })
        ));
    }

    #[test]
    fn loads_opensbi_elf_from_fixtures() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/guest/opensbi-1.5.1-fw_dynamic.elf");
        let bytes = std::fs::read(&p).expect("fixtures/guest holds the OpenSBI ELF");
        // A PIE linked at 0: placed at the raw load address.
        let img = load_image(&p, bytes, DRAM_BASE).unwrap();
        assert_eq!(img.entry, DRAM_BASE);
        assert_eq!(img.blobs[0].addr, DRAM_BASE);
        assert!(img.tohost.is_none());
    }
}
