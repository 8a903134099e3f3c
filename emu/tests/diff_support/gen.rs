//! Random but valid instruction streams: every RV64GC instruction and
//! those of Zba, Zbb, Zbc, Zbs, Zicond, Zfa, Zicbom, Zicboz, Zihintntl,
//! Zihintpause and Zawrs, with operands biased to the corners (x0, rd =
//! rs, shift amounts 0/31/32/63, all rounding modes including dynamic and
//! the reserved ones, W-forms with bit 5 of the shift set, ...).
//!
//! A body is a list of *groups*; a group is one instruction under test,
//! with the address set-up it needs in front of it (`auipc`+`addi` to
//! the data area for loads, stores, AMOs and `cbo.*`). Forward branches
//! and jumps only land on group starts, so a skipped set-up can never
//! make a store hit the program itself. Instructions that trap (illegal
//! ones, misaligned AMOs, `ecall`, ...) are fine: the program's handler
//! records the trap and steps over them.

use super::asm::*;
use super::rng::Rng;

/// Size of the data area that loads, stores and AMOs use (bytes).
pub const DATA_BYTES: i64 = 256;

/// How one body instruction is completed when the body is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFix {
    None,
    /// B-type branch to the instruction with this index (clamped to the end).
    Branch(usize),
    Jal(usize),
    CJ(usize),
    CB(usize),
    /// `auipc`/`addi` pair: data area + offset.
    DataHi(i64),
    DataLo(i64),
    /// `auipc`/`jalr` (or `addi`) pair: address of instruction `n`.
    CodeHi(usize),
    CodeLo(usize),
}

/// One instruction of a body.
#[derive(Debug, Clone)]
pub struct Inst {
    pub bits: u32,
    pub len: u8,
    /// Assembly text (targets as `->N`, N = instruction index in the body).
    pub text: String,
    pub fix: BodyFix,
}

const X: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];
const F: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];
const RM: [&str; 8] = ["rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn"];

pub fn xname(r: u32) -> &'static str {
    X[r as usize & 31]
}
pub fn fname(r: u32) -> &'static str {
    F[r as usize & 31]
}

/// Register-register integer operations: (opcode, funct3, funct7, name).
const RR: &[(u32, u32, u32, &str)] = &[
    (OP_OP, 0, 0, "add"),
    (OP_OP, 0, 0x20, "sub"),
    (OP_OP, 1, 0, "sll"),
    (OP_OP, 2, 0, "slt"),
    (OP_OP, 3, 0, "sltu"),
    (OP_OP, 4, 0, "xor"),
    (OP_OP, 5, 0, "srl"),
    (OP_OP, 5, 0x20, "sra"),
    (OP_OP, 6, 0, "or"),
    (OP_OP, 7, 0, "and"),
    (OP_OP, 0, 1, "mul"),
    (OP_OP, 1, 1, "mulh"),
    (OP_OP, 2, 1, "mulhsu"),
    (OP_OP, 3, 1, "mulhu"),
    (OP_OP, 4, 1, "div"),
    (OP_OP, 5, 1, "divu"),
    (OP_OP, 6, 1, "rem"),
    (OP_OP, 7, 1, "remu"),
    (OP_OP, 2, 0x10, "sh1add"),
    (OP_OP, 4, 0x10, "sh2add"),
    (OP_OP, 6, 0x10, "sh3add"),
    (OP_OP, 7, 0x20, "andn"),
    (OP_OP, 6, 0x20, "orn"),
    (OP_OP, 4, 0x20, "xnor"),
    (OP_OP, 6, 0x05, "max"),
    (OP_OP, 7, 0x05, "maxu"),
    (OP_OP, 4, 0x05, "min"),
    (OP_OP, 5, 0x05, "minu"),
    (OP_OP, 1, 0x30, "rol"),
    (OP_OP, 5, 0x30, "ror"),
    (OP_OP, 1, 0x05, "clmul"),
    (OP_OP, 2, 0x05, "clmulr"),
    (OP_OP, 3, 0x05, "clmulh"),
    (OP_OP, 1, 0x24, "bclr"),
    (OP_OP, 5, 0x24, "bext"),
    (OP_OP, 1, 0x34, "binv"),
    (OP_OP, 1, 0x14, "bset"),
    (OP_OP, 5, 0x07, "czero.eqz"),
    (OP_OP, 7, 0x07, "czero.nez"),
    (OP_32, 0, 0, "addw"),
    (OP_32, 0, 0x20, "subw"),
    (OP_32, 1, 0, "sllw"),
    (OP_32, 5, 0, "srlw"),
    (OP_32, 5, 0x20, "sraw"),
    (OP_32, 0, 1, "mulw"),
    (OP_32, 4, 1, "divw"),
    (OP_32, 5, 1, "divuw"),
    (OP_32, 6, 1, "remw"),
    (OP_32, 7, 1, "remuw"),
    (OP_32, 0, 0x04, "add.uw"),
    (OP_32, 2, 0x10, "sh1add.uw"),
    (OP_32, 4, 0x10, "sh2add.uw"),
    (OP_32, 6, 0x10, "sh3add.uw"),
    (OP_32, 1, 0x30, "rolw"),
    (OP_32, 5, 0x30, "rorw"),
];

