use super::*;

const S_ONE: u64 = 0x3f80_0000;
const D_ONE: u64 = 0x3ff0_0000_0000_0000;
const D_INF: u64 = 0x7ff0_0000_0000_0000;
const D_SNAN: u64 = 0x7ff0_0000_0000_0001;
const D_QNAN: u64 = 0x7ff8_0000_0000_1234;

#[test]
fn fclass_all_classes() {
    let s = classify::<F32>;
    assert_eq!(s(0xff80_0000), 1 << 0);
    assert_eq!(s(0xbf80_0000), 1 << 1);
    assert_eq!(s(0x8000_0001), 1 << 2);
    assert_eq!(s(0x8000_0000), 1 << 3);
    assert_eq!(s(0x0000_0000), 1 << 4);
    assert_eq!(s(0x0000_0001), 1 << 5);
    assert_eq!(s(S_ONE), 1 << 6);
    assert_eq!(s(0x7f80_0000), 1 << 7);
    assert_eq!(s(0x7f80_0001), 1 << 8);
    assert_eq!(s(0x7fc0_0000), 1 << 9);
    assert_eq!(classify::<F64>(F64::CANONICAL_NAN), 1 << 9);
    assert_eq!(classify::<F64>(D_SNAN), 1 << 8);
}

#[test]
fn division_by_zero_and_invalid() {
    assert_eq!(binary::<F64>(BinOp::Div, D_ONE, 0, Rm::Rne), (D_INF, DZ));
    assert_eq!(binary::<F64>(BinOp::Div, D_ONE, 0, Rm::Rne), (D_INF, DZ));
    assert_eq!(
        binary::<F32>(BinOp::Div, 0, 0, Rm::Rne),
        (F32::CANONICAL_NAN, NV)
    );
    let neg_inf = D_INF | F64::SIGN;
    assert_eq!(
        binary::<F64>(BinOp::Add, D_INF, neg_inf, Rm::Rne),
        (F64::CANONICAL_NAN, NV)
    );
}

#[test]
fn nan_operands_give_the_canonical_nan() {
    assert_eq!(
        binary::<F64>(BinOp::Add, D_QNAN, D_ONE, Rm::Rne),
        (F64::CANONICAL_NAN, 0)
    );
    assert_eq!(
        binary::<F64>(BinOp::Mul, D_ONE, D_SNAN, Rm::Rtz),
        (F64::CANONICAL_NAN, NV)
    );
    assert_eq!(sqrt::<F64>(D_SNAN, Rm::Rne), (F64::CANONICAL_NAN, NV));
    assert_eq!(f64_to_f32(D_QNAN, Rm::Rne), (F32::CANONICAL_NAN, 0));
    assert_eq!(f32_to_f64(0x7f80_0001), (F64::CANONICAL_NAN, NV));
}

#[test]
fn fma_inf_times_zero_is_invalid_even_with_a_quiet_nan_addend() {
    assert_eq!(
        mul_add::<F64>(D_INF, 0, D_QNAN, Rm::Rne, true),
        (F64::CANONICAL_NAN, NV)
    );
    assert_eq!(
        mul_add::<F64>(D_ONE, 0, D_QNAN, Rm::Rne, true),
        (F64::CANONICAL_NAN, 0)
    );
}

#[test]
fn underflow_is_detected_after_rounding() {
    // (1 - 2^-24) * 2^-126 = 2^-126 - 2^-150: representable in 24 bits with
    // an unbounded exponent, so tiny after rounding (UF); on the subnormal
    // grid it rounds up to 2^-126, where apfloat alone would not say UF.
    let below_one = 0x3f7f_ffff; // 1 - 2^-24
    let (r, flags) = binary::<F32>(BinOp::Mul, below_one, F32::MIN_NORMAL, Rm::Rne);
    assert_eq!(r, F32::MIN_NORMAL, "rounds up to the smallest normal");
    assert_eq!(flags, UF | NX);
    // 2^-126 * (1 - 2^-25) is half an ulp below 2^-126 in 24-bit precision:
    // ties-to-even gives 2^-126 even with an unbounded exponent, not tiny.
    let c = (1.0 - 2f64.powi(-25)) * 2f64.powi(-126);
    let (r, flags) = f64_to_f32(c.to_bits(), Rm::Rne);
    assert_eq!(r, F32::MIN_NORMAL);
    assert_eq!(flags, NX);
}

#[test]
fn overflow_is_reported_in_every_rounding_mode() {
    let max = 0x7f7f_ffff;
    let two = 0x4000_0000;
    assert_eq!(
        binary::<F32>(BinOp::Mul, max, two, Rm::Rne),
        (0x7f80_0000, OF | NX)
    );
    assert_eq!(binary::<F32>(BinOp::Mul, max, two, Rm::Rtz), (max, OF | NX));
    let neg_max = max | F32::SIGN;
    assert_eq!(
        binary::<F32>(BinOp::Mul, neg_max, two, Rm::Rup),
        (neg_max, OF | NX)
    );
    // Rounding down to the largest finite number without overflowing.
    let below = 0x3f7f_ffff; // 1 - 2^-24
    let one_plus = 0x3f80_0001; // 1 + 2^-23
    assert_eq!(
        binary::<F32>(BinOp::Mul, max, one_plus, Rm::Rtz),
        (max, OF | NX)
    );
    assert_eq!(
        binary::<F32>(BinOp::Mul, max, below, Rm::Rtz),
        (0x7f7f_fffe, NX)
    );
    assert_eq!(
        binary::<F32>(BinOp::Add, max, 0x3f80_0000, Rm::Rtz),
        (max, NX)
    );
}

