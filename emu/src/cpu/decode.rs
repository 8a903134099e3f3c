//! Instruction decoding: the only module (with `decode_bitmanip`) that
//! knows RISC-V encodings.
//!
//! `decode` is pure (`u32 -> Insn`) and knows every implemented extension.
//! `decode_for` turns instructions of the optional extensions a hart lacks
//! (`IsaExtensions`, fixed for the hart's lifetime) into `Insn::Illegal`, so
//! the decode cache stays valid. What depends on CSRs (F/D and the FS state,
//! the cbo enables in menvcfg/senvcfg) is checked at execution.

use super::decode_bitmanip;
use super::ext::IsaExtensions;
use super::insn::*;

/// Length in bytes of the instruction whose low 16 bits are `lo`.
#[inline(always)]
pub fn insn_len(lo: u16) -> u8 {
    if lo & 3 == 3 {
        4
    } else {
        2
    }
}

/// Decodes one instruction. `raw` holds a 32-bit instruction, or a 16-bit
/// compressed one in its low half (the upper half is ignored then).
pub fn decode(raw: u32) -> Insn {
    if raw & 3 != 3 {
        decode_c(raw as u16)
    } else {
        decode32(raw)
    }
}

/// Decodes `raw` for a hart with the optional extensions `ext`: an
/// instruction of a disabled extension is illegal.
#[inline]
pub fn decode_for(raw: u32, ext: &IsaExtensions) -> Insn {
    let insn = decode(raw);
    if enabled(&insn, ext) {
        insn
    } else {
        Insn::Illegal
    }
}

/// Whether `insn` belongs to the base ISA or to an extension `ext` enables.
pub fn enabled(insn: &Insn, ext: &IsaExtensions) -> bool {
    match *insn {
        Insn::Bit { op, .. } | Insn::BitI { op, .. } => match op {
            BitOp::Sh1add
            | BitOp::Sh2add
            | BitOp::Sh3add
            | BitOp::AddUw
            | BitOp::Sh1addUw
            | BitOp::Sh2addUw
            | BitOp::Sh3addUw
            | BitOp::SlliUw => ext.zba,
            BitOp::Clmul | BitOp::Clmulh | BitOp::Clmulr => ext.zbc,
            BitOp::Bclr | BitOp::Bext | BitOp::Binv | BitOp::Bset => ext.zbs,
            BitOp::CzeroEqz | BitOp::CzeroNez => ext.zicond,
            _ => ext.zbb,
        },
        Insn::Cbo {
            op: CboOp::Zero, ..
        } => ext.zicboz,
        Insn::Cbo { .. } => ext.zicbom,
        Insn::Wrs { .. } => ext.zawrs,
        Insn::Zfa { .. } => ext.zfa,
        _ => true,
    }
}

#[inline(always)]
fn rd(w: u32) -> Reg {
    ((w >> 7) & 31) as Reg
}
#[inline(always)]
fn rs1(w: u32) -> Reg {
    ((w >> 15) & 31) as Reg
}
#[inline(always)]
fn rs2(w: u32) -> Reg {
    ((w >> 20) & 31) as Reg
}
#[inline(always)]
fn f3(w: u32) -> u32 {
    (w >> 12) & 7
}
#[inline(always)]
fn imm_i(w: u32) -> i32 {
    (w as i32) >> 20
}
#[inline(always)]
fn imm_s(w: u32) -> i32 {
    ((w as i32) >> 25 << 5) | ((w >> 7) & 31) as i32
}
#[inline(always)]
fn imm_b(w: u32) -> i32 {
    ((w as i32) >> 31 << 12)
        | (((w >> 7) & 1) << 11) as i32
        | (((w >> 25) & 0x3f) << 5) as i32
        | (((w >> 8) & 0xf) << 1) as i32
}
#[inline(always)]
fn imm_j(w: u32) -> i32 {
    ((w as i32) >> 31 << 20)
        | (w & 0xff000) as i32
        | (((w >> 20) & 1) << 11) as i32
        | (((w >> 21) & 0x3ff) << 1) as i32
}