/// One-source operations with a fixed rs2 field: (opcode, funct3, funct7, rs2, name).
const UNARY: &[(u32, u32, u32, u32, &str)] = &[
    (OP_32, 4, 0x04, 0, "zext.h"),
    (OP_IMM, 1, 0x30, 0, "clz"),
    (OP_IMM, 1, 0x30, 1, "ctz"),
    (OP_IMM, 1, 0x30, 2, "cpop"),
    (OP_IMM, 1, 0x30, 4, "sext.b"),
    (OP_IMM, 1, 0x30, 5, "sext.h"),
    (OP_IMM_32, 1, 0x30, 0, "clzw"),
    (OP_IMM_32, 1, 0x30, 1, "ctzw"),
    (OP_IMM_32, 1, 0x30, 2, "cpopw"),
    (OP_IMM, 5, 0x14, 7, "orc.b"),
    (OP_IMM, 5, 0x35, 0x18, "rev8"),
];

/// Shift-immediate forms: (opcode, funct3, imm[11:6], name, W-form).
const SHIFTS: &[(u32, u32, u32, &str, bool)] = &[
    (OP_IMM, 1, 0x00, "slli", false),
    (OP_IMM, 5, 0x00, "srli", false),
    (OP_IMM, 5, 0x10, "srai", false),
    (OP_IMM, 5, 0x18, "rori", false),
    (OP_IMM, 1, 0x12, "bclri", false),
    (OP_IMM, 5, 0x12, "bexti", false),
    (OP_IMM, 1, 0x1a, "binvi", false),
    (OP_IMM, 1, 0x0a, "bseti", false),
    (OP_IMM_32, 1, 0x02, "slli.uw", false),
    (OP_IMM_32, 1, 0x00, "slliw", true),
    (OP_IMM_32, 5, 0x00, "srliw", true),
    (OP_IMM_32, 5, 0x10, "sraiw", true),
    (OP_IMM_32, 5, 0x18, "roriw", true),
];

const IMM_OPS: &[(u32, u32, &str)] = &[
    (OP_IMM, 0, "addi"),
    (OP_IMM, 2, "slti"),
    (OP_IMM, 3, "sltiu"),
    (OP_IMM, 4, "xori"),
    (OP_IMM, 6, "ori"),
    (OP_IMM, 7, "andi"),
    (OP_IMM_32, 0, "addiw"),
];

/// A generator of bodies, one random stream per seed.
pub struct Gen {
    rng: Rng,
    /// Also emit encodings outside every extension (decoder corners):
    /// only where the two CPUs implement the same set.
    pub wild: bool,
    /// Avoid what QEMU's `max` gives a meaning that emu's CPUs do not:
    /// misaligned AMOs (Zama16b) and `c.lui x1/3/../15, 0` (Zcmop's c.mop.n).
    pub for_qemu_max: bool,
    groups: Vec<Vec<Inst>>,
    /// Forward targets, as (group, instruction in group, groups ahead).
    pending: Vec<(usize, usize, usize)>,
}

impl Gen {
    pub fn new(seed: u64, wild: bool) -> Gen {
        Gen {
            rng: Rng::new(seed),
            wild,
            for_qemu_max: false,
            groups: Vec::new(),
            pending: Vec::new(),
        }
    }

    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// A body of `n` groups.
    pub fn body(&mut self, n: usize) -> Vec<Inst> {
        self.groups.clear();
        self.pending.clear();
        for _ in 0..n {
            let g = self.group();
            self.groups.push(g);
        }
        let mut starts = Vec::new();
        let mut total = 0;
        for g in &self.groups {
            starts.push(total);
            total += g.len();
        }
        for &(g, i, ahead) in &self.pending {
            let to = starts.get(g + ahead).copied().unwrap_or(total);
            let inst = &mut self.groups[g][i];
            inst.fix = match inst.fix {
                BodyFix::Branch(_) => BodyFix::Branch(to),
                BodyFix::Jal(_) => BodyFix::Jal(to),
                BodyFix::CJ(_) => BodyFix::CJ(to),
                BodyFix::CB(_) => BodyFix::CB(to),
                BodyFix::CodeHi(_) => BodyFix::CodeHi(to),
                BodyFix::CodeLo(_) => BodyFix::CodeLo(to),
                f => f,
            };
            inst.text = inst.text.replace("->?", &format!("->{to}"));
        }
        self.groups.drain(..).flatten().collect()
    }

