//! The decoded instruction: what `decode` produces and `exec` consumes.
//!
//! Kept to 8 bytes (a tag, three register numbers and a 32-bit immediate) so
//! the decode cache stays dense, and flat for the hot integer instructions
//! (one variant per operation) so execution dispatches with a single jump.
//! The small operation enums (`AluOp`, `LoadOp`, ...) name operations for
//! the decoder and the disassembler; the `Insn::op`-style constructors map
//! them to variants. Compressed instructions decode to the same variants;
//! the cache slot records the length.

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

/// Zfa operations (OP-FP encodings; `Insn::Zfa`, kept apart from `FOp` so
/// the base F/D path carries no Zfa check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZfaOp {
    /// fli.s / fli.d: rs1 holds the index into the constant table.
    Fli,
    Minm,
    Maxm,
    Round,
    RoundNx,
    /// fcvtmod.w.d (D only, rm fixed to rtz).
    CvtModW,
    Leq,
    Ltq,
}

/// Bit-manipulation (Zba, Zbb, Zbc, Zbs) and Zicond operations, register
/// or immediate forms (`Insn::Bit`, `Insn::BitI`); unary ones ignore the
/// second operand. The W-suffixed ones work on the low 32 bits and
/// sign-extend the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    // Zba
    Sh1add,
    Sh2add,
    Sh3add,
    AddUw,
    Sh1addUw,
    Sh2addUw,
    Sh3addUw,
    /// slli.uw (immediate form only).
    SlliUw,
    // Zbb
    Andn,
    Orn,
    Xnor,
    Clz,
    Ctz,
    Cpop,
    Clzw,
    Ctzw,
    Cpopw,
    Max,
    Maxu,
    Min,
    Minu,
    SextB,
    SextH,
    ZextH,
    Rol,
    Ror,
    Rolw,
    Rorw,
    OrcB,
    Rev8,
    // Zbc
    Clmul,
    Clmulh,
    Clmulr,
    // Zbs
    Bclr,
    Bext,
    Binv,
    Bset,
    // Zicond
    CzeroEqz,
    CzeroNez,
}

impl BitOp {
    /// Whether the operation takes no second operand (clz, sext.b, rev8...).
    pub fn is_unary(self) -> bool {
        matches!(
            self,
            BitOp::Clz
                | BitOp::Ctz
                | BitOp::Cpop
                | BitOp::Clzw
                | BitOp::Ctzw
                | BitOp::Cpopw
                | BitOp::SextB
                | BitOp::SextH
                | BitOp::ZextH
                | BitOp::OrcB
                | BitOp::Rev8
        )
    }
}

