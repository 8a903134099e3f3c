//! A tiny two-pass assembler: instruction encoders for the RISC-V formats
//! and a buffer whose pc-relative operands (branches, `auipc`+`addi`
//! pairs) are resolved once every label has an address.
//!
//! Encodings are written here rather than left to binutils because the
//! bookworm assembler (2.40) knows neither Zicond nor Zfa.

/// Integer register number 0..=31.
pub type Reg = u32;

pub fn r_type(op: u32, f3: u32, f7: u32, rd: Reg, rs1: Reg, rs2: Reg) -> u32 {
    f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op
}
pub fn i_type(op: u32, f3: u32, rd: Reg, rs1: Reg, imm: i32) -> u32 {
    ((imm as u32) & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op
}
pub fn s_type(op: u32, f3: u32, rs1: Reg, rs2: Reg, imm: i32) -> u32 {
    let i = imm as u32;
    (i >> 5 & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (i & 0x1f) << 7 | op
}
pub fn b_type(f3: u32, rs1: Reg, rs2: Reg, off: i32) -> u32 {
    let o = off as u32;
    (o >> 12 & 1) << 31
        | (o >> 5 & 0x3f) << 25
        | rs2 << 20
        | rs1 << 15
        | f3 << 12
        | (o >> 1 & 0xf) << 8
        | (o >> 11 & 1) << 7
        | 0x63
}
pub fn u_type(op: u32, rd: Reg, imm20: u32) -> u32 {
    (imm20 & 0xfffff) << 12 | rd << 7 | op
}
pub fn j_type(rd: Reg, off: i32) -> u32 {
    let o = off as u32;
    (o >> 20 & 1) << 31
        | (o >> 1 & 0x3ff) << 21
        | (o >> 11 & 1) << 20
        | (o >> 12 & 0xff) << 12
        | rd << 7
        | 0x6f
}
pub fn r4_type(op: u32, fmt: u32, rm: u32, rd: Reg, rs1: Reg, rs2: Reg, rs3: Reg) -> u32 {
    rs3 << 27 | fmt << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | op
}
/// C.J offset field (bits 12..2) for a byte offset.
pub fn cj_imm(off: i32) -> u32 {
    let o = off as u32;
    (o >> 11 & 1) << 12
        | (o >> 4 & 1) << 11
        | (o >> 8 & 3) << 9
        | (o >> 10 & 1) << 8
        | (o >> 6 & 1) << 7
        | (o >> 7 & 1) << 6
        | (o >> 1 & 7) << 3
        | (o >> 5 & 1) << 2
}
/// C.BEQZ/C.BNEZ offset fields for a byte offset.
pub fn cb_imm(off: i32) -> u32 {
    let o = off as u32;
    (o >> 8 & 1) << 12
        | (o >> 3 & 3) << 10
        | (o >> 6 & 3) << 5
        | (o >> 1 & 3) << 3
        | (o >> 5 & 1) << 2
}

pub const OP_LOAD: u32 = 0x03;
pub const OP_LOAD_FP: u32 = 0x07;
pub const OP_MISC_MEM: u32 = 0x0f;
pub const OP_IMM: u32 = 0x13;
pub const OP_AUIPC: u32 = 0x17;
pub const OP_IMM_32: u32 = 0x1b;
pub const OP_STORE: u32 = 0x23;
pub const OP_STORE_FP: u32 = 0x27;
pub const OP_AMO: u32 = 0x2f;
pub const OP_OP: u32 = 0x33;
pub const OP_LUI: u32 = 0x37;
pub const OP_32: u32 = 0x3b;
pub const OP_FP: u32 = 0x53;
pub const OP_JALR: u32 = 0x67;
pub const OP_SYSTEM: u32 = 0x73;

pub fn addi(rd: Reg, rs1: Reg, imm: i32) -> u32 {
    i_type(OP_IMM, 0, rd, rs1, imm)
}
pub fn ld(rd: Reg, rs1: Reg, imm: i32) -> u32 {
    i_type(OP_LOAD, 3, rd, rs1, imm)
}
pub fn lbu(rd: Reg, rs1: Reg, imm: i32) -> u32 {
    i_type(OP_LOAD, 4, rd, rs1, imm)
}
pub fn lhu(rd: Reg, rs1: Reg, imm: i32) -> u32 {
    i_type(OP_LOAD, 5, rd, rs1, imm)
}
pub fn sd(rs1: Reg, rs2: Reg, imm: i32) -> u32 {
    s_type(OP_STORE, 3, rs1, rs2, imm)
}
pub fn sb(rs1: Reg, rs2: Reg, imm: i32) -> u32 {
    s_type(OP_STORE, 0, rs1, rs2, imm)
}
pub fn sw(rs1: Reg, rs2: Reg, imm: i32) -> u32 {
    s_type(OP_STORE, 2, rs1, rs2, imm)
}
pub fn fld(rd: Reg, rs1: Reg, imm: i32) -> u32 {
    i_type(OP_LOAD_FP, 3, rd, rs1, imm)
}
pub fn fsd(rs1: Reg, rs2: Reg, imm: i32) -> u32 {
    s_type(OP_STORE_FP, 3, rs1, rs2, imm)
}
pub fn csrrw(rd: Reg, csr: u32, rs1: Reg) -> u32 {
    i_type(OP_SYSTEM, 1, rd, rs1, csr as i32)
}
pub fn csrrs(rd: Reg, csr: u32, rs1: Reg) -> u32 {
    i_type(OP_SYSTEM, 2, rd, rs1, csr as i32)
}
pub fn lui(rd: Reg, imm20: u32) -> u32 {
    u_type(OP_LUI, rd, imm20)
}
pub fn andi(rd: Reg, rs1: Reg, imm: i32) -> u32 {
    i_type(OP_IMM, 7, rd, rs1, imm)
}
pub fn srl(rd: Reg, rs1: Reg, rs2: Reg) -> u32 {
    r_type(OP_OP, 5, 0, rd, rs1, rs2)
}
pub fn xor(rd: Reg, rs1: Reg, rs2: Reg) -> u32 {
    r_type(OP_OP, 4, 0, rd, rs1, rs2)
}
pub fn mul(rd: Reg, rs1: Reg, rs2: Reg) -> u32 {
    r_type(OP_OP, 0, 1, rd, rs1, rs2)
}
pub fn slti(rd: Reg, rs1: Reg, imm: i32) -> u32 {
    i_type(OP_IMM, 2, rd, rs1, imm)
}
pub const MRET: u32 = 0x3020_0073;
pub const CSR_FCSR: u32 = 0x003;
pub const CSR_MSTATUS: u32 = 0x300;
pub const CSR_MTVEC: u32 = 0x305;
pub const CSR_MSCRATCH: u32 = 0x340;
pub const CSR_MEPC: u32 = 0x341;
pub const CSR_MCAUSE: u32 = 0x342;
pub const CSR_MTVAL: u32 = 0x343;

/// A code label: an index into [`Asm`]'s address table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

/// How an instruction's operand is completed once addresses are known.
#[derive(Debug, Clone, Copy)]
pub enum Fix {
    None,
    /// `auipc`: upper part of (label + add - pc).
    Hi(Label, i64),
    /// `addi`/`jalr` right after its `auipc`: lower part, relative to that auipc.
    Lo(Label, i64),
    /// B-type branch to the label.
    Branch(Label),
    /// `jal` to the label.
    Jal(Label),
    /// C.J to the label.
    CJ(Label),
    /// C.BEQZ / C.BNEZ to the label.
    CB(Label),
}

#[derive(Debug, Clone, Copy)]
struct Item {
    bits: u32,
    len: u8,
    fix: Fix,
}

/// Code being assembled from `base` upwards.
pub struct Asm {
    base: u64,
    pc: u64,
    items: Vec<Item>,
    labels: Vec<Option<u64>>,
}

impl Asm {
    pub fn new(base: u64) -> Asm {
        Asm {
            base,
            pc: base,
            items: Vec::new(),
            labels: Vec::new(),
        }
    }
    pub fn pc(&self) -> u64 {
        self.pc
    }
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }
    /// Binds `l` to the current pc.
    pub fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.pc);
    }
    pub fn bind_at(&mut self, l: Label, addr: u64) {
        self.labels[l.0] = Some(addr);
    }
    pub fn here(&mut self) -> Label {
        let l = self.label();
        self.bind(l);
        l
    }
    pub fn emit(&mut self, bits: u32) {
        self.emit_fixed(bits, 4, Fix::None);
    }
    pub fn emit_fixed(&mut self, bits: u32, len: u8, fix: Fix) {
        self.items.push(Item { bits, len, fix });
        self.pc += len as u64;
    }
    /// `rd = address of label + add` (auipc + addi).
    pub fn la(&mut self, rd: Reg, l: Label, add: i64) {
        self.emit_fixed(u_type(OP_AUIPC, rd, 0), 4, Fix::Hi(l, add));
        self.emit_fixed(addi(rd, rd, 0), 4, Fix::Lo(l, add));
    }
    /// `rd = value` for values that fit a sign-extended 32 bits.
    pub fn li(&mut self, rd: Reg, value: i32) {
        let lo = (value << 20) >> 20;
        let hi = ((value as i64 - lo as i64) >> 12) as u32;
        if hi != 0 {
            self.emit(lui(rd, hi));
            self.emit(i_type(OP_IMM_32, 0, rd, rd, lo));
        } else {
            self.emit(addi(rd, 0, lo));
        }
    }
    /// Resolves every fix; the bytes start at `base`.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut pc = self.base;
        for it in &self.items {
            let addr = |l: Label| self.labels[l.0].expect("every label is bound");
            let rel = |l: Label| (addr(l) as i64 - pc as i64) as i32;
            let bits = match it.fix {
                Fix::None => it.bits,
                Fix::Hi(l, add) => {
                    let d = addr(l) as i64 + add - pc as i64;
                    it.bits | (((d + 0x800) >> 12) as u32 & 0xfffff) << 12
                }
                Fix::Lo(l, add) => {
                    let d = addr(l) as i64 + add - (pc as i64 - 4);
                    it.bits | ((d as u32) & 0xfff) << 20
                }
                Fix::Branch(l) => {
                    let b = b_type(0, 0, 0, rel(l));
                    it.bits | (b & !0x7f)
                }
                Fix::Jal(l) => it.bits | (j_type(0, rel(l)) & !0xfff),
                Fix::CJ(l) => it.bits | cj_imm(rel(l)),
                Fix::CB(l) => it.bits | cb_imm(rel(l)),
            };
            out.extend_from_slice(&bits.to_le_bytes()[..it.len as usize]);
            pc += it.len as u64;
        }
        out
    }
}