    fn x(&mut self) -> u32 {
        if self.rng.chance(8) {
            0
        } else {
            self.rng.below(32) as u32
        }
    }
    /// A source register: often one already named in this instruction.
    fn xs(&mut self, others: &[u32]) -> u32 {
        if !others.is_empty() && self.rng.chance(4) {
            others[self.rng.below(others.len() as u64) as usize]
        } else {
            self.x()
        }
    }
    fn f(&mut self) -> u32 {
        self.rng.below(32) as u32
    }
    fn fs(&mut self, others: &[u32]) -> u32 {
        if !others.is_empty() && self.rng.chance(4) {
            others[self.rng.below(others.len() as u64) as usize]
        } else {
            self.f()
        }
    }
    /// x8..x15, the compressed-register set.
    fn xc(&mut self) -> u32 {
        8 + self.rng.below(8) as u32
    }
    fn rm(&mut self) -> u32 {
        match self.rng.below(40) {
            0 => 5,
            1 => 6,
            n if n < 16 => 7,
            n => (n % 5) as u32,
        }
    }
    fn imm12(&mut self) -> i32 {
        match self.rng.below(8) {
            0 => 0,
            1 => -1,
            2 => 2047,
            3 => -2048,
            4 => 1,
            5 => self.rng.below(64) as i32 - 32,
            _ => self.rng.below(4096) as i32 - 2048,
        }
    }
    fn shamt(&mut self, bits: u32) -> u32 {
        let corners = [0, 1, 31, 32, 63];
        if self.rng.chance(2) {
            corners[self.rng.below(5) as usize] % bits
        } else {
            self.rng.below(bits as u64) as u32
        }
    }

    fn one(bits: u32, text: String) -> Vec<Inst> {
        vec![Inst {
            bits,
            len: 4,
            text,
            fix: BodyFix::None,
        }]
    }
    fn c(bits: u32, text: String) -> Inst {
        Inst {
            bits,
            len: 2,
            text,
            fix: BodyFix::None,
        }
    }
    /// `rd = data area + off` (auipc + addi).
    fn la_data(rd: u32, off: i64) -> Vec<Inst> {
        vec![
            Inst {
                bits: u_type(OP_AUIPC, rd, 0),
                len: 4,
                text: format!("auipc {},%hi(data+{off})", xname(rd)),
                fix: BodyFix::DataHi(off),
            },
            Inst {
                bits: addi(rd, rd, 0),
                len: 4,
                text: format!("addi {},{},%lo(data+{off})", xname(rd), xname(rd)),
                fix: BodyFix::DataLo(off),
            },
        ]
    }
    /// An offset inside the data area for an access of `size` bytes,
    /// usually aligned.
    fn data_off(&mut self, size: i64) -> i64 {
        let off = self.rng.below((DATA_BYTES - size + 1) as u64) as i64;
        if self.rng.chance(6) {
            off
        } else {
            off & !(size - 1)
        }
    }
    fn target(&mut self, inst: usize) {
        let ahead = 1 + self.rng.below(6) as usize;
        self.pending.push((self.groups.len(), inst, ahead));
    }

    fn group(&mut self) -> Vec<Inst> {
        let w = self.rng.below(100);
        match w {
            0..=21 => self.alu_rr(),
            22..=33 => self.alu_imm(),
            34..=35 => self.upper(),
            36..=43 => self.load_store(),
            44..=66 => self.fp(),
            67..=70 => self.fp_load_store(),
            71..=75 => self.amo(),
            76..=78 => self.csr(),
            79..=89 => self.compressed(),
            90..=95 => self.control(),
            _ => self.misc(),
        }
    }

    fn alu_rr(&mut self) -> Vec<Inst> {
        if self.rng.chance(8) {
            let (op, f3, f7, rs2, name) = *self.rng.pick(UNARY);
            let rd = self.x();
            let rs1 = self.xs(&[rd]);
            return Self::one(
                r_type(op, f3, f7, rd, rs1, rs2),
                format!("{name} {},{}", xname(rd), xname(rs1)),
            );
        }
        let (op, f3, f7, name) = *self.rng.pick(RR);
        let rd = self.x();
        let rs1 = self.xs(&[rd]);
        let rs2 = self.xs(&[rd, rs1]);
        Self::one(
            r_type(op, f3, f7, rd, rs1, rs2),
            format!("{name} {},{},{}", xname(rd), xname(rs1), xname(rs2)),
        )
    }

    fn alu_imm(&mut self) -> Vec<Inst> {
        let rd = self.x();
        let rs1 = self.xs(&[rd]);
        if self.rng.chance(2) {
            let (op, f3, top, name, word) = *self.rng.pick(SHIFTS);
            // W-forms sometimes get shamt[5] set: reserved, must trap.
            let sh = if word && !self.rng.chance(12) {
                self.shamt(32)
            } else {
                self.shamt(64)
            };
            let imm = (top << 6 | sh) as i32;
            return Self::one(
                i_type(op, f3, rd, rs1, imm),
                format!("{name} {},{},{sh}", xname(rd), xname(rs1)),
            );
        }
        let (op, f3, name) = *self.rng.pick(IMM_OPS);
        let imm = self.imm12();
        Self::one(
            i_type(op, f3, rd, rs1, imm),
            format!("{name} {},{},{imm}", xname(rd), xname(rs1)),
        )
    }

    fn upper(&mut self) -> Vec<Inst> {
        let rd = self.x();
        let imm = match self.rng.below(4) {
            0 => 0x80000,
            1 => 0xfffff,
            2 => 0x7ffff,
            _ => self.rng.below(1 << 20) as u32,
        };
        if self.rng.chance(2) {
            Self::one(lui(rd, imm), format!("lui {},{imm:#x}", xname(rd)))
        } else {
            Self::one(
                u_type(OP_AUIPC, rd, imm),
                format!("auipc {},{imm:#x}", xname(rd)),
            )
        }
    }