fn decode32(w: u32) -> Insn {
    let (rd, rs1, rs2, f3) = (rd(w), rs1(w), rs2(w), f3(w));
    let f7 = w >> 25;
    match w & 0x7f {
        0x37 => Insn::Lui {
            rd,
            imm: (w & 0xffff_f000) as i32,
        },
        0x17 => Insn::Auipc {
            rd,
            imm: (w & 0xffff_f000) as i32,
        },
        0x6f => Insn::Jal { rd, imm: imm_j(w) },
        0x67 if f3 == 0 => Insn::Jalr {
            rd,
            rs1,
            imm: imm_i(w),
        },
        0x63 => {
            let op = match f3 {
                0 => BranchOp::Eq,
                1 => BranchOp::Ne,
                4 => BranchOp::Lt,
                5 => BranchOp::Ge,
                6 => BranchOp::Ltu,
                7 => BranchOp::Geu,
                _ => return Insn::Illegal,
            };
            Insn::branch(op, rs1, rs2, imm_b(w))
        }
        0x03 => {
            let op = match f3 {
                0 => LoadOp::B,
                1 => LoadOp::H,
                2 => LoadOp::W,
                3 => LoadOp::D,
                4 => LoadOp::Bu,
                5 => LoadOp::Hu,
                6 => LoadOp::Wu,
                _ => return Insn::Illegal,
            };
            Insn::load(op, rd, rs1, imm_i(w))
        }
        0x23 => {
            let op = match f3 {
                0 => StoreOp::B,
                1 => StoreOp::H,
                2 => StoreOp::W,
                3 => StoreOp::D,
                _ => return Insn::Illegal,
            };
            Insn::store(op, rs1, rs2, imm_s(w))
        }
        0x13 => {
            let imm = imm_i(w);
            let op = match f3 {
                0 => AluOp::Add,
                2 => AluOp::Slt,
                3 => AluOp::Sltu,
                4 => AluOp::Xor,
                6 => AluOp::Or,
                7 => AluOp::And,
                1 if w >> 26 == 0 => AluOp::Sll,
                5 if w >> 26 == 0 => AluOp::Srl,
                5 if w >> 26 == 0x10 => AluOp::Sra,
                _ => return decode_bitmanip::op_imm(w),
            };
            let imm = if matches!(op, AluOp::Sll | AluOp::Srl | AluOp::Sra) {
                imm & 0x3f
            } else {
                imm
            };
            Insn::op_imm(op, rd, rs1, imm).unwrap_or(Insn::Illegal)
        }
        0x1b => {
            let op = match (f3, f7) {
                (0, _) => {
                    return Insn::Addiw {
                        rd,
                        rs1,
                        imm: imm_i(w),
                    }
                }
                (1, 0) => AluWOp::Sll,
                (5, 0) => AluWOp::Srl,
                (5, 0x20) => AluWOp::Sra,
                _ => return decode_bitmanip::op_imm_32(w),
            };
            Insn::op_imm_w(op, rd, rs1, rs2 as i32).unwrap_or(Insn::Illegal)
        }
        0x33 => {
            let op = match (f7, f3) {
                (0, 0) => AluOp::Add,
                (0x20, 0) => AluOp::Sub,
                (0, 1) => AluOp::Sll,
                (0, 2) => AluOp::Slt,
                (0, 3) => AluOp::Sltu,
                (0, 4) => AluOp::Xor,
                (0, 5) => AluOp::Srl,
                (0x20, 5) => AluOp::Sra,
                (0, 6) => AluOp::Or,
                (0, 7) => AluOp::And,
                (1, 0) => AluOp::Mul,
                (1, 1) => AluOp::Mulh,
                (1, 2) => AluOp::Mulhsu,
                (1, 3) => AluOp::Mulhu,
                (1, 4) => AluOp::Div,
                (1, 5) => AluOp::Divu,
                (1, 6) => AluOp::Rem,
                (1, 7) => AluOp::Remu,
                _ => return decode_bitmanip::op(w),
            };
            Insn::op(op, rd, rs1, rs2)
        }
        0x3b => {
            let op = match (f7, f3) {
                (0, 0) => AluWOp::Add,
                (0x20, 0) => AluWOp::Sub,
                (0, 1) => AluWOp::Sll,
                (0, 5) => AluWOp::Srl,
                (0x20, 5) => AluWOp::Sra,
                (1, 0) => AluWOp::Mul,
                (1, 4) => AluWOp::Div,
                (1, 5) => AluWOp::Divu,
                (1, 6) => AluWOp::Rem,
                (1, 7) => AluWOp::Remu,
                _ => return decode_bitmanip::op_32(w),
            };
            Insn::op_w(op, rd, rs1, rs2)
        }
        0x0f => match f3 {
            0 => Insn::Fence,
            1 => Insn::FenceI,
            2 if rd == 0 => match w >> 20 {
                0 => Insn::Cbo {
                    op: CboOp::Inval,
                    rs1,
                },
                1 => Insn::Cbo {
                    op: CboOp::Clean,
                    rs1,
                },
                2 => Insn::Cbo {
                    op: CboOp::Flush,
                    rs1,
                },
                4 => Insn::Cbo {
                    op: CboOp::Zero,
                    rs1,
                },
                _ => Insn::Illegal,
            },
            _ => Insn::Illegal,
        },
        0x73 => decode_system(w),
        0x2f => decode_amo(w),
        0x07 | 0x27 => {
            let prec = match f3 {
                2 => Prec::S,
                3 => Prec::D,
                _ => return Insn::Illegal,
            };
            if w & 0x7f == 0x07 {
                Insn::FLoad {
                    rd,
                    rs1,
                    imm: imm_i(w),
                    prec,
                }
            } else {
                Insn::FStore {
                    rs1,
                    rs2,
                    imm: imm_s(w),
                    prec,
                }
            }
        }
        0x43 | 0x47 | 0x4b | 0x4f => {
            let prec = match (w >> 25) & 3 {
                0 => Prec::S,
                1 => Prec::D,
                _ => return Insn::Illegal,
            };
            let op = match w & 0x7f {
                0x43 => FmaOp::Madd,
                0x47 => FmaOp::Msub,
                0x4b => FmaOp::Nmsub,
                _ => FmaOp::Nmadd,
            };
            Insn::Fma {
                op,
                prec,
                rd,
                rs1,
                rs2,
                rs3: (w >> 27) as Reg,
                rm: f3 as u8,
            }
        }
        0x53 => decode_fp(w),
        _ => Insn::Illegal,
    }
}

