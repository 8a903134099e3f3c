//! Encodings of the bit-manipulation (Zba, Zbb, Zbc, Zbs) and Zicond
//! instructions. `decode` falls back here for the OP, OP-32, OP-IMM and
//! OP-IMM-32 encodings the base ISA leaves unused; whether the extension is
//! enabled is checked by `decode::decode_for`.

use super::insn::{BitOp, Insn, Reg};

fn rr(op: BitOp, w: u32) -> Insn {
    Insn::Bit {
        op,
        rd: ((w >> 7) & 31) as Reg,
        rs1: ((w >> 15) & 31) as Reg,
        rs2: ((w >> 20) & 31) as Reg,
    }
}

fn ri(op: BitOp, w: u32, imm: u32) -> Insn {
    Insn::BitI {
        op,
        rd: ((w >> 7) & 31) as Reg,
        rs1: ((w >> 15) & 31) as Reg,
        imm: imm as u8,
    }
}

/// OP (0x33) with a funct7/funct3 the base ISA and M do not use.
pub(super) fn op(w: u32) -> Insn {
    let f3 = (w >> 12) & 7;
    let bitop = match (w >> 25, f3) {
        (0x10, 2) => BitOp::Sh1add,
        (0x10, 4) => BitOp::Sh2add,
        (0x10, 6) => BitOp::Sh3add,
        (0x20, 7) => BitOp::Andn,
        (0x20, 6) => BitOp::Orn,
        (0x20, 4) => BitOp::Xnor,
        (0x05, 1) => BitOp::Clmul,
        (0x05, 2) => BitOp::Clmulr,
        (0x05, 3) => BitOp::Clmulh,
        (0x05, 4) => BitOp::Min,
        (0x05, 5) => BitOp::Minu,
        (0x05, 6) => BitOp::Max,
        (0x05, 7) => BitOp::Maxu,
        (0x30, 1) => BitOp::Rol,
        (0x30, 5) => BitOp::Ror,
        (0x24, 1) => BitOp::Bclr,
        (0x24, 5) => BitOp::Bext,
        (0x34, 1) => BitOp::Binv,
        (0x14, 1) => BitOp::Bset,
        (0x07, 5) => BitOp::CzeroEqz,
        (0x07, 7) => BitOp::CzeroNez,
        _ => return Insn::Illegal,
    };
    rr(bitop, w)
}

/// OP-32 (0x3b) likewise.
pub(super) fn op_32(w: u32) -> Insn {
    let f3 = (w >> 12) & 7;
    let rs2 = (w >> 20) & 31;
    let bitop = match (w >> 25, f3) {
        (0x04, 0) => BitOp::AddUw,
        (0x10, 2) => BitOp::Sh1addUw,
        (0x10, 4) => BitOp::Sh2addUw,
        (0x10, 6) => BitOp::Sh3addUw,
        (0x04, 4) if rs2 == 0 => return ri(BitOp::ZextH, w, 0),
        (0x30, 1) => BitOp::Rolw,
        (0x30, 5) => BitOp::Rorw,
        _ => return Insn::Illegal,
    };
    rr(bitop, w)
}

/// OP-IMM (0x13) with funct3 1 or 5 and an upper immediate that is not a
/// plain shift.
pub(super) fn op_imm(w: u32) -> Insn {
    let f3 = (w >> 12) & 7;
    let shamt = (w >> 20) & 63;
    let unary = match (f3, w >> 20) {
        (1, 0x600) => Some(BitOp::Clz),
        (1, 0x601) => Some(BitOp::Ctz),
        (1, 0x602) => Some(BitOp::Cpop),
        (1, 0x604) => Some(BitOp::SextB),
        (1, 0x605) => Some(BitOp::SextH),
        (5, 0x287) => Some(BitOp::OrcB),
        (5, 0x6b8) => Some(BitOp::Rev8),
        _ => None,
    };
    if let Some(op) = unary {
        return ri(op, w, 0);
    }
    let op = match (f3, w >> 26) {
        (1, 0x12) => BitOp::Bclr,
        (1, 0x1a) => BitOp::Binv,
        (1, 0x0a) => BitOp::Bset,
        (5, 0x12) => BitOp::Bext,
        (5, 0x18) => BitOp::Ror,
        _ => return Insn::Illegal,
    };
    ri(op, w, shamt)
}

/// OP-IMM-32 (0x1b) likewise.
pub(super) fn op_imm_32(w: u32) -> Insn {
    let f3 = (w >> 12) & 7;
    match (f3, w >> 20) {
        (1, 0x600) => return ri(BitOp::Clzw, w, 0),
        (1, 0x601) => return ri(BitOp::Ctzw, w, 0),
        (1, 0x602) => return ri(BitOp::Cpopw, w, 0),
        _ => {}
    }
    match (f3, w >> 26, w >> 25) {
        (1, 0x02, _) => ri(BitOp::SlliUw, w, (w >> 20) & 63),
        (5, _, 0x30) => ri(BitOp::Rorw, w, (w >> 20) & 31),
        _ => Insn::Illegal,
    }
}