#[test]
fn square_roots_are_exactly_rounded() {
    let sq = |x: f64, rm| sqrt::<F64>(x.to_bits(), rm);
    assert_eq!(sq(4.0, Rm::Rne), (2f64.to_bits(), 0));
    assert_eq!(sq(2.0, Rm::Rne), (2f64.sqrt().to_bits(), NX));
    // The nearest double to sqrt(2) lies above it.
    assert_eq!(sq(2.0, Rm::Rup).0, 2f64.sqrt().to_bits());
    assert_eq!(sq(2.0, Rm::Rtz).0, 2f64.sqrt().to_bits() - 1);
    assert_eq!(sq(2.0, Rm::Rdn).0, 2f64.sqrt().to_bits() - 1);
    assert_eq!(sq(-0.0, Rm::Rne), ((-0.0f64).to_bits(), 0));
    assert_eq!(sq(-1.0, Rm::Rne), (F64::CANONICAL_NAN, NV));
    let tiny = f64::from_bits(1); // 2^-1074
    assert_eq!(sq(tiny, Rm::Rne), (2f64.powi(-537).to_bits(), 0));
    let s = sqrt::<F32>(2f32.to_bits() as u64, Rm::Rne);
    assert_eq!(s, (2f32.sqrt().to_bits() as u64, NX));
}

#[test]
fn conversions_saturate_with_invalid_and_no_inexact() {
    let d = |x: f64| x.to_bits();
    assert_eq!(to_int::<F64>(d(-1.5), IntKind::U32, Rm::Rtz), (0, NV));
    assert_eq!(to_int::<F64>(d(-0.5), IntKind::U32, Rm::Rtz), (0, NX));
    assert_eq!(
        to_int::<F64>(d(3e9), IntKind::I32, Rm::Rne),
        (i32::MAX as u64, NV)
    );
    assert_eq!(
        to_int::<F64>(d(-3e9), IntKind::I32, Rm::Rne),
        (0x8000_0000, NV)
    );
    assert_eq!(to_int::<F64>(d(2.5), IntKind::I64, Rm::Rne), (2, NX));
    assert_eq!(to_int::<F64>(d(2.5), IntKind::I64, Rm::Rmm), (3, NX));
    assert_eq!(
        to_int::<F64>(F64::CANONICAL_NAN, IntKind::I64, Rm::Rne),
        (i64::MAX as u64, NV)
    );
    assert_eq!(
        to_int::<F64>(D_INF | F64::SIGN, IntKind::U64, Rm::Rne),
        (0, NV)
    );
    assert_eq!(
        to_int::<F64>(d(-2147483648.9), IntKind::I32, Rm::Rtz),
        (0x8000_0000, NX)
    );
    assert_eq!(
        from_int::<F32>(16_777_217, Rm::Rne),
        (16_777_216f32.to_bits() as u64, NX)
    );
    assert_eq!(from_int::<F64>(-3, Rm::Rne), ((-3f64).to_bits(), 0));
}

#[test]
fn min_max_and_compares() {
    let neg0 = F64::SIGN;
    assert_eq!(min_max::<F64>(false, neg0, 0), (neg0, 0));
    assert_eq!(min_max::<F64>(true, neg0, 0), (0, 0));
    assert_eq!(min_max::<F64>(false, D_SNAN, D_ONE), (D_ONE, NV));
    assert_eq!(
        min_max::<F64>(true, D_QNAN, D_QNAN),
        (F64::CANONICAL_NAN, 0)
    );
    assert_eq!(compare::<F64>(Compare::Eq, D_QNAN, D_ONE), (0, 0));
    assert_eq!(compare::<F64>(Compare::Lt, D_QNAN, D_ONE), (0, NV));
    assert_eq!(compare::<F64>(Compare::Le, neg0, 0), (1, 0));
}

/// A small deterministic generator (xorshift) for the property tests.
struct Gen(u64);
impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Mostly ordinary values, sometimes near the ends of the range.
    fn f64(&mut self) -> u64 {
        let v = self.next();
        match v % 8 {
            0 => v & !F64::EXP_MASK | (0x001 << 52), // just above the smallest normal
            1 => v & !F64::EXP_MASK | (0x7fe << 52), // near the largest
            _ => v & !(0x7c0 << 52) | (0x3e0 << 52), // around 1
        }
    }
    fn f32(&mut self) -> u64 {
        let v = self.next() & 0xffff_ffff;
        match v % 8 {
            0 => v & !F32::EXP_MASK | (0x01 << 23),
            1 => v & !F32::EXP_MASK | (0xfe << 23),
            _ => v & !(0x70 << 23) | (0x38 << 23),
        }
    }
}

