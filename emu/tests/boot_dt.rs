//! Our generated device tree against the ones QEMU 10.0.2 dumped
//! (fixtures/dtb, copied from shared/fixtures/dtb): decompiled with `dtc`,
//! compared node by node and property by property. rng-seed differs per
//! run by design and is compared by length only.

mod boot_support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use boot_support::*;
use emu::cpu::{model, HartConfig};
use emu::machine::fdt::{build, DtConfig};

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

fn ours(cpu: HartConfig, bootargs: Option<&str>) -> Tree {
    let cfg = DtConfig {
        ram_size: 128 << 20,
        cpu,
        bootargs: bootargs.map(String::from),
        initrd: None,
        rng_seed: [0x5a; 32],
    };
    parse(&decompile(&build(&cfg).unwrap()))
}

fn mincpu() -> HartConfig {
    model::mincpu()
}

#[test]
fn mincpu_tree_matches_qemu() {
    compare(&ours(mincpu(), None), &qemu_tree("virt-10.0.2-mincpu.dts"));
}

#[test]
fn mincpu_with_append_matches_qemu() {
    compare(
        &ours(mincpu(), Some("console=ttyS0 earlycon=sbi ask")),
        &qemu_tree("virt-10.0.2-mincpu-linux-append.dts"),
    );
}

/// QEMU's default CPU (the committed dump) has H, which emu does not
/// implement: apart from "h" in the ISA properties the trees are the same.
#[test]
fn defaultcpu_tree_matches_qemu_but_for_h() {
    let mut qemu = qemu_tree("virt-10.0.2-defaultcpu.dts");
    let cpu = qemu.get_mut("/cpus/cpu@0").unwrap();
    let isa = cpu.get_mut("riscv,isa").unwrap();
    assert!(isa.starts_with("\"rv64imafdch_"), "{isa}");
    *isa = isa.replacen("rv64imafdch_", "rv64imafdc_", 1);
    let ext = cpu.get_mut("riscv,isa-extensions").unwrap();
    assert!(ext.contains("\\0c\\0h\\0"), "{ext}");
    *ext = ext.replacen("\\0c\\0h\\0", "\\0c\\0", 1);
    compare(&ours(model::qemu_default(), None), &qemu);
}

/// `qemu-system-riscv64 -M virt,dumpdtb=FILE -cpu CPU` decompiled, or None
/// if QEMU is not installed and RR_REQUIRE_TOOLS is unset.
fn qemu_dump(cpu: &str) -> Option<Tree> {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("boot-dt");
    std::fs::create_dir_all(&dir).unwrap();
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dtb = dir.join(format!("{}-{n}.dtb", std::process::id()));
    let spawned = Command::new("qemu-system-riscv64")
        .arg("-M")
        .arg(format!("virt,dumpdtb={}", dtb.display()))
        .args(["-m", "128M", "-nographic", "-cpu", cpu])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = spawned_tool("qemu-system-riscv64", spawned)?;
    let status = wait_or_kill(
        &mut child,
        std::time::Duration::from_secs(30),
        "QEMU dumpdtb",
    );
    let mut err = String::new();
    use std::io::Read;
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    assert!(status.success(), "QEMU -cpu {cpu}: {err}");
    let blob = std::fs::read(&dtb).unwrap();
    let _ = std::fs::remove_file(&dtb);
    Some(parse(&decompile(&blob)))
}

/// emu's `--cpu` models against QEMU's device tree for the same `-cpu`
/// (plus h=off, which emu's models imply): every extension list, mmu-type,
/// cache-block size and pmu table must be QEMU's. The QEMU side also runs
/// with `cpu::model::qemu_spelling`, the bare CPU with every property named.
#[test]
fn cpu_variants_match_qemu_dumpdtb() {
    for spec in [
        "rv64",
        "max",
        "rv64,zba=off,zicond=on,sv57=off",
        "rv64,zihpm=off,sstc=off,svadu=off,svvptc=off",
        "rv64,zicbom=off,zicbop=off",
        "rv64,zicboz=off,zfa=off,zawrs=off,zihintntl=off,zihintpause=off",
        "rv64,zbb=off,zbc=off,zbs=off,sv48=off",
        "rv64,d=off",
        "rv64,f=off,d=off,zfa=off",
        "mincpu",
    ] {
        let hart = model::parse(spec).unwrap();
        let mine = ours(hart, None);
        let qemu_cpu = match spec {
            "mincpu" => model::QEMU_MINCPU.to_string(),
            "max" => model::qemu_spelling(&hart),
            _ => format!("{spec},h=off"),
        };
        let Some(qemu) = qemu_dump(&qemu_cpu) else {
            return;
        };
        let cpu0 = |t: &Tree| t["/cpus/cpu@0"].clone();
        assert_eq!(cpu0(&mine), cpu0(&qemu), "--cpu {spec} vs -cpu {qemu_cpu}");
        assert_eq!(mine["/pmu"], qemu["/pmu"], "--cpu {spec}: pmu");
        let Some(bare) = qemu_dump(&model::qemu_spelling(&hart)) else {
            return;
        };
        assert_eq!(
            cpu0(&mine),
            cpu0(&bare),
            "--cpu {spec} vs its bare spelling"
        );
    }
}

#[test]
fn initrd_properties_are_64_bit() {
    let cfg = DtConfig {
        ram_size: 128 << 20,
        cpu: mincpu(),
        bootargs: None,
        initrd: Some((0x8420_0000, 0x8430_0000)),
        rng_seed: [0; 32],
    };
    let t = parse(&decompile(&build(&cfg).unwrap()));
    assert_eq!(t["/chosen"]["linux,initrd-start"], "<0x00 0x84200000>");
    assert_eq!(t["/chosen"]["linux,initrd-end"], "<0x00 0x84300000>");
}