    /// Base register for an access at data+off: any register but x0.
    fn base(&mut self) -> u32 {
        1 + self.rng.below(31) as u32
    }

    fn load_store(&mut self) -> Vec<Inst> {
        let base = self.base();
        let mid = 128;
        let mut g = Self::la_data(base, mid);
        if self.rng.chance(2) {
            let (f3, size, name) = *self.rng.pick(&[
                (0, 1, "lb"),
                (1, 2, "lh"),
                (2, 4, "lw"),
                (3, 8, "ld"),
                (4, 1, "lbu"),
                (5, 2, "lhu"),
                (6, 4, "lwu"),
            ]);
            let off = self.data_off(size) - mid;
            let rd = self.xs(&[base]);
            g.extend(Self::one(
                i_type(OP_LOAD, f3, rd, base, off as i32),
                format!("{name} {},{off}({})", xname(rd), xname(base)),
            ));
        } else {
            let (f3, size, name) =
                *self
                    .rng
                    .pick(&[(0, 1, "sb"), (1, 2, "sh"), (2, 4, "sw"), (3, 8, "sd")]);
            let off = if self.rng.chance(4) {
                8 * self.rng.below(3) as i64
            } else {
                self.data_off(size)
            } - mid;
            let rs2 = self.xs(&[base]);
            g.extend(Self::one(
                s_type(OP_STORE, f3, base, rs2, off as i32),
                format!("{name} {},{off}({})", xname(rs2), xname(base)),
            ));
        }
        g
    }

    fn fp_load_store(&mut self) -> Vec<Inst> {
        let base = self.base();
        let mid = 128;
        let mut g = Self::la_data(base, mid);
        let (f3, size, name, store) = *self.rng.pick(&[
            (2, 4, "flw", false),
            (3, 8, "fld", false),
            (2, 4, "fsw", true),
            (3, 8, "fsd", true),
        ]);
        let off = self.data_off(size) - mid;
        let fr = self.f();
        let bits = if store {
            s_type(OP_STORE_FP, f3, base, fr, off as i32)
        } else {
            i_type(OP_LOAD_FP, f3, fr, base, off as i32)
        };
        g.extend(Self::one(
            bits,
            format!("{name} {},{off}({})", fname(fr), xname(base)),
        ));
        g
    }

    fn amo(&mut self) -> Vec<Inst> {
        let base = self.base();
        let d = self.rng.chance(2);
        let size = if d { 8 } else { 4 };
        // Often one of a few places, so that LR, SC, AMOs and stores meet.
        let mut off = if self.rng.chance(2) {
            8 * self.rng.below(3) as i64
        } else {
            self.data_off(size)
        };
        if self.for_qemu_max {
            off &= !(size - 1);
        }
        let mut g = Self::la_data(base, off);
        let (f5, name) = *self.rng.pick(&[
            (0x02, "lr"),
            (0x03, "sc"),
            (0x01, "amoswap"),
            (0x00, "amoadd"),
            (0x04, "amoxor"),
            (0x0c, "amoand"),
            (0x08, "amoor"),
            (0x10, "amomin"),
            (0x14, "amomax"),
            (0x18, "amominu"),
            (0x1c, "amomaxu"),
        ]);
        let aqrl = self.rng.below(4) as u32;
        let rd = self.xs(&[base]);
        let rs2 = if f5 == 0x02 { 0 } else { self.xs(&[base, rd]) };
        let sfx = ["", ".rl", ".aq", ".aqrl"][aqrl as usize];
        let w = if d { "d" } else { "w" };
        g.extend(Self::one(
            r_type(OP_AMO, if d { 3 } else { 2 }, f5 << 2 | aqrl, rd, base, rs2),
            if f5 == 0x02 {
                format!("{name}.{w}{sfx} {},({})", xname(rd), xname(base))
            } else {
                format!(
                    "{name}.{w}{sfx} {},{},({})",
                    xname(rd),
                    xname(rs2),
                    xname(base)
                )
            },
        ));
        // LR then SC to the same place, the pair's usual shape, sometimes
        // with a store between (QEMU's SC compares the value, not a flag).
        if f5 == 0x02 && self.rng.chance(2) {
            let rd2 = self.xs(&[base, rd]);
            let rs2 = self.xs(&[base, rd]);
            if rd2 != base && rd != base {
                if self.rng.chance(3) {
                    let v = self.xs(&[rd]);
                    let f3 = if d { 3 } else { 2 };
                    let n = if d { "sd" } else { "sw" };
                    g.extend(Self::one(
                        s_type(OP_STORE, f3, base, v, 0),
                        format!("{n} {},0({})", xname(v), xname(base)),
                    ));
                }
                // Sometimes of the other width (QEMU's SC compares the
                // sign-extended word with LR's whole value).
                let sd = if self.rng.chance(4) { !d } else { d };
                g.extend(Self::one(
                    r_type(OP_AMO, if sd { 3 } else { 2 }, 0x03 << 2, rd2, base, rs2),
                    format!(
                        "sc.{} {},{},({})",
                        if sd { "d" } else { "w" },
                        xname(rd2),
                        xname(rs2),
                        xname(base)
                    ),
                ));
            }
        }
        g
    }