/// Cache-block operation (Zicbom, Zicboz).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CboOp {
    Clean,
    Flush,
    Inval,
    Zero,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insn {
    /// Anything the decoder does not recognise (raises illegal instruction).
    Illegal,
    /// No effect: what an ALU instruction with rd = x0 (a HINT) becomes in
    /// the decode cache (see [`Insn::for_exec`]); `decode` never returns it.
    Nop,
    Lui {
        rd: Reg,
        imm: i32,
    },
    Auipc {
        rd: Reg,
        imm: i32,
    },
    Jal {
        rd: Reg,
        imm: i32,
    },
    Jalr {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    // Integer register-register (one variant per operation, so execution
    // dispatches once).
    Add {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Sub {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Sll {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Slt {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Sltu {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Xor {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Srl {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Sra {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Or {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    And {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Mul {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Mulh {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Mulhsu {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Mulhu {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Div {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Divu {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Rem {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Remu {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Addw {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Subw {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Sllw {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Srlw {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Sraw {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Mulw {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Divw {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Divuw {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Remw {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    Remuw {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    // Register-immediate (shift immediates hold the shift amount).
    Addi {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Slti {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Sltiu {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Xori {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Ori {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Andi {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Slli {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Srli {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Srai {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Addiw {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Slliw {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Srliw {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Sraiw {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Beq {
        rs1: Reg,
        rs2: Reg,
        imm: i32,
    },
    Bne {
        rs1: Reg,
        rs2: Reg,
        imm: i32,
    },
    Blt {
        rs1: Reg,
        rs2: Reg,
        imm: i32,
    },
    Bge {
        rs1: Reg,
        rs2: Reg,
        imm: i32,
    },
    Bltu {
        rs1: Reg,
        rs2: Reg,
        imm: i32,
    },
    Bgeu {
        rs1: Reg,
        rs2: Reg,
        imm: i32,
    },
    Lb {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Lh {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Lw {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Ld {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Lbu {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Lhu {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Lwu {
        rd: Reg,
        rs1: Reg,
        imm: i32,
    },
    Sb {
        rs1: Reg,
        rs2: Reg,
        imm: i32,
    },
    Sh {
        rs1: Reg,
        rs2: Reg,
        imm: i32,
    },
    Sw {
        rs1: Reg,
        rs2: Reg,
        imm: i32,
    },
    Sd {
        rs1: Reg,
        rs2: Reg,
        imm: i32,
    },
    Fence,
    FenceI,
    Ecall,
    Ebreak,
    Mret,
    Sret,
    Wfi,
    SfenceVma {
        rs1: Reg,
        rs2: Reg,
    },
    /// CSR access with a register source.
    Csr {
        op: CsrOp,
        rd: Reg,
        rs1: Reg,
        csr: u16,
    },
    /// CSR access with a 5-bit immediate source.
    CsrI {
        op: CsrOp,
        rd: Reg,
        uimm: u8,
        csr: u16,
    },
    Lr {
        rd: Reg,
        rs1: Reg,
        dw: bool,
    },
    Sc {
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
        dw: bool,
    },
    Amo {
        op: AmoOp,
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
        dw: bool,
    },
    FLoad {
        rd: Reg,
        rs1: Reg,
        imm: i32,
        prec: Prec,
    },
    FStore {
        rs1: Reg,
        rs2: Reg,
        imm: i32,
        prec: Prec,
    },
    Fma {
        op: FmaOp,
        prec: Prec,
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
        rs3: Reg,
        rm: u8,
    },
    Fp {
        op: FOp,
        prec: Prec,
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
        rm: u8,
    },
    /// A Zfa operation (fields as in `Fp`).
    Zfa {
        op: ZfaOp,
        prec: Prec,
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
        rm: u8,
    },
    /// Zba/Zbb/Zbc/Zbs/Zicond register-register operation.
    Bit {
        op: BitOp,
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    /// Immediate (shift amount / bit index) or unary (imm = 0) form.
    BitI {
        op: BitOp,
        rd: Reg,
        rs1: Reg,
        imm: u8,
    },
    /// cbo.clean / cbo.flush / cbo.inval / cbo.zero on the block at x[rs1].
    Cbo {
        op: CboOp,
        rs1: Reg,
    },
    /// wrs.nto (`sto` false) / wrs.sto.
    Wrs {
        sto: bool,
    },
}

impl Insn {
    /// The form the executor runs: register-writing ALU instructions
    /// (including `lui`/`auipc`) with rd = x0 have no effect and become
    /// [`Insn::Nop`], so the executor's ALU arms never write x0 and need
    /// not re-zero it.
    pub fn for_exec(self) -> Insn {
        match self {
            Insn::Add { rd: 0, .. }
            | Insn::Sub { rd: 0, .. }
            | Insn::Sll { rd: 0, .. }
            | Insn::Slt { rd: 0, .. }
            | Insn::Sltu { rd: 0, .. }
            | Insn::Xor { rd: 0, .. }
            | Insn::Srl { rd: 0, .. }
            | Insn::Sra { rd: 0, .. }
            | Insn::Or { rd: 0, .. }
            | Insn::And { rd: 0, .. }
            | Insn::Mul { rd: 0, .. }
            | Insn::Mulh { rd: 0, .. }
            | Insn::Mulhsu { rd: 0, .. }
            | Insn::Mulhu { rd: 0, .. }
            | Insn::Div { rd: 0, .. }
            | Insn::Divu { rd: 0, .. }
            | Insn::Rem { rd: 0, .. }
            | Insn::Remu { rd: 0, .. }
            | Insn::Addw { rd: 0, .. }
            | Insn::Subw { rd: 0, .. }
            | Insn::Sllw { rd: 0, .. }
            | Insn::Srlw { rd: 0, .. }
            | Insn::Sraw { rd: 0, .. }
            | Insn::Mulw { rd: 0, .. }
            | Insn::Divw { rd: 0, .. }
            | Insn::Divuw { rd: 0, .. }
            | Insn::Remw { rd: 0, .. }
            | Insn::Remuw { rd: 0, .. }
            | Insn::Addi { rd: 0, .. }
            | Insn::Slti { rd: 0, .. }
            | Insn::Sltiu { rd: 0, .. }
            | Insn::Xori { rd: 0, .. }
            | Insn::Ori { rd: 0, .. }
            | Insn::Andi { rd: 0, .. }
            | Insn::Slli { rd: 0, .. }
            | Insn::Srli { rd: 0, .. }
            | Insn::Srai { rd: 0, .. }
            | Insn::Addiw { rd: 0, .. }
            | Insn::Slliw { rd: 0, .. }
            | Insn::Srliw { rd: 0, .. }
            | Insn::Sraiw { rd: 0, .. }
            | Insn::Lui { rd: 0, .. }
            | Insn::Auipc { rd: 0, .. }
            | Insn::Bit { rd: 0, .. }
            | Insn::BitI { rd: 0, .. } => Insn::Nop,
            other => other,
        }
    }

    /// The variant for register-register `op`.
    pub fn op(op: AluOp, rd: Reg, rs1: Reg, rs2: Reg) -> Insn {
        match op {
            AluOp::Add => Insn::Add { rd, rs1, rs2 },
            AluOp::Sub => Insn::Sub { rd, rs1, rs2 },
            AluOp::Sll => Insn::Sll { rd, rs1, rs2 },
            AluOp::Slt => Insn::Slt { rd, rs1, rs2 },
            AluOp::Sltu => Insn::Sltu { rd, rs1, rs2 },
            AluOp::Xor => Insn::Xor { rd, rs1, rs2 },
            AluOp::Srl => Insn::Srl { rd, rs1, rs2 },
            AluOp::Sra => Insn::Sra { rd, rs1, rs2 },
            AluOp::Or => Insn::Or { rd, rs1, rs2 },
            AluOp::And => Insn::And { rd, rs1, rs2 },
            AluOp::Mul => Insn::Mul { rd, rs1, rs2 },
            AluOp::Mulh => Insn::Mulh { rd, rs1, rs2 },
            AluOp::Mulhsu => Insn::Mulhsu { rd, rs1, rs2 },
            AluOp::Mulhu => Insn::Mulhu { rd, rs1, rs2 },
            AluOp::Div => Insn::Div { rd, rs1, rs2 },
            AluOp::Divu => Insn::Divu { rd, rs1, rs2 },
            AluOp::Rem => Insn::Rem { rd, rs1, rs2 },
            AluOp::Remu => Insn::Remu { rd, rs1, rs2 },
        }
    }
    pub fn op_w(op: AluWOp, rd: Reg, rs1: Reg, rs2: Reg) -> Insn {
        match op {
            AluWOp::Add => Insn::Addw { rd, rs1, rs2 },
            AluWOp::Sub => Insn::Subw { rd, rs1, rs2 },
            AluWOp::Sll => Insn::Sllw { rd, rs1, rs2 },
            AluWOp::Srl => Insn::Srlw { rd, rs1, rs2 },
            AluWOp::Sra => Insn::Sraw { rd, rs1, rs2 },
            AluWOp::Mul => Insn::Mulw { rd, rs1, rs2 },
            AluWOp::Div => Insn::Divw { rd, rs1, rs2 },
            AluWOp::Divu => Insn::Divuw { rd, rs1, rs2 },
            AluWOp::Rem => Insn::Remw { rd, rs1, rs2 },
            AluWOp::Remu => Insn::Remuw { rd, rs1, rs2 },
        }
    }
    /// The variant for register-immediate `op`; `None` for ops without an immediate form.
    pub fn op_imm(op: AluOp, rd: Reg, rs1: Reg, imm: i32) -> Option<Insn> {
        Some(match op {
            AluOp::Add => Insn::Addi { rd, rs1, imm },
            AluOp::Slt => Insn::Slti { rd, rs1, imm },
            AluOp::Sltu => Insn::Sltiu { rd, rs1, imm },
            AluOp::Xor => Insn::Xori { rd, rs1, imm },
            AluOp::Or => Insn::Ori { rd, rs1, imm },
            AluOp::And => Insn::Andi { rd, rs1, imm },
            AluOp::Sll => Insn::Slli { rd, rs1, imm },
            AluOp::Srl => Insn::Srli { rd, rs1, imm },
            AluOp::Sra => Insn::Srai { rd, rs1, imm },
            _ => return None,
        })
    }
    pub fn op_imm_w(op: AluWOp, rd: Reg, rs1: Reg, imm: i32) -> Option<Insn> {
        Some(match op {
            AluWOp::Add => Insn::Addiw { rd, rs1, imm },
            AluWOp::Sll => Insn::Slliw { rd, rs1, imm },
            AluWOp::Srl => Insn::Srliw { rd, rs1, imm },
            AluWOp::Sra => Insn::Sraiw { rd, rs1, imm },
            _ => return None,
        })
    }
    pub fn branch(op: BranchOp, rs1: Reg, rs2: Reg, imm: i32) -> Insn {
        match op {
            BranchOp::Eq => Insn::Beq { rs1, rs2, imm },
            BranchOp::Ne => Insn::Bne { rs1, rs2, imm },
            BranchOp::Lt => Insn::Blt { rs1, rs2, imm },
            BranchOp::Ge => Insn::Bge { rs1, rs2, imm },
            BranchOp::Ltu => Insn::Bltu { rs1, rs2, imm },
            BranchOp::Geu => Insn::Bgeu { rs1, rs2, imm },
        }
    }
    pub fn load(op: LoadOp, rd: Reg, rs1: Reg, imm: i32) -> Insn {
        match op {
            LoadOp::B => Insn::Lb { rd, rs1, imm },
            LoadOp::H => Insn::Lh { rd, rs1, imm },
            LoadOp::W => Insn::Lw { rd, rs1, imm },
            LoadOp::D => Insn::Ld { rd, rs1, imm },
            LoadOp::Bu => Insn::Lbu { rd, rs1, imm },
            LoadOp::Hu => Insn::Lhu { rd, rs1, imm },
            LoadOp::Wu => Insn::Lwu { rd, rs1, imm },
        }
    }
    pub fn store(op: StoreOp, rs1: Reg, rs2: Reg, imm: i32) -> Insn {
        match op {
            StoreOp::B => Insn::Sb { rs1, rs2, imm },
            StoreOp::H => Insn::Sh { rs1, rs2, imm },
            StoreOp::W => Insn::Sw { rs1, rs2, imm },
            StoreOp::D => Insn::Sd { rs1, rs2, imm },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn insn_is_compact() {
        assert!(std::mem::size_of::<super::Insn>() <= 8);
    }
}