fn decode_system(w: u32) -> Insn {
    let (rd, rs1, f3) = (rd(w), rs1(w), f3(w));
    let csr = (w >> 20) as u16;
    let op = match f3 & 3 {
        1 => CsrOp::Rw,
        2 => CsrOp::Rs,
        3 => CsrOp::Rc,
        _ => {
            if f3 != 0 {
                return Insn::Illegal;
            }
            return match w {
                0x0000_0073 => Insn::Ecall,
                0x0010_0073 => Insn::Ebreak,
                0x3020_0073 => Insn::Mret,
                0x1020_0073 => Insn::Sret,
                0x1050_0073 => Insn::Wfi,
                0x00d0_0073 => Insn::Wrs { sto: false },
                0x01d0_0073 => Insn::Wrs { sto: true },
                _ if w >> 25 == 0x09 && rd == 0 => Insn::SfenceVma { rs1, rs2: rs2(w) },
                _ => Insn::Illegal,
            };
        }
    };
    if f3 & 4 == 0 {
        Insn::Csr { op, rd, rs1, csr }
    } else {
        Insn::CsrI {
            op,
            rd,
            uimm: rs1,
            csr,
        }
    }
}

fn decode_amo(w: u32) -> Insn {
    let (rd, rs1, rs2) = (rd(w), rs1(w), rs2(w));
    let dw = match f3(w) {
        2 => false,
        3 => true,
        _ => return Insn::Illegal,
    };
    let op = match w >> 27 {
        0x02 if rs2 == 0 => return Insn::Lr { rd, rs1, dw },
        0x03 => return Insn::Sc { rd, rs1, rs2, dw },
        0x01 => AmoOp::Swap,
        0x00 => AmoOp::Add,
        0x04 => AmoOp::Xor,
        0x0c => AmoOp::And,
        0x08 => AmoOp::Or,
        0x10 => AmoOp::Min,
        0x14 => AmoOp::Max,
        0x18 => AmoOp::Minu,
        0x1c => AmoOp::Maxu,
        _ => return Insn::Illegal,
    };
    Insn::Amo {
        op,
        rd,
        rs1,
        rs2,
        dw,
    }
}