/// The host fast path must give the exact path's bits and flags whenever it
/// answers, in every rounding mode.
#[test]
fn host_path_agrees_with_the_exact_path() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let modes = [Rm::Rne, Rm::Rtz, Rm::Rdn, Rm::Rup, Rm::Rmm];
    let (mut answered, mut fused) = (0, 0);
    for i in 0..100_000 {
        let double = i % 2 == 0;
        let rm = modes[i / 2 % 5];
        let (a, b, c) = if double {
            (g.f64(), g.f64(), g.f64())
        } else {
            (g.f32(), g.f32(), g.f32())
        };
        for op in [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div] {
            let (fast, exact) = if double {
                (
                    host::binary::<F64>(op, a, b, rm),
                    exact::binary::<F64>(op, a, b, rm),
                )
            } else {
                (
                    host::binary::<F32>(op, a, b, rm),
                    exact::binary::<F32>(op, a, b, rm),
                )
            };
            if let Some(r) = fast {
                assert_eq!(r, exact, "{op:?} {a:#x} {b:#x} {rm:?}");
                answered += 1;
            }
        }
        let (fast, exact) = if double {
            (host::sqrt::<F64>(a, rm), exact::sqrt::<F64>(a, rm))
        } else {
            (host::sqrt::<F32>(a, rm), exact::sqrt::<F32>(a, rm))
        };
        if let Some(r) = fast {
            assert_eq!(r, exact, "sqrt {a:#x} {rm:?}");
        }
        // Fused: arbitrary operands, then a dot-product step (the addend
        // close to the result, where the host path answers most).
        for step in 0..2 {
            let c = match (step, double) {
                (0, _) => c,
                (_, true) => exact::mul_add::<F64>(a, b, g.f64(), Rm::Rne).0,
                (_, false) => exact::mul_add::<F32>(a, b, g.f32(), Rm::Rne).0,
            };
            let (fast, exact) = if double {
                (
                    host::mul_add::<F64>(a, b, c, rm, false),
                    exact::mul_add::<F64>(a, b, c, rm),
                )
            } else {
                (
                    host::mul_add::<F32>(a, b, c, rm, false),
                    exact::mul_add::<F32>(a, b, c, rm),
                )
            };
            if let Some(r) = fast {
                assert_eq!(r, exact, "fma {a:#x} {b:#x} {c:#x} {rm:?}");
                fused += 1;
            }
        }
    }
    assert!(
        fused > 20_000,
        "the host path answered only {fused} fused operations"
    );
    assert!(
        answered > 200_000,
        "the host path answered only {answered} times"
    );
}

/// The host conversions must agree with apfloat's in every mode, for
/// values around every integer boundary.
#[test]
fn host_conversions_agree_with_the_exact_path() {
    let mut g = Gen(0x2545_f491_4f6c_dd1d);
    let modes = [Rm::Rne, Rm::Rtz, Rm::Rdn, Rm::Rup, Rm::Rmm];
    let kinds = [IntKind::I32, IntKind::U32, IntKind::I64, IntKind::U64];
    let edges: [f64; 9] = [
        0.0,
        0.5,
        1.0,
        1.5,
        2.5,
        2147483647.5,
        2147483648.0,
        4294967295.5,
        4294967296.0,
    ];
    for i in 0..100_000u64 {
        let rm = modes[(i % 5) as usize];
        let kind = kinds[(i / 5 % 4) as usize];
        let d = if i % 3 == 0 {
            let sign: f64 = if g.next().is_multiple_of(2) {
                1.0
            } else {
                -1.0
            };
            let e = edges[(g.next() % edges.len() as u64) as usize] * sign;
            f64::from_bits(e.to_bits().wrapping_add(g.next() % 5).wrapping_sub(2))
        } else {
            f64::from_bits(g.f64())
        };
        let bits = d.to_bits();
        if d.is_nan() {
            continue; // the caller's case
        }
        assert_eq!(
            host::to_int::<F64>(bits, kind, rm),
            exact::to_int::<F64>(bits, kind, rm),
            "{d} {kind:?} {rm:?}"
        );
        let s = g.f32();
        if is_nan::<F32>(s) {
            continue;
        }
        assert_eq!(
            host::to_int::<F32>(s, kind, rm),
            exact::to_int::<F32>(s, kind, rm),
            "{s:#x} {kind:?} {rm:?}"
        );
        let v = (g.next() >> (g.next() % 64)) as i64 as i128;
        if let Some(r) = host::from_int::<F64>(v) {
            assert_eq!((r, 0), exact::from_int::<F64>(v, rm));
        }
        if let Some(r) = host::from_int::<F32>(v) {
            assert_eq!((r, 0), exact::from_int::<F32>(v, rm));
        }
    }
}
