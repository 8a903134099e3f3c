//! Results of the bit-manipulation (Zba, Zbb, Zbc, Zbs) and Zicond
//! operations: pure functions of the two operands (`b` is the register or
//! the immediate; unary operations ignore it).

use super::insn::BitOp;

/// Sign-extends a 32-bit result (the W forms).
#[inline(always)]
fn sext32(v: u32) -> u64 {
    v as i32 as i64 as u64
}

/// Carry-less product of `a` and `b` as a 128-bit value.
fn clmul128(a: u64, b: u64) -> u128 {
    let mut r = 0u128;
    let mut b = b;
    while b != 0 {
        let i = b.trailing_zeros();
        r ^= (a as u128) << i;
        b &= b - 1;
    }
    r
}

/// Each byte of `a` becomes 0xff if it is non-zero, else 0.
fn orc_b(a: u64) -> u64 {
    let mut r = 0;
    for i in 0..8 {
        if (a >> (i * 8)) & 0xff != 0 {
            r |= 0xff << (i * 8);
        }
    }
    r
}

#[inline]
pub(crate) fn bitop(op: BitOp, a: u64, b: u64) -> u64 {
    let uw = a as u32 as u64;
    let sh = b & 63;
    match op {
        BitOp::Sh1add => (a << 1).wrapping_add(b),
        BitOp::Sh2add => (a << 2).wrapping_add(b),
        BitOp::Sh3add => (a << 3).wrapping_add(b),
        BitOp::AddUw => uw.wrapping_add(b),
        BitOp::Sh1addUw => (uw << 1).wrapping_add(b),
        BitOp::Sh2addUw => (uw << 2).wrapping_add(b),
        BitOp::Sh3addUw => (uw << 3).wrapping_add(b),
        BitOp::SlliUw => uw << sh,
        BitOp::Andn => a & !b,
        BitOp::Orn => a | !b,
        BitOp::Xnor => !(a ^ b),
        BitOp::Clz => a.leading_zeros() as u64,
        BitOp::Ctz => a.trailing_zeros() as u64,
        BitOp::Cpop => a.count_ones() as u64,
        BitOp::Clzw => (a as u32).leading_zeros() as u64,
        BitOp::Ctzw => (a as u32).trailing_zeros() as u64,
        BitOp::Cpopw => (a as u32).count_ones() as u64,
        BitOp::Max => (a as i64).max(b as i64) as u64,
        BitOp::Maxu => a.max(b),
        BitOp::Min => (a as i64).min(b as i64) as u64,
        BitOp::Minu => a.min(b),
        BitOp::SextB => a as i8 as i64 as u64,
        BitOp::SextH => a as i16 as i64 as u64,
        BitOp::ZextH => a as u16 as u64,
        BitOp::Rol => a.rotate_left(sh as u32),
        BitOp::Ror => a.rotate_right(sh as u32),
        BitOp::Rolw => sext32((a as u32).rotate_left((b & 31) as u32)),
        BitOp::Rorw => sext32((a as u32).rotate_right((b & 31) as u32)),
        BitOp::OrcB => orc_b(a),
        BitOp::Rev8 => a.swap_bytes(),
        BitOp::Clmul => clmul128(a, b) as u64,
        BitOp::Clmulh => (clmul128(a, b) >> 64) as u64,
        BitOp::Clmulr => (clmul128(a, b) >> 63) as u64,
        BitOp::Bclr => a & !(1 << sh),
        BitOp::Bext => (a >> sh) & 1,
        BitOp::Binv => a ^ (1 << sh),
        BitOp::Bset => a | (1 << sh),
        BitOp::CzeroEqz => {
            if b == 0 {
                0
            } else {
                a
            }
        }
        BitOp::CzeroNez => {
            if b != 0 {
                0
            } else {
                a
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_zero_and_all_ones() {
        assert_eq!(bitop(BitOp::Clz, 0, 0), 64);
        assert_eq!(bitop(BitOp::Ctz, 0, 0), 64);
        assert_eq!(bitop(BitOp::Clzw, 0xffff_ffff_0000_0000, 0), 32);
        assert_eq!(bitop(BitOp::Ctzw, 0xffff_ffff_0000_0000, 0), 32);
        assert_eq!(bitop(BitOp::Cpop, u64::MAX, 0), 64);
        assert_eq!(bitop(BitOp::Cpopw, u64::MAX, 0), 32);
    }

    #[test]
    fn w_rotates_sign_extend() {
        assert_eq!(bitop(BitOp::Rorw, 1, 1), 0xffff_ffff_8000_0000);
        assert_eq!(bitop(BitOp::Rolw, 0x4000_0000, 1), 0xffff_ffff_8000_0000);
        assert_eq!(bitop(BitOp::Rolw, 1, 32), 1, "amount taken mod 32");
        assert_eq!(bitop(BitOp::Ror, 1, 64), 1, "amount taken mod 64");
    }

    #[test]
    fn carry_less_products() {
        assert_eq!(bitop(BitOp::Clmul, 3, 3), 5);
        assert_eq!(
            bitop(BitOp::Clmulh, u64::MAX, u64::MAX),
            0x5555_5555_5555_5555
        );
        assert_eq!(
            bitop(BitOp::Clmul, u64::MAX, u64::MAX),
            0x5555_5555_5555_5555
        );
        assert_eq!(bitop(BitOp::Clmulr, 1 << 63, 1 << 63), 1 << 63);
        assert_eq!(bitop(BitOp::Clmulh, 1 << 63, 2), 1);
    }

    #[test]
    fn orc_b_and_rev8() {
        assert_eq!(
            bitop(BitOp::OrcB, 0x0100_2000_0000_0003, 0),
            0xff00_ff00_0000_00ff
        );
        assert_eq!(
            bitop(BitOp::Rev8, 0x0102_0304_0506_0708, 0),
            0x0807_0605_0403_0201
        );
    }

    #[test]
    fn unsigned_word_forms() {
        assert_eq!(bitop(BitOp::AddUw, 0xffff_ffff_ffff_ffff, 1), 0x1_0000_0000);
        assert_eq!(
            bitop(BitOp::SlliUw, 0xffff_ffff_8000_0000, 32),
            0x8000_0000_0000_0000
        );
        assert_eq!(bitop(BitOp::Sh3addUw, 0x1_0000_0001, 0), 8);
    }
}