fn decode_fp(w: u32) -> Insn {
    let (rd, rs1, rs2, f3) = (rd(w), rs1(w), rs2(w), f3(w));
    let prec = match (w >> 25) & 3 {
        0 => Prec::S,
        1 => Prec::D,
        _ => return Insn::Illegal,
    };
    let rm = f3 as u8;
    let op = match (w >> 27, f3, rs2) {
        (0x00, _, _) => FOp::Add,
        (0x01, _, _) => FOp::Sub,
        (0x02, _, _) => FOp::Mul,
        (0x03, _, _) => FOp::Div,
        (0x0b, _, 0) => FOp::Sqrt,
        (0x04, 0, _) => FOp::Sgnj,
        (0x04, 1, _) => FOp::Sgnjn,
        (0x04, 2, _) => FOp::Sgnjx,
        (0x05, 0, _) => FOp::Min,
        (0x05, 1, _) => FOp::Max,
        // fcvt.s.d has fmt=S, rs2=1 (D); fcvt.d.s has fmt=D, rs2=0 (S).
        (0x08, _, 1) if prec == Prec::S => FOp::CvtFF,
        (0x08, _, 0) if prec == Prec::D => FOp::CvtFF,
        (0x14, 2, _) => FOp::Eq,
        (0x14, 1, _) => FOp::Lt,
        (0x14, 0, _) => FOp::Le,
        (0x18, _, 0) => FOp::CvtW,
        (0x18, _, 1) => FOp::CvtWu,
        (0x18, _, 2) => FOp::CvtL,
        (0x18, _, 3) => FOp::CvtLu,
        (0x1a, _, 0) => FOp::CvtFromW,
        (0x1a, _, 1) => FOp::CvtFromWu,
        (0x1a, _, 2) => FOp::CvtFromL,
        (0x1a, _, 3) => FOp::CvtFromLu,
        (0x1c, 0, 0) => FOp::MvToX,
        (0x1c, 1, 0) => FOp::Class,
        (0x1e, 0, 0) => FOp::MvFromX,
        _ => return decode_zfa(w, prec),
    };
    Insn::Fp {
        op,
        prec,
        rd,
        rs1,
        rs2,
        rm,
    }
}

/// The Zfa encodings of OP-FP (fmvh.x.d / fmvp.d.x are RV32-only: illegal).
fn decode_zfa(w: u32, prec: Prec) -> Insn {
    let (rd, rs1, rs2, f3) = (rd(w), rs1(w), rs2(w), f3(w));
    let op = match (w >> 27, f3, rs2) {
        (0x1e, 0, 1) => ZfaOp::Fli,
        (0x05, 2, _) => ZfaOp::Minm,
        (0x05, 3, _) => ZfaOp::Maxm,
        (0x08, _, 4) => ZfaOp::Round,
        (0x08, _, 5) => ZfaOp::RoundNx,
        (0x18, 1, 8) if prec == Prec::D => ZfaOp::CvtModW,
        (0x14, 4, _) => ZfaOp::Leq,
        (0x14, 5, _) => ZfaOp::Ltq,
        _ => return Insn::Illegal,
    };
    Insn::Zfa {
        op,
        prec,
        rd,
        rs1,
        rs2,
        rm: f3 as u8,
    }
}

/// Compressed register field (3 bits) -> x8..x15.
#[inline(always)]
fn creg(v: u16) -> Reg {
    (8 + (v & 7)) as Reg
}

#[inline(always)]
fn bit(h: u16, b: u32) -> u32 {
    ((h >> b) & 1) as u32
}

/// Sign-extends the low `bits` bits of `v`.
#[inline(always)]
fn sext(v: u32, bits: u32) -> i32 {
    ((v << (32 - bits)) as i32) >> (32 - bits)
}

