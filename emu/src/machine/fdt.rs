//! The device tree, generated at start from the configured board, with the
//! nodes, properties and phandles QEMU 10.0.2's virt board produces (see
//! shared/fixtures/dtb/*.dts). Written with rust-vmm's `vm-fdt`.
//!
//! Node order follows QEMU's blob (libfdt inserts new subnodes first, so
//! QEMU's later-created nodes come first, e.g. virtio_mmio@10008000 before
//! @10001000); guests enumerate in blob order, so it matters.

use super::memmap;
use crate::cpu::csr::hpm;
use crate::cpu::ext::CBO_BLOCK_SIZE;
use crate::cpu::{model, HartConfig};

#[derive(Debug, thiserror::Error)]
#[error("device tree: {0}")]
pub struct FdtError(#[from] vm_fdt::Error);

const PHANDLE_CPU: u32 = 1;
const PHANDLE_INTC: u32 = 2;
const PHANDLE_PLIC: u32 = 3;
const PHANDLE_TEST: u32 = 4;
/// mip bit numbers used in interrupts-extended.
const IRQ_M_SOFT: u32 = 3;
const IRQ_M_TIMER: u32 = 7;
const IRQ_S_EXT: u32 = 9;
const IRQ_M_EXT: u32 = 11;
const UART_CLOCK_HZ: u32 = 3_686_400;

/// Everything the DT depends on.
#[derive(Debug, Clone)]
pub struct DtConfig {
    pub ram_size: u64,
    pub cpu: HartConfig,
    pub bootargs: Option<String>,
    /// [start, end) of the initrd in guest memory.
    pub initrd: Option<(u64, u64)>,
    pub rng_seed: [u8; 32],
}

/// Builds the flattened device tree blob.
pub fn build(cfg: &DtConfig) -> Result<Vec<u8>, FdtError> {
    let mut f = vm_fdt::FdtWriter::new()?;
    let root = f.begin_node("")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 2)?;
    f.property_string("compatible", "riscv-virtio")?;
    f.property_string("model", "riscv-virtio,qemu")?;

    for (name, value) in [("poweroff", 0x5555u32), ("reboot", 0x7777)] {
        let n = f.begin_node(name)?;
        f.property_u32("value", value)?;
        f.property_u32("offset", 0)?;
        f.property_u32("regmap", PHANDLE_TEST)?;
        f.property_string(
            "compatible",
            if name == "poweroff" {
                "syscon-poweroff"
            } else {
                "syscon-reboot"
            },
        )?;
        f.end_node(n)?;
    }

    let n = f.begin_node("platform-bus@4000000")?;
    f.property_u32("interrupt-parent", PHANDLE_PLIC)?;
    f.property_array_u32(
        "ranges",
        &[
            0,
            0,
            memmap::PLATFORM_BUS_BASE as u32,
            memmap::PLATFORM_BUS_SIZE as u32,
        ],
    )?;
    f.property_u32("#address-cells", 1)?;
    f.property_u32("#size-cells", 1)?;
    f.property_string_list(
        "compatible",
        vec!["qemu,platform".into(), "simple-bus".into()],
    )?;
    f.end_node(n)?;

    let n = f.begin_node(&format!("memory@{:x}", memmap::DRAM_BASE))?;
    f.property_string("device_type", "memory")?;
    f.property_array_u64("reg", &[memmap::DRAM_BASE, cfg.ram_size])?;
    f.end_node(n)?;

    cpus(&mut f, &cfg.cpu)?;

    let n = f.begin_node("pmu")?;
    // QEMU's table: the fixed counter of cycles and instructions plus
    // every hpm counter the hart has, for each event QEMU can map.
    let hpm = if cfg.cpu.ext.zihpm { hpm::AVAILABLE } else { 0 };
    f.property_array_u32(
        "riscv,event-to-mhpmcounters",
        &[
            0x01,
            0x01,
            0x01 | hpm,
            0x02,
            0x02,
            0x04 | hpm,
            0x10019,
            0x10019,
            hpm,
            0x1001b,
            0x1001b,
            hpm,
            0x10021,
            0x10021,
            hpm,
        ],
    )?;
    f.property_string("compatible", "riscv,pmu")?;
    f.end_node(n)?;

    let n = f.begin_node(&format!("fw-cfg@{:x}", memmap::FW_CFG_BASE))?;
    f.property_null("dma-coherent")?;
    f.property_array_u64("reg", &[memmap::FW_CFG_BASE, memmap::FW_CFG_SIZE])?;
    f.property_string("compatible", "qemu,fw-cfg-mmio")?;
    f.end_node(n)?;

    let n = f.begin_node(&format!("flash@{:x}", memmap::FLASH_BASE))?;
    f.property_u32("bank-width", 4)?;
    f.property_array_u64(
        "reg",
        &[
            memmap::FLASH_BASE,
            memmap::FLASH_BANK_SIZE,
            memmap::FLASH_BASE + memmap::FLASH_BANK_SIZE,
            memmap::FLASH_BANK_SIZE,
        ],
    )?;
    f.property_string("compatible", "cfi-flash")?;
    f.end_node(n)?;

    let uart_path = format!("/soc/serial@{:x}", memmap::UART_BASE);
    let n = f.begin_node("aliases")?;
    f.property_string("serial0", &uart_path)?;
    f.end_node(n)?;

    let n = f.begin_node("chosen")?;
    if let Some(args) = &cfg.bootargs {
        f.property_string("bootargs", args)?;
    }
    if let Some((start, end)) = cfg.initrd {
        f.property_u64("linux,initrd-end", end)?;
        f.property_u64("linux,initrd-start", start)?;
    }
    f.property_string("stdout-path", &uart_path)?;
    f.property("rng-seed", &cfg.rng_seed)?;
    f.end_node(n)?;

    soc(&mut f)?;

    f.end_node(root)?;
    Ok(f.finish()?)
}