    fn csr(&mut self) -> Vec<Inst> {
        let (csr, cname) = *self.rng.pick(&[(1, "fflags"), (2, "frm"), (3, "fcsr")]);
        let f3 = 1 + self.rng.below(3) as u32 + if self.rng.chance(2) { 4 } else { 0 };
        let rd = self.x();
        let names = [
            "", "csrrw", "csrrs", "csrrc", "", "csrrwi", "csrrsi", "csrrci",
        ];
        let src = if f3 >= 5 {
            // Small immediates: the valid rounding modes and the reserved ones.
            self.rng.below(32) as u32
        } else {
            self.xs(&[rd])
        };
        let text = if f3 >= 5 {
            format!("{} {},{cname},{src}", names[f3 as usize], xname(rd))
        } else {
            format!(
                "{} {},{cname},{}",
                names[f3 as usize],
                xname(rd),
                xname(src)
            )
        };
        Self::one(i_type(OP_SYSTEM, f3, rd, src, csr), text)
    }

    fn fp(&mut self) -> Vec<Inst> {
        let fmt = self.rng.below(2) as u32;
        let t = ["s", "d"][fmt as usize];
        let rm = self.rm();
        let rms = RM[rm as usize];
        let rd = self.f();
        let rs1 = self.fs(&[rd]);
        let rs2 = self.fs(&[rd, rs1]);
        let fp = |f5: u32, rm: u32, rd: u32, rs1: u32, rs2: u32| {
            r_type(OP_FP, rm, f5 << 2 | fmt, rd, rs1, rs2)
        };
        let (bits, text) = match self.rng.below(26) {
            0..=3 => {
                let (f5, n) = *self
                    .rng
                    .pick(&[(0, "fadd"), (1, "fsub"), (2, "fmul"), (3, "fdiv")]);
                (
                    fp(f5, rm, rd, rs1, rs2),
                    format!("{n}.{t} {},{},{},{rms}", fname(rd), fname(rs1), fname(rs2)),
                )
            }
            4 => (
                fp(0x0b, rm, rd, rs1, 0),
                format!("fsqrt.{t} {},{},{rms}", fname(rd), fname(rs1)),
            ),
            5 | 6 => {
                let (f5, r, n) = *self.rng.pick(&[
                    (4, 0, "fsgnj"),
                    (4, 1, "fsgnjn"),
                    (4, 2, "fsgnjx"),
                    (5, 0, "fmin"),
                    (5, 1, "fmax"),
                    (5, 2, "fminm"),
                    (5, 3, "fmaxm"),
                ]);
                (
                    fp(f5, r, rd, rs1, rs2),
                    format!("{n}.{t} {},{},{}", fname(rd), fname(rs1), fname(rs2)),
                )
            }
            7 => {
                // fcvt.s.d (fmt S, rs2 1) / fcvt.d.s (fmt D, rs2 0).
                let (n, src) = if fmt == 0 {
                    ("fcvt.s.d", 1)
                } else {
                    ("fcvt.d.s", 0)
                };
                (
                    fp(0x08, rm, rd, rs1, src),
                    format!("{n} {},{},{rms}", fname(rd), fname(rs1)),
                )
            }
            8 => {
                let (sel, n) = *self.rng.pick(&[(4, "fround"), (5, "froundnx")]);
                (
                    fp(0x08, rm, rd, rs1, sel),
                    format!("{n}.{t} {},{},{rms}", fname(rd), fname(rs1)),
                )
            }
            9 | 10 => {
                let xd = self.x();
                let (r, n) =
                    *self
                        .rng
                        .pick(&[(0, "fle"), (1, "flt"), (2, "feq"), (4, "fleq"), (5, "fltq")]);
                (
                    fp(0x14, r, xd, rs1, rs2),
                    format!("{n}.{t} {},{},{}", xname(xd), fname(rs1), fname(rs2)),
                )
            }
            11 | 12 => {
                let xd = self.x();
                let (sel, n) = *self.rng.pick(&[(0, "w"), (1, "wu"), (2, "l"), (3, "lu")]);
                (
                    fp(0x18, rm, xd, rs1, sel),
                    format!("fcvt.{n}.{t} {},{},{rms}", xname(xd), fname(rs1)),
                )
            }
            13 => {
                // Zfa fcvtmod.w.d: only D, only RTZ (other modes are reserved).
                let xd = self.x();
                let r = if self.rng.chance(4) { rm } else { 1 };
                (
                    r_type(OP_FP, r, 0x18 << 2 | 1, xd, rs1, 8),
                    format!(
                        "fcvtmod.w.d {},{},{}",
                        xname(xd),
                        fname(rs1),
                        RM[r as usize]
                    ),
                )
            }
            14 | 15 => {
                let xs = self.x();
                let (sel, n) = *self.rng.pick(&[(0, "w"), (1, "wu"), (2, "l"), (3, "lu")]);
                (
                    fp(0x1a, rm, rd, xs, sel),
                    format!("fcvt.{t}.{n} {},{},{rms}", fname(rd), xname(xs)),
                )
            }
            16 | 17 => {
                let xd = self.x();
                let (r, sel, n) = *self.rng.pick(&[
                    (0, 0, if fmt == 0 { "fmv.x.w" } else { "fmv.x.d" }),
                    (1, 0, "fclass"),
                    (0, 1, "fmvh.x"),
                ]);
                (
                    fp(0x1c, r, xd, rs1, sel),
                    format!(
                        "{n}{} {},{}",
                        if n == "fclass" || n == "fmvh.x" {
                            format!(".{t}")
                        } else {
                            String::new()
                        },
                        xname(xd),
                        fname(rs1)
                    ),
                )
            }
            18 | 19 => {
                let xs = self.x();
                let n = if fmt == 0 { "fmv.w.x" } else { "fmv.d.x" };
                (
                    fp(0x1e, 0, rd, xs, 0),
                    format!("{n} {},{}", fname(rd), xname(xs)),
                )
            }
            20 => {
                let idx = self.rng.below(32) as u32;
                (
                    fp(0x1e, 0, rd, idx, 1),
                    format!("fli.{t} {},#{idx}", fname(rd)),
                )
            }
            21 => {
                // fmvp.d.x is RV32-only: reserved on RV64.
                let a = self.x();
                let b = self.x();
                (
                    r_type(OP_FP, 0, 0x59, rd, a, b),
                    format!(
                        "fmvp.d.x {},{},{} (rv32 only)",
                        fname(rd),
                        xname(a),
                        xname(b)
                    ),
                )
            }
            _ => {
                let rs3 = self.fs(&[rd, rs1, rs2]);
                let (op, n) = *self.rng.pick(&[
                    (0x43, "fmadd"),
                    (0x47, "fmsub"),
                    (0x4b, "fnmsub"),
                    (0x4f, "fnmadd"),
                ]);
                (
                    r4_type(op, fmt, rm, rd, rs1, rs2, rs3),
                    format!(
                        "{n}.{t} {},{},{},{},{rms}",
                        fname(rd),
                        fname(rs1),
                        fname(rs2),
                        fname(rs3)
                    ),
                )
            }
        };
        Self::one(bits, text)
    }

