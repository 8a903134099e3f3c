//! Our generated device tree against the ones QEMU 10.0.2 dumped
//! (fixtures/dtb, copied from shared/fixtures/dtb): decompiled with `dtc`,
//! compared node by node and property by property. rng-seed differs per
//! run by design and is compared by length only.

mod boot_support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use boot_support::*;
use emu::machine::fdt::{build, CpuInfo, DtConfig};

/// node path -> (property -> value text)
type Tree = BTreeMap<String, BTreeMap<String, String>>;

fn decompile(blob: &[u8]) -> String {
    let mut child = Command::new("dtc")
        .args(["-I", "dtb", "-O", "dts", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("dtc (device-tree-compiler) is installed");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(blob).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Parses dtc's output into a tree keyed by path (order-insensitive).
fn parse(dts: &str) -> Tree {
    let mut tree = Tree::new();
    let mut path: Vec<String> = Vec::new();
    for line in dts.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("/dts-v1/") {
            continue;
        }
        if let Some(name) = line.strip_suffix(" {") {
            path.push(if name == "/" {
                String::new()
            } else {
                name.to_string()
            });
            tree.entry(path.join("/")).or_default();
        } else if line == "};" {
            path.pop();
        } else if let Some(prop) = line.strip_suffix(';') {
            let (k, v) = prop.split_once(" = ").unwrap_or((prop, ""));
            tree.entry(path.join("/"))
                .or_default()
                .insert(k.to_string(), v.to_string());
        }
    }
    tree
}

fn compare(ours: &Tree, qemu: &Tree) {
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        qemu.keys().collect::<Vec<_>>(),
        "node sets differ"
    );
    for (node, props) in qemu {
        let mine = &ours[node];
        assert_eq!(
            mine.keys().collect::<Vec<_>>(),
            props.keys().collect::<Vec<_>>(),
            "properties of {node}"
        );
        for (k, v) in props {
            if k == "rng-seed" {
                assert_eq!(
                    mine[k].split(' ').count(),
                    v.split(' ').count(),
                    "rng-seed length"
                );
            } else {
                assert_eq!(&mine[k], v, "{node} {k}");
            }
        }
    }
}

fn qemu_tree(name: &str) -> Tree {
    parse(&std::fs::read_to_string(fixture(&format!("dtb/{name}"))).expect("dts fixture"))
}

fn ours(cpu: CpuInfo, bootargs: Option<&str>) -> Tree {
    let cfg = DtConfig {
        ram_size: 128 << 20,
        cpu,
        bootargs: bootargs.map(String::from),
        initrd: None,
        rng_seed: [0x5a; 32],
    };
    parse(&decompile(&build(&cfg).unwrap()))
}

const MINCPU: CpuInfo = CpuInfo {
    ext_f: false,
    ext_d: false,
    sv48: false,
};

#[test]
fn mincpu_tree_matches_qemu() {
    compare(&ours(MINCPU, None), &qemu_tree("virt-10.0.2-mincpu.dts"));
}

#[test]
fn mincpu_with_append_matches_qemu() {
    compare(
        &ours(MINCPU, Some("console=ttyS0 earlycon=sbi ask")),
        &qemu_tree("virt-10.0.2-mincpu-linux-append.dts"),
    );
}

/// QEMU's default CPU has extensions our hart does not implement (H, Zb*,
/// Zicbo*, Sstc, ...); outside the cpu@0 ISA properties and the pmu table
/// the trees must be the same.
#[test]
fn defaultcpu_tree_matches_qemu_outside_the_isa() {
    let drop_isa = |mut t: Tree| {
        for k in [
            "riscv,isa",
            "riscv,isa-extensions",
            "mmu-type",
            "riscv,cbop-block-size",
            "riscv,cboz-block-size",
            "riscv,cbom-block-size",
        ] {
            t.get_mut("/cpus/cpu@0").unwrap().remove(k);
        }
        t.get_mut("/pmu")
            .unwrap()
            .remove("riscv,event-to-mhpmcounters");
        t
    };
    let mine = ours(
        CpuInfo {
            ext_f: true,
            ext_d: true,
            sv48: true,
        },
        None,
    );
    assert_eq!(mine["/cpus/cpu@0"]["mmu-type"], "\"riscv,sv48\"");
    assert!(mine["/cpus/cpu@0"]["riscv,isa"].starts_with("\"rv64imafdc_"));
    compare(
        &drop_isa(mine),
        &drop_isa(qemu_tree("virt-10.0.2-defaultcpu.dts")),
    );
}

#[test]
fn initrd_properties_are_64_bit() {
    let cfg = DtConfig {
        ram_size: 128 << 20,
        cpu: MINCPU,
        bootargs: None,
        initrd: Some((0x8420_0000, 0x8430_0000)),
        rng_seed: [0; 32],
    };
    let t = parse(&decompile(&build(&cfg).unwrap()));
    assert_eq!(t["/chosen"]["linux,initrd-start"], "<0x00 0x84200000>");
    assert_eq!(t["/chosen"]["linux,initrd-end"], "<0x00 0x84300000>");
}
