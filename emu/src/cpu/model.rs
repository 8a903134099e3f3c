//! CPU models in QEMU's `-cpu` spelling: a model name, then `prop=on|off`
//! items (`rv64,zba=off,zicond=on,sv57=off`), parsed into a [`HartConfig`].
//!
//! Models: `rv64` (alias `default`) is QEMU 10's default riscv64 CPU less
//! the H extension and debug triggers, which emu does not implement;
//! `max` is every extension emu implements; `rv64i` is QEMU's bare CPU,
//! where everything beyond I is switched on by properties (the fixtures'
//! minimal CPU, also called `mincpu`). A property emu cannot honour
//! (`h=on`, `c=off`, ...) is an error naming it; dependencies are checked
//! as QEMU checks them, with QEMU's messages.

use super::ext::{IsaExtensions, MmuType};
use super::HartConfig;

/// The fixtures' minimal CPU in QEMU's spelling (fixtures/qemu-10.0.2/*.cmdline).
pub const QEMU_MINCPU: &str = "rv64i,m=on,a=on,c=on,zicsr=on,zifencei=on,zicntr=on,s=on,u=on,\
                               mmu=on,sv39=on,pmp=on,debug=off";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuModelError {
    #[error("unknown CPU model `{0}` (expected rv64, rv64i, max, default or mincpu)")]
    UnknownModel(String),
    #[error("CPU property `{0}` is unknown to emu")]
    UnknownProperty(String),
    #[error("CPU property `{property}` expects `on` or `off`, not `{value}`")]
    BadValue { property: String, value: String },
    #[error("CPU property `{property}` is not supported by emu: {why}")]
    Unsupported { property: String, why: &'static str },
    /// QEMU's wording for a broken dependency.
    #[error("{0}")]
    Requires(&'static str),
}

/// The extension flags in one table: name, getter, setter. The order is
/// the canonical spelling's.
type Flag = (
    &'static str,
    fn(&IsaExtensions) -> bool,
    fn(&mut IsaExtensions, bool),
);

macro_rules! flags {
    ($($name:ident),*) => {
        [$((
            stringify!($name),
            (|e: &IsaExtensions| e.$name) as fn(&IsaExtensions) -> bool,
            (|e: &mut IsaExtensions, v: bool| e.$name = v) as fn(&mut IsaExtensions, bool),
        )),*]
    };
}

const FLAGS: [Flag; 16] = flags!(
    zba,
    zbb,
    zbc,
    zbs,
    zicond,
    zfa,
    zicbom,
    zicbop,
    zicboz,
    zihintntl,
    zihintpause,
    zihpm,
    zawrs,
    sstc,
    svadu,
    svvptc
);

/// Properties emu always implements: `off` is refused.
const ALWAYS_ON: [(&str, &str); 11] = [
    ("i", "the base ISA"),
    ("m", "emu always implements M"),
    ("a", "emu always implements A"),
    ("c", "emu always decodes compressed instructions"),
    ("zca", "emu always decodes compressed instructions"),
    ("zicsr", "emu always implements Zicsr"),
    ("zifencei", "emu always implements Zifencei"),
    (
        "zicntr",
        "emu always implements the cycle/time/instret counters",
    ),
    ("s", "emu always implements S-mode"),
    ("u", "emu always implements U-mode"),
    ("pmp", "emu always implements 16 PMP entries"),
];

/// Properties emu never implements: `on` is refused.
const ALWAYS_OFF: [(&str, &str); 3] = [
    ("h", "emu does not implement the hypervisor extension"),
    ("debug", "emu does not implement debug triggers (Sdtrig)"),
    ("v", "emu does not implement vector instructions"),
];

/// The fixtures' minimal CPU: rv64imac, Sv39, no optional extensions.
pub fn mincpu() -> HartConfig {
    HartConfig {
        ext_f: false,
        ext_d: false,
        mmu: MmuType::Sv39,
        ext: IsaExtensions::NONE,
        ..HartConfig::default()
    }
}

/// QEMU 10's default riscv64 CPU without H and debug triggers.
pub fn qemu_default() -> HartConfig {
    HartConfig {
        ext_f: true,
        ext_d: true,
        mmu: MmuType::Sv57,
        ext: IsaExtensions::QEMU_DEFAULT,
        ..HartConfig::default()
    }
}

/// Parses QEMU's `-cpu` spelling (and emu's names `default`, `mincpu`).
pub fn parse(spec: &str) -> Result<HartConfig, CpuModelError> {
    let mut items = spec.split(',');
    let name = items.next().unwrap_or_default();
    let (mut cfg, bare) = match name {
        "rv64" | "default" => (qemu_default(), false),
        "max" => (
            HartConfig {
                ext: IsaExtensions::ALL,
                ..qemu_default()
            },
            false,
        ),
        "mincpu" | "min" => (mincpu(), false),
        // QEMU's bare CPU: I alone until properties add the rest.
        "rv64i" => (
            HartConfig {
                ext_f: false,
                ext_d: false,
                ext: IsaExtensions::NONE,
                ..qemu_default()
            },
            true,
        ),
        _ => return Err(CpuModelError::UnknownModel(name.into())),
    };
    // Explicit settings: the bare CPU needs every always-on one named.
    let mut set: Vec<(&str, bool)> = Vec::new();
    for item in items {
        let (prop, value) = item.split_once('=').unwrap_or((item, "on"));
        let on = match value {
            "on" => true,
            "off" => false,
            _ => {
                return Err(CpuModelError::BadValue {
                    property: prop.into(),
                    value: value.into(),
                })
            }
        };
        set.retain(|(p, _)| *p != prop);
        set.push((prop, on));
    }
    let explicit = |p: &str| set.iter().find(|(q, _)| *q == p).map(|&(_, v)| v);
    for &(prop, on) in &set {
        if let Some((_, _, put)) = FLAGS.iter().find(|(n, _, _)| *n == prop) {
            put(&mut cfg.ext, on);
        } else if let Some((_, why)) = ALWAYS_ON.iter().find(|(n, _)| *n == prop) {
            if !on {
                return Err(unsupported(prop, false, why));
            }
        } else if let Some((_, why)) = ALWAYS_OFF.iter().find(|(n, _)| *n == prop) {
            if on {
                return Err(unsupported(prop, true, why));
            }
        } else {
            match prop {
                "f" => cfg.ext_f = on,
                "d" => cfg.ext_d = on,
                "zcd" => {}
                "mmu" if on => {}
                "mmu" => return Err(unsupported(prop, false, "emu always has an MMU")),
                "sv39" | "sv48" | "sv57" => {}
                _ => return Err(CpuModelError::UnknownProperty(prop.into())),
            }
        }
    }
    if bare {
        for (prop, why) in ALWAYS_ON {
            if prop != "i" && prop != "zca" && explicit(prop) != Some(true) {
                return Err(CpuModelError::Unsupported {
                    property: format!("{prop} (not set on the bare rv64i)"),
                    why,
                });
            }
        }
    }
    // QEMU turns F on for D unless F was switched off explicitly.
    if cfg.ext_d && explicit("d") == Some(true) && explicit("f").is_none() {
        cfg.ext_f = true;
    }
    if cfg.ext.zfa && !cfg.ext_f {
        return Err(CpuModelError::Requires(
            "Zfa extension requires F extension",
        ));
    }
    if cfg.ext_d && !cfg.ext_f {
        return Err(CpuModelError::Requires("D extension requires F extension"));
    }
    match explicit("zcd") {
        Some(true) if !cfg.ext_d => {
            return Err(CpuModelError::Requires(
                "Zcd extension requires D extension",
            ))
        }
        Some(false) if cfg.ext_d => {
            return Err(unsupported(
                "zcd",
                false,
                "emu decodes c.fld/c.fsd whenever C and D are on",
            ))
        }
        _ => {}
    }
    cfg.mmu = satp_mode(cfg.mmu, bare, &explicit)?;
    Ok(cfg)
}

fn unsupported(prop: &str, on: bool, why: &'static str) -> CpuModelError {
    CpuModelError::Unsupported {
        property: format!("{prop}={}", if on { "on" } else { "off" }),
        why,
    }
}

/// QEMU's satp-mode properties: the largest mode switched on wins; with
/// none switched on, the default mode, lowered below any mode switched off.
fn satp_mode(
    default: MmuType,
    bare: bool,
    explicit: &dyn Fn(&str) -> Option<bool>,
) -> Result<MmuType, CpuModelError> {
    const MODES: [(&str, MmuType); 3] = [
        ("sv57", MmuType::Sv57),
        ("sv48", MmuType::Sv48),
        ("sv39", MmuType::Sv39),
    ];
    if let Some(&(_, m)) = MODES.iter().find(|(p, _)| explicit(p) == Some(true)) {
        return Ok(m);
    }
    let none = || {
        unsupported(
            "sv39",
            false,
            "emu has no CPU without paging (satp Bare only)",
        )
    };
    if bare {
        return Err(none());
    }
    // Switching a mode off also switches off every larger one.
    MODES
        .iter()
        .rev()
        .take_while(|&&(p, _)| explicit(p) != Some(false))
        .map(|&(_, m)| m)
        .filter(|&m| m <= default)
        .last()
        .ok_or_else(none)
}

/// A canonical spelling of `cfg` that [`parse`] reads back to the same
/// hart: what a recording's side file stores.
pub fn spelling(cfg: &HartConfig) -> String {
    let onoff = |b: bool| if b { "on" } else { "off" };
    let mut s = format!("rv64,f={},d={}", onoff(cfg.ext_f), onoff(cfg.ext_d));
    for (name, get, _) in FLAGS {
        s.push_str(&format!(",{name}={}", onoff(get(&cfg.ext))));
    }
    s.push_str(&format!(",{}=on", mode_name(cfg.mmu)));
    s
}

fn mode_name(m: MmuType) -> &'static str {
    match m {
        MmuType::Sv39 => "sv39",
        MmuType::Sv48 => "sv48",
        MmuType::Sv57 => "sv57",
    }
}

/// The `-cpu` argument that gives QEMU 10 the same hart: the bare CPU
/// with every property named.
pub fn qemu_spelling(cfg: &HartConfig) -> String {
    let onoff = |b: bool| if b { "on" } else { "off" };
    let mut s = String::from(
        "rv64i,m=on,a=on,c=on,zicsr=on,zifencei=on,zicntr=on,s=on,u=on,mmu=on,pmp=on,debug=off",
    );
    s.push_str(&format!(",f={},d={}", onoff(cfg.ext_f), onoff(cfg.ext_d)));
    for (name, get, _) in FLAGS {
        s.push_str(&format!(",{name}={}", onoff(get(&cfg.ext))));
    }
    s.push_str(&format!(",{}=on", mode_name(cfg.mmu)));
    s
}

/// Extension names in QEMU's canonical order for `hart`. Besides the
/// letters and the optional extensions the hart has, QEMU names the
/// extensions those imply (Zmmul from M, Zaamo/Zalrsc from A, Zca/Zcd from
/// C/D) and the profile properties every such hart has (Zic64b, Ziccamoa,
/// ..., Ssu64xl); we list exactly what QEMU lists for the same
/// configuration, so guests print the same `riscv,isa`.
pub fn extensions(hart: &HartConfig) -> Vec<&'static str> {
    let e = &hart.ext;
    let fd = hart.ext_f && hart.ext_d;
    let mut v = Vec::new();
    let mut add = |on: bool, names: &[&'static str]| {
        if on {
            v.extend_from_slice(names);
        }
    };
    add(true, &["i", "m", "a"]);
    add(hart.ext_f, &["f"]);
    add(fd, &["d"]);
    add(true, &["c", "zic64b"]);
    add(e.zicbom, &["zicbom"]);
    add(e.zicbop, &["zicbop"]);
    add(e.zicboz, &["zicboz"]);
    add(true, &["ziccamoa", "ziccif", "zicclsm", "ziccrse"]);
    add(e.zicond, &["zicond"]);
    add(true, &["zicntr", "zicsr", "zifencei"]);
    add(e.zihintntl, &["zihintntl"]);
    add(e.zihintpause, &["zihintpause"]);
    add(e.zihpm, &["zihpm"]);
    add(true, &["zmmul", "za64rs", "zaamo", "zalrsc"]);
    add(e.zawrs, &["zawrs"]);
    add(e.zfa, &["zfa"]);
    add(true, &["zca"]);
    add(fd, &["zcd"]);
    add(e.zba, &["zba"]);
    add(e.zbb, &["zbb"]);
    add(e.zbc, &["zbc"]);
    add(e.zbs, &["zbs"]);
    add(
        true,
        &[
            "shcounterenw",
            "shgatpa",
            "shtvala",
            "shvsatpa",
            "shvstvala",
            "shvstvecd",
            "ssccptr",
            "sscounterenw",
        ],
    );
    add(e.sstc, &["sstc"]);
    add(true, &["sstvala", "sstvecd", "ssu64xl"]);
    add(e.svadu, &["svadu"]);
    add(e.svvptc, &["svvptc"]);
    v
}