fn cpus(f: &mut vm_fdt::FdtWriter, cpu: &HartConfig) -> Result<(), FdtError> {
    let n = f.begin_node("cpus")?;
    f.property_u32("#address-cells", 1)?;
    f.property_u32("#size-cells", 0)?;
    f.property_u32("timebase-frequency", memmap::TIMEBASE_HZ)?;
    let c = f.begin_node("cpu@0")?;
    f.property_u32("phandle", PHANDLE_CPU)?;
    f.property_string("device_type", "cpu")?;
    f.property_u32("reg", 0)?;
    f.property_string("status", "okay")?;
    f.property_string("compatible", "riscv")?;
    for (on, name) in [
        (cpu.ext.zicbop, "riscv,cbop-block-size"),
        (cpu.ext.zicboz, "riscv,cboz-block-size"),
        (cpu.ext.zicbom, "riscv,cbom-block-size"),
    ] {
        if on {
            f.property_u32(name, CBO_BLOCK_SIZE)?;
        }
    }
    f.property_string_list(
        "riscv,isa-extensions",
        model::extensions(cpu)
            .into_iter()
            .map(String::from)
            .collect(),
    )?;
    f.property_string("riscv,isa-base", "rv64i")?;
    f.property_string("riscv,isa", &model::isa_string(cpu))?;
    f.property_string("mmu-type", cpu.mmu.dt_name())?;
    let ic = f.begin_node("interrupt-controller")?;
    f.property_u32("#interrupt-cells", 1)?;
    f.property_null("interrupt-controller")?;
    f.property_string("compatible", "riscv,cpu-intc")?;
    f.property_u32("phandle", PHANDLE_INTC)?;
    f.end_node(ic)?;
    f.end_node(c)?;
    let map = f.begin_node("cpu-map")?;
    let cl = f.begin_node("cluster0")?;
    let core = f.begin_node("core0")?;
    f.property_u32("cpu", PHANDLE_CPU)?;
    f.end_node(core)?;
    f.end_node(cl)?;
    f.end_node(map)?;
    f.end_node(n)?;
    Ok(())
}