    fn compressed(&mut self) -> Vec<Inst> {
        let q = |f3: u32, op: u32| f3 << 13 | op;
        match self.rng.below(24) {
            0 => {
                let rd = self.xc();
                let u = (self.rng.below(256) as u32) << 2; // 0 is the reserved encoding
                let b = q(0, 0)
                    | (u >> 4 & 3) << 11
                    | (u >> 6 & 15) << 7
                    | (u >> 2 & 1) << 6
                    | (u >> 3 & 1) << 5
                    | (rd - 8) << 2;
                vec![Self::c(b, format!("c.addi4spn {},sp,{u}", xname(rd)))]
            }
            1..=3 => {
                // c.lw / c.ld / c.fld / c.sw / c.sd / c.fsd through rs1' = data.
                let base = self.xc();
                let mut g = Self::la_data(base, 0);
                let (f3, size, n, fpr) = *self.rng.pick(&[
                    (2, 4, "c.lw", false),
                    (3, 8, "c.ld", false),
                    (1, 8, "c.fld", true),
                    (6, 4, "c.sw", false),
                    (7, 8, "c.sd", false),
                    (5, 8, "c.fsd", true),
                ]);
                let u = (self.rng.below(32) as u32) * size;
                let r = 8 + self.rng.below(8) as u32;
                let imm = if size == 4 {
                    (u >> 3 & 7) << 10 | (u >> 2 & 1) << 6 | (u >> 6 & 1) << 5
                } else {
                    (u >> 3 & 7) << 10 | (u >> 6 & 3) << 5
                };
                let b = q(f3, 0) | imm | (base - 8) << 7 | (r - 8) << 2;
                let rn = if fpr { fname(r) } else { xname(r) };
                g.push(Self::c(b, format!("{n} {rn},{u}({})", xname(base))));
                g
            }
            4 | 5 => {
                let rd = self.x();
                let imm = self.rng.below(64) as u32;
                let (f3, n) = *self.rng.pick(&[(0, "c.addi"), (1, "c.addiw"), (2, "c.li")]);
                let b = q(f3, 1) | (imm >> 5) << 12 | rd << 7 | (imm & 31) << 2;
                let v = (imm as i32) << 26 >> 26;
                vec![Self::c(b, format!("{n} {},{v}", xname(rd)))]
            }
            6 => {
                let rd = self.x();
                let mut imm = self.rng.below(64) as u32;
                if self.for_qemu_max && imm == 0 && rd != 2 {
                    imm = 1; // c.mop.n there, reserved here
                }
                let b = q(3, 1) | (imm >> 5) << 12 | rd << 7 | (imm & 31) << 2;
                if rd == 2 {
                    vec![Self::c(b, format!("c.addi16sp sp,raw{imm:#x}"))]
                } else {
                    vec![Self::c(b, format!("c.lui {},raw{imm:#x}", xname(rd)))]
                }
            }
            7 | 8 => {
                let rd = self.xc();
                let (sel, n) = *self
                    .rng
                    .pick(&[(0, "c.srli"), (1, "c.srai"), (2, "c.andi")]);
                let imm = if sel < 2 {
                    self.shamt(64)
                } else {
                    self.rng.below(64) as u32
                };
                let b = q(4, 1) | (imm >> 5) << 12 | sel << 10 | (rd - 8) << 7 | (imm & 31) << 2;
                vec![Self::c(b, format!("{n} {},{imm}", xname(rd)))]
            }
            9 | 10 => {
                let rd = self.xc();
                let rs2 = self.xc();
                let (hi, sel, n) = *self.rng.pick(&[
                    (0, 0, "c.sub"),
                    (0, 1, "c.xor"),
                    (0, 2, "c.or"),
                    (0, 3, "c.and"),
                    (1, 0, "c.subw"),
                    (1, 1, "c.addw"),
                ]);
                let b = q(4, 1) | hi << 12 | 3 << 10 | (rd - 8) << 7 | sel << 5 | (rs2 - 8) << 2;
                vec![Self::c(b, format!("{n} {},{}", xname(rd), xname(rs2)))]
            }
            11 => {
                let rd = self.x();
                let sh = self.shamt(64);
                let b = q(0, 2) | (sh >> 5) << 12 | rd << 7 | (sh & 31) << 2;
                vec![Self::c(b, format!("c.slli {},{sh}", xname(rd)))]
            }
            12..=14 => {
                // sp-relative loads and stores, sp = data.
                let mut g = Self::la_data(2, 0);
                let (f3, size, n, fpr, store) = *self.rng.pick(&[
                    (2, 4, "c.lwsp", false, false),
                    (3, 8, "c.ldsp", false, false),
                    (1, 8, "c.fldsp", true, false),
                    (6, 4, "c.swsp", false, true),
                    (7, 8, "c.sdsp", false, true),
                    (5, 8, "c.fsdsp", true, true),
                ]);
                let u = self.rng.below((DATA_BYTES / size) as u64) as u32 * size as u32;
                let r = if fpr { self.f() } else { self.x() };
                let imm = match (size, store) {
                    (4, false) => (u >> 5 & 1) << 12 | (u >> 2 & 7) << 4 | (u >> 6 & 3) << 2,
                    (8, false) => (u >> 5 & 1) << 12 | (u >> 3 & 3) << 5 | (u >> 6 & 7) << 2,
                    (4, true) => (u >> 2 & 15) << 9 | (u >> 6 & 3) << 7,
                    _ => (u >> 3 & 7) << 10 | (u >> 6 & 7) << 7,
                };
                let b = q(f3, 2) | imm | if store { r << 2 } else { r << 7 };
                let rn = if fpr { fname(r) } else { xname(r) };
                g.push(Self::c(b, format!("{n} {rn},{u}(sp)")));
                g
            }
            15 | 16 => {
                let rd = self.x();
                // rs2 = 0 would make it c.jr / c.jalr / c.ebreak.
                let rs2 = 1 + self.rng.below(31) as u32;
                let (hi, n) = *self.rng.pick(&[(0, "c.mv"), (1, "c.add")]);
                let b = q(4, 2) | hi << 12 | rd << 7 | rs2 << 2;
                vec![Self::c(b, format!("{n} {},{}", xname(rd), xname(rs2)))]
            }
            17 => {
                // c.ntl.* are c.add x0, x2..x5 (hints).
                let r = 2 + self.rng.below(4) as u32;
                vec![Self::c(
                    q(4, 2) | 1 << 12 | r << 2,
                    format!("c.ntl (c.add zero,{})", xname(r)),
                )]
            }
            18 => {
                let mut i = Self::c(q(5, 1), "c.j ->?".into());
                i.fix = BodyFix::CJ(0);
                self.target(0);
                vec![i]
            }
            19 | 20 => {
                let r = self.xc();
                let (f3, n) = *self.rng.pick(&[(6, "c.beqz"), (7, "c.bnez")]);
                let mut i = Self::c(q(f3, 1) | (r - 8) << 7, format!("{n} {},->?", xname(r)));
                i.fix = BodyFix::CB(0);
                self.target(0);
                vec![i]
            }
            21 | 22 => {
                // c.jr / c.jalr through a register set to a later group.
                let r = self.base();
                let link = self.rng.chance(2);
                let g = vec![
                    Inst {
                        bits: u_type(OP_AUIPC, r, 0),
                        len: 4,
                        text: format!("auipc {},%hi(->?)", xname(r)),
                        fix: BodyFix::CodeHi(0),
                    },
                    Inst {
                        bits: addi(r, r, 0),
                        len: 4,
                        text: format!("addi {},{},%lo(->?)", xname(r), xname(r)),
                        fix: BodyFix::CodeLo(0),
                    },
                    Self::c(
                        q(4, 2) | (link as u32) << 12 | r << 7,
                        format!("{} {}", if link { "c.jalr" } else { "c.jr" }, xname(r)),
                    ),
                ];
                self.push_pair_target();
                g
            }
            _ => vec![Self::c(0x9002, "c.ebreak".into())],
        }
    }