/// A minimal riscv64 ELF executable: one loadable segment of `image` at `addr`.
pub fn elf(image: &[u8], addr: u64, entry: u64) -> Vec<u8> {
    const OFF: usize = 0x1000;
    let mut e = vec![0u8; OFF];
    e[..4].copy_from_slice(b"\x7fELF");
    e[4] = 2; // 64-bit
    e[5] = 1; // little endian
    e[6] = 1; // version
    let h16 = |e: &mut Vec<u8>, o: usize, v: u16| e[o..o + 2].copy_from_slice(&v.to_le_bytes());
    let h32 = |e: &mut Vec<u8>, o: usize, v: u32| e[o..o + 4].copy_from_slice(&v.to_le_bytes());
    let h64 = |e: &mut Vec<u8>, o: usize, v: u64| e[o..o + 8].copy_from_slice(&v.to_le_bytes());
    h16(&mut e, 16, 2); // ET_EXEC
    h16(&mut e, 18, 243); // EM_RISCV
    h32(&mut e, 20, 1);
    h64(&mut e, 24, entry);
    h64(&mut e, 32, 64); // program headers right after this header
    h64(&mut e, 40, 0);
    h32(&mut e, 48, 0x5); // RVC, double-float ABI
    h16(&mut e, 52, 64);
    h16(&mut e, 54, 56);
    h16(&mut e, 56, 1);
    h16(&mut e, 58, 64);
    // Program header: PT_LOAD, RWX.
    h32(&mut e, 64, 1);
    h32(&mut e, 68, 7);
    h64(&mut e, 72, OFF as u64);
    h64(&mut e, 80, addr);
    h64(&mut e, 88, addr);
    h64(&mut e, 96, image.len() as u64);
    h64(&mut e, 104, image.len() as u64);
    h64(&mut e, 112, 0x1000);
    e.extend_from_slice(image);
    e
}