fn soc(f: &mut vm_fdt::FdtWriter) -> Result<(), FdtError> {
    let soc = f.begin_node("soc")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 2)?;
    f.property_string("compatible", "simple-bus")?;
    f.property_null("ranges")?;

    let n = f.begin_node(&format!("rtc@{:x}", memmap::RTC_BASE))?;
    f.property_u32("interrupts", memmap::RTC_IRQ)?;
    f.property_u32("interrupt-parent", PHANDLE_PLIC)?;
    f.property_array_u64("reg", &[memmap::RTC_BASE, 0x1000])?;
    f.property_string("compatible", "google,goldfish-rtc")?;
    f.end_node(n)?;

    let n = f.begin_node(&format!("serial@{:x}", memmap::UART_BASE))?;
    f.property_u32("interrupts", memmap::UART_IRQ)?;
    f.property_u32("interrupt-parent", PHANDLE_PLIC)?;
    f.property_u32("clock-frequency", UART_CLOCK_HZ)?;
    f.property_array_u64("reg", &[memmap::UART_BASE, memmap::UART_SIZE])?;
    f.property_string("compatible", "ns16550a")?;
    f.end_node(n)?;

    let n = f.begin_node(&format!("test@{:x}", memmap::TEST_BASE))?;
    f.property_u32("phandle", PHANDLE_TEST)?;
    f.property_array_u64("reg", &[memmap::TEST_BASE, 0x1000])?;
    f.property_string_list(
        "compatible",
        vec![
            "sifive,test1".into(),
            "sifive,test0".into(),
            "syscon".into(),
        ],
    )?;
    f.end_node(n)?;

    for slot in (0..memmap::VIRTIO_COUNT).rev() {
        let base = memmap::virtio_base(slot);
        let n = f.begin_node(&format!("virtio_mmio@{base:x}"))?;
        f.property_u32("interrupts", memmap::virtio_irq(slot))?;
        f.property_u32("interrupt-parent", PHANDLE_PLIC)?;
        f.property_array_u64("reg", &[base, memmap::VIRTIO_SIZE])?;
        f.property_string("compatible", "virtio,mmio")?;
        f.end_node(n)?;
    }

    let n = f.begin_node(&format!("plic@{:x}", memmap::PLIC_BASE))?;
    f.property_u32("phandle", PHANDLE_PLIC)?;
    f.property_u32("riscv,ndev", crate::devices::irq::MAX_SOURCES - 1)?;
    f.property_array_u64("reg", &[memmap::PLIC_BASE, memmap::PLIC_SIZE])?;
    f.property_array_u32(
        "interrupts-extended",
        &[PHANDLE_INTC, IRQ_M_EXT, PHANDLE_INTC, IRQ_S_EXT],
    )?;
    f.property_null("interrupt-controller")?;
    f.property_string_list(
        "compatible",
        vec!["sifive,plic-1.0.0".into(), "riscv,plic0".into()],
    )?;
    f.property_u32("#address-cells", 0)?;
    f.property_u32("#interrupt-cells", 1)?;
    f.end_node(n)?;

    let n = f.begin_node(&format!("clint@{:x}", memmap::CLINT_BASE))?;
    f.property_array_u32(
        "interrupts-extended",
        &[PHANDLE_INTC, IRQ_M_SOFT, PHANDLE_INTC, IRQ_M_TIMER],
    )?;
    f.property_array_u64("reg", &[memmap::CLINT_BASE, memmap::CLINT_SIZE])?;
    f.property_string_list(
        "compatible",
        vec!["sifive,clint0".into(), "riscv,clint0".into()],
    )?;
    f.end_node(n)?;

    pci(f)?;
    f.end_node(soc)?;
    Ok(())
}

/// The generic PCIe host: same windows and INTx swizzle as QEMU's gpex.
fn pci(f: &mut vm_fdt::FdtWriter) -> Result<(), FdtError> {
    let n = f.begin_node(&format!("pci@{:x}", memmap::PCIE_ECAM_BASE))?;
    f.property_array_u32("interrupt-map-mask", &[0x1800, 0, 0, 7])?;
    let mut map = Vec::new();
    for slot in 0..4u32 {
        for pin in 0..4u32 {
            // INTx of device `slot` pin `pin` -> PLIC 32 + (slot + pin) % 4.
            map.extend_from_slice(&[
                slot << 11,
                0,
                0,
                pin + 1,
                PHANDLE_PLIC,
                memmap::PCIE_IRQ + (slot + pin) % 4,
            ]);
        }
    }
    f.property_array_u32("interrupt-map", &map)?;
    f.property_array_u32(
        "ranges",
        &[
            0x0100_0000,
            0,
            0,
            0,
            memmap::PCIE_PIO_BASE as u32,
            0,
            memmap::PCIE_PIO_SIZE as u32, //
            0x0200_0000,
            0,
            memmap::PCIE_MMIO_BASE as u32,
            0,
            memmap::PCIE_MMIO_BASE as u32,
            0,
            memmap::PCIE_MMIO_SIZE as u32, //
            0x0300_0000,
            0x4,
            0,
            0x4,
            0,
            0x4,
            0,
        ],
    )?;
    f.property_array_u64("reg", &[memmap::PCIE_ECAM_BASE, memmap::PCIE_ECAM_SIZE])?;
    f.property_null("dma-coherent")?;
    f.property_array_u32("bus-range", &[0, 0xff])?;
    f.property_u32("linux,pci-domain", 0)?;
    f.property_string("device_type", "pci")?;
    f.property_string("compatible", "pci-host-ecam-generic")?;
    f.property_u32("#size-cells", 2)?;
    f.property_u32("#interrupt-cells", 1)?;
    f.property_u32("#address-cells", 3)?;
    f.end_node(n)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mincpu_isa_string_is_qemus() {
        assert_eq!(
            model::isa_string(&model::mincpu()),
            "rv64imac_zic64b_ziccamoa_ziccif_zicclsm_ziccrse_zicntr_zicsr_zifencei_zmmul_za64rs_zaamo_zalrsc_zca_shcounterenw_shgatpa_shtvala_shvsatpa_shvstvala_shvstvecd_ssccptr_sscounterenw_sstvala_sstvecd_ssu64xl"
        );
    }

    #[test]
    fn blob_has_header_magic() {
        let cfg = DtConfig {
            ram_size: 128 << 20,
            cpu: HartConfig::default(),
            bootargs: Some("console=ttyS0".into()),
            initrd: Some((0x8400_0000, 0x8410_0000)),
            rng_seed: [7; 32],
        };
        let b = build(&cfg).unwrap();
        assert_eq!(&b[0..4], &[0xd0, 0x0d, 0xfe, 0xed]);
    }
}
