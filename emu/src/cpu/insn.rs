//! The decoded instruction: what `decode` produces and `exec` consumes.
//!
//! Kept to 8 bytes (a tag, three register numbers and a 32-bit immediate) so
//! the decode cache stays dense. Compressed instructions decode to the same
//! variants; the cache slot records the length.

/// Integer register number (0..=31).
pub type Reg = u8;

/// Operation of an integer register-register or register-immediate ALU insn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AluOp {
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
}

/// Operation of a 32-bit (`*W`) ALU instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AluWOp {
    Add,
    Sub,
    Sll,
    Srl,
    Sra,
    Mul,
    Div,
    Divu,
    Rem,
    Remu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchOp {
    Eq,
    Ne,
    Lt,
    Ge,
    Ltu,
    Geu,
}

/// Width and signedness of an integer load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOp {
    B,
    H,
    W,
    D,
    Bu,
    Hu,
    Wu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    B,
    H,
    W,
    D,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmoOp {
    Swap,
    Add,
    Xor,
    And,
    Or,
    Min,
    Max,
    Minu,
    Maxu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrOp {
    Rw,
    Rs,
    Rc,
}

/// Floating-point precision of an F/D instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prec {
    S,
    D,
}

/// Fused multiply-add flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FmaOp {
    Madd,
    Msub,
    Nmsub,
    Nmadd,
}

/// Floating-point computational operations (OP-FP major opcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FOp {
    Add,
    Sub,
    Mul,
    Div,
    Sqrt,
    Sgnj,
    Sgnjn,
    Sgnjx,
    Min,
    Max,
    /// fcvt.s.d (when Prec::S) or fcvt.d.s (when Prec::D): convert from the other precision.
    CvtFF,
    Eq,
    Lt,
    Le,
    Class,
    /// fcvt.w / fcvt.wu / fcvt.l / fcvt.lu (float -> integer).
    CvtW,
    CvtWu,
    CvtL,
    CvtLu,
    /// fcvt.*.w / wu / l / lu (integer -> float).
    CvtFromW,
    CvtFromWu,
    CvtFromL,
    CvtFromLu,
    /// fmv.x.w / fmv.x.d
    MvToX,
    /// fmv.w.x / fmv.d.x
    MvFromX,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insn {
    /// Anything the decoder does not recognise (raises illegal instruction).
    Illegal,
    Lui { rd: Reg, imm: i32 },
    Auipc { rd: Reg, imm: i32 },
    Jal { rd: Reg, imm: i32 },
    Jalr { rd: Reg, rs1: Reg, imm: i32 },
    Branch { op: BranchOp, rs1: Reg, rs2: Reg, imm: i32 },
    Load { op: LoadOp, rd: Reg, rs1: Reg, imm: i32 },
    Store { op: StoreOp, rs1: Reg, rs2: Reg, imm: i32 },
    /// Register-immediate ALU op (`addi`, `slli`, ...; `Sub` never occurs).
    OpImm { op: AluOp, rd: Reg, rs1: Reg, imm: i32 },
    OpImmW { op: AluWOp, rd: Reg, rs1: Reg, imm: i32 },
    Op { op: AluOp, rd: Reg, rs1: Reg, rs2: Reg },
    OpW { op: AluWOp, rd: Reg, rs1: Reg, rs2: Reg },
    Fence,
    FenceI,
    Ecall,
    Ebreak,
    Mret,
    Sret,
    Wfi,
    SfenceVma { rs1: Reg, rs2: Reg },
    /// CSR access with a register source.
    Csr { op: CsrOp, rd: Reg, rs1: Reg, csr: u16 },
    /// CSR access with a 5-bit immediate source.
    CsrI { op: CsrOp, rd: Reg, uimm: u8, csr: u16 },
    Lr { rd: Reg, rs1: Reg, dw: bool },
    Sc { rd: Reg, rs1: Reg, rs2: Reg, dw: bool },
    Amo { op: AmoOp, rd: Reg, rs1: Reg, rs2: Reg, dw: bool },
    FLoad { rd: Reg, rs1: Reg, imm: i32, prec: Prec },
    FStore { rs1: Reg, rs2: Reg, imm: i32, prec: Prec },
    Fma { op: FmaOp, prec: Prec, rd: Reg, rs1: Reg, rs2: Reg, rs3: Reg, rm: u8 },
    Fp { op: FOp, prec: Prec, rd: Reg, rs1: Reg, rs2: Reg, rm: u8 },
}

#[cfg(test)]
mod tests {
    #[test]
    fn insn_is_compact() {
        assert!(std::mem::size_of::<super::Insn>() <= 8);
    }
}