    /// Registers one forward target shared by instructions 0 and 1 of the
    /// group being built (an auipc/addi or auipc/jalr pair).
    fn push_pair_target(&mut self) {
        let ahead = 1 + self.rng.below(6) as usize;
        let g = self.groups.len();
        self.pending.push((g, 0, ahead));
        self.pending.push((g, 1, ahead));
    }

    fn control(&mut self) -> Vec<Inst> {
        match self.rng.below(4) {
            0 | 1 => {
                let rs1 = self.x();
                let rs2 = self.xs(&[rs1]);
                let (f3, n) = *self.rng.pick(&[
                    (0, "beq"),
                    (1, "bne"),
                    (4, "blt"),
                    (5, "bge"),
                    (6, "bltu"),
                    (7, "bgeu"),
                ]);
                let mut i = Inst {
                    bits: b_type(f3, rs1, rs2, 0),
                    len: 4,
                    text: format!("{n} {},{},->?", xname(rs1), xname(rs2)),
                    fix: BodyFix::Branch(0),
                };
                i.bits &= !(0x1f << 7 | 0x7f << 25);
                self.target(0);
                vec![i]
            }
            2 => {
                let rd = self.x();
                self.target(0);
                vec![Inst {
                    bits: rd << 7 | 0x6f,
                    len: 4,
                    text: format!("jal {},->?", xname(rd)),
                    fix: BodyFix::Jal(0),
                }]
            }
            _ => {
                let r = self.base();
                let rd = self.xs(&[r]);
                let g = vec![
                    Inst {
                        bits: u_type(OP_AUIPC, r, 0),
                        len: 4,
                        text: format!("auipc {},%hi(->?)", xname(r)),
                        fix: BodyFix::CodeHi(0),
                    },
                    Inst {
                        bits: i_type(OP_JALR, 0, rd, r, 0),
                        len: 4,
                        text: format!("jalr {},%lo(->?)({})", xname(rd), xname(r)),
                        fix: BodyFix::CodeLo(0),
                    },
                ];
                self.push_pair_target();
                g
            }
        }
    }