/// Expands a 16-bit instruction to the base-ISA variant it stands for.
pub fn decode_c(h: u16) -> Insn {
    let f3 = h >> 13;
    let rd_full = ((h >> 7) & 31) as Reg;
    let rs2_full = ((h >> 2) & 31) as Reg;
    let rdp = creg(h >> 2); // rd'/rs2' in bits 4:2
    let rs1p = creg(h >> 7); // rs1'/rd' in bits 9:7
                             // 6-bit signed immediate: imm[5] = bit 12, imm[4:0] = bits 6:2.
    let imm6 = sext((bit(h, 12) << 5) | ((h >> 2) & 31) as u32, 6);
    match (h & 3, f3) {
        (0, 0) => {
            let imm = (((h >> 11) & 3) << 4
                | ((h >> 7) & 0xf) << 6
                | ((h >> 6) & 1) << 2
                | ((h >> 5) & 1) << 3) as i32;
            if imm == 0 {
                return Insn::Illegal; // includes the all-zero word
            }
            Insn::Addi {
                rd: rdp,
                rs1: 2,
                imm,
            }
        }
        (0, 1) | (0, 3) | (0, 5) | (0, 7) => {
            let imm = (((h >> 10) & 7) << 3 | ((h >> 5) & 3) << 6) as i32;
            match f3 {
                1 => Insn::FLoad {
                    rd: rdp,
                    rs1: rs1p,
                    imm,
                    prec: Prec::D,
                },
                3 => Insn::Ld {
                    rd: rdp,
                    rs1: rs1p,
                    imm,
                },
                5 => Insn::FStore {
                    rs1: rs1p,
                    rs2: rdp,
                    imm,
                    prec: Prec::D,
                },
                _ => Insn::Sd {
                    rs1: rs1p,
                    rs2: rdp,
                    imm,
                },
            }
        }
        (0, 2) | (0, 6) => {
            let imm = (((h >> 10) & 7) << 3 | ((h >> 6) & 1) << 2 | ((h >> 5) & 1) << 6) as i32;
            if f3 == 2 {
                Insn::Lw {
                    rd: rdp,
                    rs1: rs1p,
                    imm,
                }
            } else {
                Insn::Sw {
                    rs1: rs1p,
                    rs2: rdp,
                    imm,
                }
            }
        }
        (1, 0) => Insn::Addi {
            rd: rd_full,
            rs1: rd_full,
            imm: imm6,
        },
        (1, 1) => {
            if rd_full == 0 {
                return Insn::Illegal;
            }
            Insn::Addiw {
                rd: rd_full,
                rs1: rd_full,
                imm: imm6,
            }
        }
        (1, 2) => Insn::Addi {
            rd: rd_full,
            rs1: 0,
            imm: imm6,
        },
        (1, 3) => {
            if rd_full == 2 {
                let v = bit(h, 12) << 9
                    | bit(h, 6) << 4
                    | bit(h, 5) << 6
                    | (((h >> 3) & 3) as u32) << 7
                    | bit(h, 2) << 5;
                let imm = sext(v, 10);
                if imm == 0 {
                    return Insn::Illegal;
                }
                Insn::Addi { rd: 2, rs1: 2, imm }
            } else {
                if imm6 == 0 {
                    return Insn::Illegal;
                }
                Insn::Lui {
                    rd: rd_full,
                    imm: imm6 << 12,
                }
            }
        }
        (1, 4) => {
            let shamt = ((bit(h, 12) << 5) | ((h >> 2) & 31) as u32) as i32;
            match (h >> 10) & 3 {
                0 => Insn::Srli {
                    rd: rs1p,
                    rs1: rs1p,
                    imm: shamt,
                },
                1 => Insn::Srai {
                    rd: rs1p,
                    rs1: rs1p,
                    imm: shamt,
                },
                2 => Insn::Andi {
                    rd: rs1p,
                    rs1: rs1p,
                    imm: imm6,
                },
                _ => {
                    let (rd, rs1, rs2) = (rs1p, rs1p, rdp);
                    match (bit(h, 12), (h >> 5) & 3) {
                        (0, 0) => Insn::Sub { rd, rs1, rs2 },
                        (0, 1) => Insn::Xor { rd, rs1, rs2 },
                        (0, 2) => Insn::Or { rd, rs1, rs2 },
                        (0, 3) => Insn::And { rd, rs1, rs2 },
                        (1, 0) => Insn::Subw { rd, rs1, rs2 },
                        (1, 1) => Insn::Addw { rd, rs1, rs2 },
                        _ => Insn::Illegal,
                    }
                }
            }
        }
        (1, 5) => {
            let v = bit(h, 12) << 11
                | bit(h, 11) << 4
                | (((h >> 9) & 3) as u32) << 8
                | bit(h, 8) << 10
                | bit(h, 7) << 6
                | bit(h, 6) << 7
                | (((h >> 3) & 7) as u32) << 1
                | bit(h, 2) << 5;
            Insn::Jal {
                rd: 0,
                imm: sext(v, 12),
            }
        }
        (1, 6) | (1, 7) => {
            let v = bit(h, 12) << 8
                | (((h >> 10) & 3) as u32) << 3
                | (((h >> 5) & 3) as u32) << 6
                | (((h >> 3) & 3) as u32) << 1
                | bit(h, 2) << 5;
            let op = if f3 == 6 { BranchOp::Eq } else { BranchOp::Ne };
            Insn::branch(op, rs1p, 0, sext(v, 9))
        }
        (2, 0) => {
            let shamt = ((bit(h, 12) << 5) | ((h >> 2) & 31) as u32) as i32;
            Insn::Slli {
                rd: rd_full,
                rs1: rd_full,
                imm: shamt,
            }
        }
        (2, 1) | (2, 3) => {
            let imm = (bit(h, 12) << 5
                | (((h >> 5) & 3) as u32) << 3
                | (((h >> 2) & 7) as u32) << 6) as i32;
            if f3 == 1 {
                Insn::FLoad {
                    rd: rd_full,
                    rs1: 2,
                    imm,
                    prec: Prec::D,
                }
            } else if rd_full == 0 {
                Insn::Illegal
            } else {
                Insn::Ld {
                    rd: rd_full,
                    rs1: 2,
                    imm,
                }
            }
        }
        (2, 2) => {
            let imm = (bit(h, 12) << 5
                | (((h >> 4) & 7) as u32) << 2
                | (((h >> 2) & 3) as u32) << 6) as i32;
            if rd_full == 0 {
                return Insn::Illegal;
            }
            Insn::Lw {
                rd: rd_full,
                rs1: 2,
                imm,
            }
        }
        (2, 4) => match (bit(h, 12), rd_full, rs2_full) {
            (0, 0, 0) => Insn::Illegal,
            (0, rs1, 0) => Insn::Jalr { rd: 0, rs1, imm: 0 },
            (0, rd, rs2) => Insn::Add { rd, rs1: 0, rs2 },
            (_, 0, 0) => Insn::Ebreak,
            (_, rs1, 0) => Insn::Jalr { rd: 1, rs1, imm: 0 },
            (_, rd, rs2) => Insn::Add { rd, rs1: rd, rs2 },
        },
        (2, 5) | (2, 7) => {
            let imm = ((((h >> 10) & 7) as u32) << 3 | (((h >> 7) & 7) as u32) << 6) as i32;
            if f3 == 5 {
                Insn::FStore {
                    rs1: 2,
                    rs2: rs2_full,
                    imm,
                    prec: Prec::D,
                }
            } else {
                Insn::Sd {
                    rs1: 2,
                    rs2: rs2_full,
                    imm,
                }
            }
        }
        (2, 6) => {
            let imm = ((((h >> 9) & 0xf) as u32) << 2 | (((h >> 7) & 3) as u32) << 6) as i32;
            Insn::Sw {
                rs1: 2,
                rs2: rs2_full,
                imm,
            }
        }
        _ => Insn::Illegal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Mnemonics of every form are checked against objdump in disasm.rs;
    // these check fields and the reserved encodings.

    #[test]
    fn immediates_of_each_format() {
        assert_eq!(
            decode(0xfff00513),
            Insn::Addi {
                rd: 10,
                rs1: 0,
                imm: -1
            }
        ); // I
        assert_eq!(
            decode(0xfea5bc23),
            Insn::Sd {
                rs1: 11,
                rs2: 10,
                imm: -8
            }
        ); // S
        assert_eq!(
            decode(0xfe050ee3),
            Insn::Beq {
                rs1: 10,
                rs2: 0,
                imm: -4
            }
        ); // B
        assert_eq!(decode(0xffdff06f), Insn::Jal { rd: 0, imm: -4 }); // J
        assert_eq!(decode(0xfffff537), Insn::Lui { rd: 10, imm: -4096 }); // U
        assert_eq!(
            decode(0x03f51513),
            Insn::Slli {
                rd: 10,
                rs1: 10,
                imm: 63
            }
        ); // 6-bit shamt
        assert_eq!(
            decode(0x4015d51b),
            Insn::Sraiw {
                rd: 10,
                rs1: 11,
                imm: 1
            }
        );
    }

    #[test]
    fn reserved_encodings_are_illegal() {
        assert_eq!(decode(0x0000), Insn::Illegal, "all-zero halfword");
        assert_eq!(
            decode(0x0001),
            Insn::Addi {
                rd: 0,
                rs1: 0,
                imm: 0
            },
            "c.nop"
        );
        assert_eq!(decode_c(0x6101), Insn::Illegal, "c.addi16sp with imm 0");
        assert_eq!(decode_c(0x6501), Insn::Illegal, "c.lui with imm 0");
        assert_eq!(decode_c(0x8002), Insn::Illegal, "c.jr x0");
        assert_eq!(decode_c(0x2001), Insn::Illegal, "c.addiw x0");
        assert_eq!(decode_c(0x4002), Insn::Illegal, "c.lwsp x0");
        assert_eq!(
            decode(0x0200_1013),
            Insn::Slli {
                rd: 0,
                rs1: 0,
                imm: 32
            },
            "shamt 32 is fine on RV64"
        );
        assert_eq!(
            decode(0x0400_1013),
            Insn::Illegal,
            "slli with imm[11:6] = 1"
        );
        assert_eq!(decode(0x0000_4073), Insn::Illegal, "SYSTEM funct3 = 4");
    }

    #[test]
    fn compressed_fields() {
        // c.addi4spn a0, sp, 1020
        assert_eq!(
            decode_c(0x1ff8),
            Insn::Addi {
                rd: 14,
                rs1: 2,
                imm: 1020
            }
        );
        // c.ldsp a0, 504(sp)
        assert_eq!(
            decode_c(0x757e),
            Insn::Ld {
                rd: 10,
                rs1: 2,
                imm: 504
            }
        );
        // c.sdsp a1, 504(sp)
        assert_eq!(
            decode_c(0xffae),
            Insn::Sd {
                rs1: 2,
                rs2: 11,
                imm: 504
            }
        );
        // c.j -2
        assert_eq!(decode_c(0xbffd), Insn::Jal { rd: 0, imm: -2 });
        // c.bnez a0, -2
        assert_eq!(
            decode_c(0xfd7d),
            Insn::Bne {
                rs1: 10,
                rs2: 0,
                imm: -2
            }
        );
        // c.srai a0, 2 (rd' = a0 = x10)
        assert_eq!(
            decode_c(0x8509),
            Insn::Srai {
                rd: 10,
                rs1: 10,
                imm: 2
            }
        );
    }

    #[test]
    fn fp_rounding_field_and_formats() {
        // fadd.d fa0, fa0, fa1, rtz
        assert_eq!(
            decode(0x02b51553),
            Insn::Fp {
                op: FOp::Add,
                prec: Prec::D,
                rd: 10,
                rs1: 10,
                rs2: 11,
                rm: 1
            }
        );
        // fmt = 2 (H/Q) is not implemented
        assert_eq!(decode(0x04b50553), Insn::Illegal);
    }

    #[test]
    fn bitmanip_fields_and_immediates() {
        assert_eq!(
            decode(0x20c5a533),
            Insn::Bit {
                op: BitOp::Sh1add,
                rd: 10,
                rs1: 11,
                rs2: 12
            }
        );
        assert_eq!(
            decode(0x0bf5951b),
            Insn::BitI {
                op: BitOp::SlliUw,
                rd: 10,
                rs1: 11,
                imm: 63
            }
        );
        assert_eq!(
            decode(0x63f5d513),
            Insn::BitI {
                op: BitOp::Ror,
                rd: 10,
                rs1: 11,
                imm: 63
            },
            "rori 63"
        );
        assert_eq!(
            decode(0x4bf5d513),
            Insn::BitI {
                op: BitOp::Bext,
                rd: 10,
                rs1: 11,
                imm: 63
            },
            "bexti 63"
        );
        assert_eq!(
            decode(0x60059513),
            Insn::BitI {
                op: BitOp::Clz,
                rd: 10,
                rs1: 11,
                imm: 0
            }
        );
        assert_eq!(
            decode(0x0ec5d533),
            Insn::Bit {
                op: BitOp::CzeroEqz,
                rd: 10,
                rs1: 11,
                rs2: 12
            }
        );
    }

    #[test]
    fn reserved_extension_encodings_are_illegal() {
        assert_eq!(
            decode(0x0815c53b),
            Insn::Illegal,
            "zext.h with rs2 != 0 (pack)"
        );
        assert_eq!(decode(0x6985d513), Insn::Illegal, "rev8's RV32 encoding");
        assert_eq!(decode(0x63f5d51b), Insn::Illegal, "roriw with shamt[5] set");
        assert_eq!(decode(0x60359513), Insn::Illegal, "OP-IMM unary 0x603");
        assert_eq!(decode(0x0045208f), Insn::Illegal, "cbo.zero with rd != 0");
        assert_eq!(decode(0x0035200f), Insn::Illegal, "cbo with funct12 3");
        assert_eq!(decode(0x00e00073), Insn::Illegal, "SYSTEM funct12 0x00e");
        assert_eq!(decode(0xe2158553), Insn::Illegal, "fmvh.x.d is RV32-only");
        assert_eq!(decode(0xb2c58553), Insn::Illegal, "fmvp.d.x is RV32-only");
        assert_eq!(
            decode(0xc2858553),
            Insn::Illegal,
            "fcvtmod.w.d with rm != rtz"
        );
        assert_eq!(decode(0xc0859553), Insn::Illegal, "fcvtmod on a single");
    }

    #[test]
    fn disabled_extensions_decode_as_illegal() {
        let none = IsaExtensions::NONE;
        let all = IsaExtensions::QEMU_DEFAULT;
        for (word, name) in [
            (0x20c5a533, "sh1add"),
            (0x60059513, "clz"),
            (0x0805c53b, "zext.h"),
            (0x0ac59533, "clmul"),
            (0x4bf5d513, "bexti"),
            (0x0045200f, "cbo.zero"),
            (0x0015200f, "cbo.clean"),
            (0x00d00073, "wrs.nto"),
            (0xf2180553, "fli.d"),
            (0x42459553, "fround.d"),
            (0xc2859553, "fcvtmod.w.d"),
            (0xa2c5c553, "fleq.d"),
        ] {
            assert_eq!(decode_for(word, &none), Insn::Illegal, "{name} with it off");
            assert_ne!(decode_for(word, &all), Insn::Illegal, "{name} with it on");
        }
        // Zicond is off in QEMU's default CPU.
        assert_eq!(decode_for(0x0ec5d533, &all), Insn::Illegal);
        let zicond = IsaExtensions {
            zicond: true,
            ..all
        };
        assert_ne!(decode_for(0x0ec5d533, &zicond), Insn::Illegal);
        // Each flag gates only its own extension.
        let only_zbb = IsaExtensions { zbb: true, ..none };
        assert_ne!(decode_for(0x60059513, &only_zbb), Insn::Illegal);
        assert_eq!(decode_for(0x20c5a533, &only_zbb), Insn::Illegal);
        // Hints are base-ISA encodings: legal with everything off.
        assert_ne!(decode_for(0x00500033, &none), Insn::Illegal, "ntl.all");
        assert_ne!(decode_for(0x0100000f, &none), Insn::Illegal, "pause");
    }
}