/// The `riscv,isa` string: single letters joined, then `_`-separated multi-letter names.
pub fn isa_string(hart: &HartConfig) -> String {
    let mut s = String::from("rv64");
    let mut multi = Vec::new();
    for e in extensions(hart) {
        if e.len() == 1 {
            s.push_str(e);
        } else {
            multi.push(e);
        }
    }
    for m in multi {
        s.push('_');
        s.push_str(m);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets() {
        assert_eq!(parse("rv64").unwrap(), qemu_default());
        assert_eq!(parse("default").unwrap(), qemu_default());
        assert_eq!(parse("mincpu").unwrap(), mincpu());
        assert_eq!(parse(QEMU_MINCPU).unwrap(), mincpu());
        let max = parse("max").unwrap();
        assert!(max.ext.zicond && max.ext.zba && max.mmu == MmuType::Sv57);
        assert_eq!(qemu_default().mmu, MmuType::Sv57);
    }

    #[test]
    fn properties_toggle_extensions() {
        let c = parse("rv64,zba=off,zicond=on,sv57=off,h=off").unwrap();
        assert!(!c.ext.zba && c.ext.zicond && c.ext.zbb);
        assert_eq!(c.mmu, MmuType::Sv48);
        assert_eq!(parse("rv64,sv39=on").unwrap().mmu, MmuType::Sv39);
        assert_eq!(parse("rv64,sv57=off,sv48=off").unwrap().mmu, MmuType::Sv39);
        assert_eq!(parse("rv64,sv39=on,sv57=on").unwrap().mmu, MmuType::Sv57);
        assert!(
            !parse("rv64,zba=on,zba=off").unwrap().ext.zba,
            "the last setting wins"
        );
        let c = parse("rv64,f=off,d=off,zfa=off").unwrap();
        assert!(!c.ext_f && !c.ext_d);
        let c = parse(
            "rv64i,m=on,a=on,c=on,zicsr=on,zifencei=on,zicntr=on,s=on,u=on,pmp=on,d=on,sv48=on",
        )
        .unwrap();
        assert!(c.ext_f && c.ext_d, "d=on brings F along on the bare CPU");
    }

    #[test]
    fn errors_name_the_property() {
        let e = |s: &str| parse(s).unwrap_err().to_string();
        assert_eq!(
            e("rv64,h=on"),
            "CPU property `h=on` is not supported by emu: emu does not implement the hypervisor extension"
        );
        assert!(e("rv64,c=off").contains("`c=off`"));
        assert!(e("rv64,foo=on").contains("`foo`"));
        assert!(e("rv64,zba=maybe").contains("`zba` expects `on` or `off`"));
        assert!(e("pentium").contains("`pentium`"));
        assert_eq!(e("rv64,f=off"), "Zfa extension requires F extension");
        assert_eq!(e("rv64,f=off,zfa=off"), "D extension requires F extension");
        assert_eq!(e("rv64,d=off,zcd=on"), "Zcd extension requires D extension");
        assert!(e("rv64,zcd=off").contains("`zcd=off`"));
        assert!(e("rv64,sv39=off").contains("`sv39=off`"));
        assert_eq!(parse("rv64,sv48=off").unwrap().mmu, MmuType::Sv39);
        assert!(e("rv64i,m=on").contains("not set on the bare rv64i"));
    }

    #[test]
    fn spelling_round_trips() {
        for s in [
            "rv64",
            "max",
            "mincpu",
            "rv64,zba=off,zicond=on,sv57=off",
            "rv64,f=off,d=off,zfa=off,sv39=on",
        ] {
            let c = parse(s).unwrap();
            assert_eq!(parse(&spelling(&c)).unwrap(), c, "{s}");
            assert_eq!(parse(&qemu_spelling(&c)).unwrap(), c, "{s}");
        }
    }
}