    fn misc(&mut self) -> Vec<Inst> {
        match self.rng.below(12) {
            0 => Self::one(0x0ff0_000f, "fence iorw,iorw".into()),
            1 => Self::one(0x0000_100f, "fence.i".into()),
            2 => Self::one(0x0100_000f, "pause".into()),
            3 => {
                let r = 2 + self.rng.below(4) as u32;
                let n = ["ntl.p1", "ntl.pall", "ntl.s1", "ntl.all"][r as usize - 2];
                Self::one(r_type(OP_OP, 0, 0, 0, 0, r), n.into())
            }
            4 => {
                let (imm, n) = *self.rng.pick(&[(0x00d, "wrs.nto"), (0x01d, "wrs.sto")]);
                Self::one(i_type(OP_SYSTEM, 0, 0, 0, imm), n.into())
            }
            5 | 6 => {
                let base = self.base();
                let off = self.rng.below(DATA_BYTES as u64) as i64;
                let mut g = Self::la_data(base, off);
                let (imm, n) = *self.rng.pick(&[
                    (0, "cbo.inval"),
                    (1, "cbo.clean"),
                    (2, "cbo.flush"),
                    (4, "cbo.zero"),
                ]);
                g.extend(Self::one(
                    i_type(OP_MISC_MEM, 2, 0, base, imm),
                    format!("{n} ({})", xname(base)),
                ));
                g
            }
            7 => {
                // prefetch.{i,r,w}: ori x0 with imm[4:0] = 0, 1, 3.
                let rs1 = self.x();
                let sel = *self.rng.pick(&[0u32, 1, 3]);
                let imm = ((self.rng.below(128) as u32) << 5 | sel) as i32;
                Self::one(
                    i_type(OP_IMM, 6, 0, rs1, imm),
                    format!("ori zero,{},{imm} (prefetch hint)", xname(rs1)),
                )
            }
            8 => Self::one(0x0000_0073, "ecall".into()),
            9 => Self::one(0x0010_0073, "ebreak".into()),
            _ if self.wild => self.wild_encoding(),
            _ => Self::one(0, "illegal (all zero)".into()),
        }
    }

    /// Random funct fields in the integer and FP opcode spaces, for the
    /// decoders' idea of what is illegal.
    fn wild_encoding(&mut self) -> Vec<Inst> {
        let op = *self
            .rng
            .pick(&[OP_OP, OP_32, OP_IMM, OP_IMM_32, OP_FP, OP_MISC_MEM]);
        let mut w = (self.rng.next() as u32) & !0x7f | op;
        if op == OP_MISC_MEM {
            // Keep rs1 = 0 (cbo.* with an unset base would hit any address).
            w &= !(31 << 15);
        }
        Self::one(w, format!(".word {w:#010x}"))
    }
}
