//! Bare-metal programs made of random bodies: per body a prologue that
//! loads seeded x, f, fcsr and data-area values, the body, and an epilogue
//! that dumps the whole state to the UART as hex lines; at the end a
//! poweroff through the SiFive test device. A trap handler counts traps,
//! hashes (mcause, mtval, mepc) and steps over the trapping instruction.

use super::asm::*;
use super::gen::{fname, xname, BodyFix, Inst, DATA_BYTES};
use super::rng::Rng;

/// Where QEMU's `virt` RAM (and the program) starts.
pub const RAM_BASE: u64 = 0x8000_0000;
const UART: u32 = 0x1000_0000;
const SIFIVE_TEST: u32 = 0x10_0000;
const DATA_WORDS: usize = (DATA_BYTES / 8) as usize;

/// Words in one body's dump, see [`slot_name`].
pub const DUMP_WORDS: usize = 70 + DATA_WORDS;
/// Save area: 0 x30, 8 x29 (handler scratch), 16 trap count, 24 trap hash,
/// 32 hash multiplier, 40 last mcause, 48 last mtval, 64.. dump.
const DUMP: i32 = 64;
const SAVE_BYTES: usize = DUMP as usize + DUMP_WORDS * 8;
/// Seed table of one body: x1..x31, f0..f31, fcsr, data area.
const SEED_F: i32 = 31 * 8;
const SEED_FCSR: i32 = SEED_F + 32 * 8;
const SEED_MEM: i32 = SEED_FCSR + 8;
const SEED_BYTES: usize = SEED_MEM as usize + DATA_WORDS * 8;

/// What dump word `i` holds.
pub fn slot_name(i: usize) -> String {
    match i {
        0 => "body".into(),
        1..=31 => format!("x{i}/{}", xname(i as u32)),
        32..=63 => format!("f{}/{}", i - 32, fname(i as u32 - 32)),
        64 => "fcsr".into(),
        65 => "mstatus".into(),
        66 => "trap count".into(),
        67 => "trap hash(mcause,mtval,mepc)".into(),
        68 => "last mcause".into(),
        69 => "last mtval".into(),
        _ => format!("data+{:#x}", (i - 70) * 8),
    }
}

/// Initial state of one body.
#[derive(Debug, Clone)]
pub struct Seeds {
    pub x: [u64; 31],
    pub f: [u64; 32],
    pub fcsr: u64,
    pub mem: [u64; DATA_WORDS],
}

const INT_CORNERS: &[u64] = &[
    0,
    1,
    u64::MAX,
    2,
    0x8000_0000_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0xffff_ffff_8000_0000,
    0x1_0000_0000,
    31,
    32,
    63,
    64,
    0xff,
    0x80,
    0xffff,
    0x8000,
    0x5555_5555_5555_5555,
    0xaaaa_aaaa_aaaa_aaaa,
    0x0101_0101_0101_0101,
    0x8080_8080_8080_8080,
];

const F64_CORNERS: &[u64] = &[
    0,
    0x8000_0000_0000_0000, // -0
    0x3ff0_0000_0000_0000, // 1
    0xbff0_0000_0000_0000, // -1
    0x7ff0_0000_0000_0000, // inf
    0xfff0_0000_0000_0000, // -inf
    0x7ff8_0000_0000_0000, // canonical qNaN
    0x7ff0_0000_0000_0001, // sNaN
    0xfff4_dead_beef_0001, // -sNaN with payload
    0x7ffc_0000_1234_5678, // qNaN with payload
    0x0000_0000_0000_0001, // smallest subnormal
    0x000f_ffff_ffff_ffff, // largest subnormal
    0x0010_0000_0000_0000, // smallest normal
    0x7fef_ffff_ffff_ffff, // largest finite
    0x3fe0_0000_0000_0000, // 0.5
    0x3ff8_0000_0000_0000, // 1.5
    0x4004_0000_0000_0000, // 2.5
    0xc004_0000_0000_0000, // -2.5
    0x41e0_0000_0000_0000, // 2^31
    0xc1e0_0000_0000_0000, // -2^31
    0x41df_ffff_ffc0_0000, // 2^31 - 1
    0x43e0_0000_0000_0000, // 2^63
    0xc3e0_0000_0000_0000, // -2^63
    0x43f0_0000_0000_0000, // 2^64
    0x41ef_ffff_ffff_0000, // 2^32 - 0.5
    0xc1f0_0000_0000_0000, // -2^32
    0x4330_0000_0000_0001, // 2^52 + 1
];

const F32_CORNERS: &[u32] = &[
    0,
    0x8000_0000,
    0x3f80_0000,
    0xbf80_0000,
    0x7f80_0000,
    0xff80_0000,
    0x7fc0_0000,
    0x7f80_0001,
    0xffa0_beef,
    0x7fc1_2345,
    0x0000_0001,
    0x007f_ffff,
    0x0080_0000,
    0x7f7f_ffff,
    0x3f00_0000,
    0x3fc0_0000,
    0x4020_0000,
    0xc020_0000,
    0x4f00_0000,
    0xcf00_0000,
    0x5f00_0000,
    0xdf00_0000,
    0x5f80_0000,
    0x4b00_0001,
];

fn int_value(r: &mut Rng) -> u64 {
    match r.below(10) {
        0..=4 => *r.pick(INT_CORNERS),
        5 => (r.next() as i32) as u64,
        6 => r.below(64),
        7 => r.next() ^ 1 << 63,
        _ => r.next(),
    }
}

fn fp_value(r: &mut Rng) -> u64 {
    let boxed = |v: u32| 0xffff_ffff_0000_0000 | v as u64;
    match r.below(12) {
        0..=3 => *r.pick(F64_CORNERS),
        4..=6 => boxed(*r.pick(F32_CORNERS)),
        // A single not properly NaN-boxed: reads as the canonical NaN.
        7 => (r.next() & 0xffff_fffe_0000_0000) | *r.pick(F32_CORNERS) as u64,
        8 => boxed(r.next() as u32),
        9 => (r.next() >> 2) | 0x3000_0000_0000_0000,
        _ => r.next(),
    }
}

impl Seeds {
    pub fn random(r: &mut Rng) -> Seeds {
        let mut s = Seeds {
            x: [0; 31],
            f: [0; 32],
            fcsr: 0,
            mem: [0; DATA_WORDS],
        };
        for v in s.x.iter_mut() {
            *v = int_value(r);
        }
        for v in s.f.iter_mut() {
            *v = fp_value(r);
        }
        // frm 0..4 mostly; 5..7 are reserved (dynamic-rm instructions trap).
        let frm = if r.chance(8) {
            5 + r.below(3)
        } else {
            r.below(5)
        };
        s.fcsr = frm << 5 | r.below(32);
        for v in s.mem.iter_mut() {
            *v = if r.chance(2) {
                int_value(r)
            } else {
                fp_value(r)
            };
        }
        s
    }
}

/// One test program: initial state and body.
#[derive(Debug, Clone)]
pub struct Case {
    pub seeds: Seeds,
    pub body: Vec<Inst>,
}

impl Case {
    /// The same case with only the first `n` body instructions (jumps past
    /// the end land on the epilogue).
    pub fn prefix(&self, n: usize) -> Case {
        Case {
            seeds: self.seeds.clone(),
            body: self.body[..n].to_vec(),
        }
    }
}

/// The ELF file of a program that runs `cases` one after the other.
pub fn build(cases: &[Case]) -> Vec<u8> {
    let mut a = Asm::new(RAM_BASE);
    let handler = a.label();
    let print = a.label();
    let save = a.label();
    let data = a.label();
    let seed_labels: Vec<Label> = cases.iter().map(|_| a.label()).collect();
    let (t0, t1, t2, t3, t4, t5, a0, a1, ra) = (5, 6, 7, 28, 29, 30, 10, 11, 1);

    a.la(t0, handler, 0);
    a.emit(csrrw(0, CSR_MTVEC, t0));
    a.la(t0, save, 0);
    a.emit(csrrw(0, CSR_MSCRATCH, t0));
    a.emit(lui(t0, 6)); // mstatus.FS = dirty
    a.emit(csrrs(0, CSR_MSTATUS, t0));

    for (k, case) in cases.iter().enumerate() {
        // Prologue: data area, trap record, f, fcsr, x.
        a.la(31, seed_labels[k], 0);
        a.la(2, data, 0);
        a.emit(addi(3, 31, SEED_MEM));
        a.emit(addi(4, 0, DATA_WORDS as i32));
        copy_loop(&mut a, 3, 2, 4, 1);
        a.la(2, save, 0);
        for off in [16, 24, 40, 48] {
            a.emit(sd(2, 0, off));
        }
        for i in 0..32 {
            a.emit(fld(i, 31, SEED_F + 8 * i as i32));
        }
        a.emit(ld(1, 31, SEED_FCSR));
        a.emit(csrrw(0, CSR_FCSR, 1));
        for i in 1..=31 {
            a.emit(ld(i, 31, 8 * (i as i32 - 1)));
        }

        // Body.
        let n = case.body.len();
        let body_labels: Vec<Label> = (0..=n).map(|_| a.label()).collect();
        for (i, inst) in case.body.iter().enumerate() {
            a.bind(body_labels[i]);
            let to = |t: usize| body_labels[t.min(n)];
            let fix = match inst.fix {
                BodyFix::None => Fix::None,
                BodyFix::Branch(t) => Fix::Branch(to(t)),
                BodyFix::Jal(t) => Fix::Jal(to(t)),
                BodyFix::CJ(t) => Fix::CJ(to(t)),
                BodyFix::CB(t) => Fix::CB(to(t)),
                BodyFix::DataHi(off) => Fix::Hi(data, off),
                BodyFix::DataLo(off) => Fix::Lo(data, off),
                BodyFix::CodeHi(t) => Fix::Hi(to(t), 0),
                BodyFix::CodeLo(t) => Fix::Lo(to(t), 0),
            };
            a.emit_fixed(inst.bits, inst.len, fix);
        }
        a.bind(body_labels[n]);

        // Epilogue: x31 = save area (the body's x31 parks in mscratch).
        a.emit(csrrw(31, CSR_MSCRATCH, 31));
        for i in 1..=30 {
            a.emit(sd(31, i, DUMP + 8 * i as i32));
        }
        a.emit(csrrw(30, CSR_MSCRATCH, 31));
        a.emit(sd(31, 30, DUMP + 8 * 31));
        for i in 0..32 {
            a.emit(fsd(31, i, DUMP + 8 * (32 + i as i32)));
        }
        a.emit(csrrs(30, CSR_FCSR, 0));
        a.emit(sd(31, 30, DUMP + 8 * 64));
        a.emit(csrrs(30, CSR_MSTATUS, 0));
        a.emit(sd(31, 30, DUMP + 8 * 65));
        for (from, slot) in [(16, 66), (24, 67), (40, 68), (48, 69)] {
            a.emit(ld(30, 31, from));
            a.emit(sd(31, 30, DUMP + 8 * slot));
        }
        a.li(30, k as i32);
        a.emit(sd(31, 30, DUMP));
        a.la(29, data, 0);
        a.emit(addi(28, 31, DUMP + 8 * 70));
        a.emit(addi(27, 0, DATA_WORDS as i32));
        copy_loop(&mut a, 29, 28, 27, 26);
        a.emit(addi(a0, 31, DUMP));
        a.emit(addi(a1, 0, DUMP_WORDS as i32));
        a.emit_fixed(ra << 7 | 0x6f, 4, Fix::Jal(print));
    }
    // Power off.
    a.emit(lui(t0, SIFIVE_TEST >> 12));
    a.li(t1, 0x5555);
    a.emit(sw(t0, t1, 0));
    let spin = a.here();
    a.emit_fixed(0x6f, 4, Fix::Jal(spin));

    // Trap handler: count, hash, step over the instruction.
    while !a.pc().is_multiple_of(4) {
        a.emit_fixed(0x0001, 2, Fix::None);
    }
    a.bind(handler);
    let (h1, h2) = (30, 29);
    a.emit(csrrw(31, CSR_MSCRATCH, 31));
    a.emit(sd(31, h1, 0));
    a.emit(sd(31, h2, 8));
    a.emit(ld(h1, 31, 16));
    a.emit(addi(h1, h1, 1));
    a.emit(sd(31, h1, 16));
    a.emit(ld(h1, 31, 24));
    for (csr, keep) in [
        (CSR_MCAUSE, Some(40)),
        (CSR_MTVAL, Some(48)),
        (CSR_MEPC, None),
    ] {
        a.emit(csrrs(h2, csr, 0));
        if let Some(off) = keep {
            a.emit(sd(31, h2, off));
        }
        a.emit(xor(h1, h1, h2));
        a.emit(ld(h2, 31, 32));
        a.emit(mul(h1, h1, h2));
    }
    a.emit(sd(31, h1, 24));
    a.emit(csrrs(h1, CSR_MEPC, 0));
    a.emit(lhu(h2, h1, 0));
    a.emit(andi(h2, h2, 3));
    a.emit(addi(h2, h2, -3));
    let two = a.label();
    let done = a.label();
    a.emit_fixed(b_type(1, h2, 0, 0), 4, Fix::Branch(two));
    a.emit(addi(h1, h1, 4));
    a.emit_fixed(0x6f, 4, Fix::Jal(done));
    a.bind(two);
    a.emit(addi(h1, h1, 2));
    a.bind(done);
    a.emit(csrrw(0, CSR_MEPC, h1));
    a.emit(ld(h1, 31, 0));
    a.emit(ld(h2, 31, 8));
    a.emit(csrrw(31, CSR_MSCRATCH, 31));
    a.emit(MRET);

    // print(a0 = words, a1 = count): 16 hex digits and a newline per word.
    a.bind(print);
    a.emit(lui(t3, UART >> 12));
    let word = a.here();
    a.emit(ld(t0, a0, 0));
    a.emit(addi(t1, 0, 60));
    let digit = a.here();
    a.emit(srl(t2, t0, t1));
    a.emit(andi(t2, t2, 15));
    a.emit(slti(t5, t2, 10));
    a.emit(addi(t2, t2, 48));
    let put = a.label();
    a.emit_fixed(b_type(1, t5, 0, 0), 4, Fix::Branch(put));
    a.emit(addi(t2, t2, 39));
    a.bind(put);
    putc(&mut a, t3, t4, t2);
    a.emit(addi(t1, t1, -4));
    a.emit_fixed(b_type(5, t1, 0, 0), 4, Fix::Branch(digit));
    a.emit(addi(t2, 0, 10));
    putc(&mut a, t3, t4, t2);
    a.emit(addi(a0, a0, 8));
    a.emit(addi(a1, a1, -1));
    a.emit_fixed(b_type(1, a1, 0, 0), 4, Fix::Branch(word));
    a.emit(i_type(OP_JALR, 0, 0, ra, 0));

    // Data: save area, data area, seed tables.
    let mut image_tail: Vec<u8> = Vec::new();
    let align = |pc: u64, tail: &mut Vec<u8>, to: u64| {
        while !(pc + tail.len() as u64).is_multiple_of(to) {
            tail.push(0);
        }
    };
    let code_end = a.pc();
    align(code_end, &mut image_tail, 64);
    a.bind_at(save, code_end + image_tail.len() as u64);
    let mut save_area = vec![0u8; SAVE_BYTES];
    save_area[32..40].copy_from_slice(&0x0000_0100_0000_01b3u64.to_le_bytes());
    image_tail.extend_from_slice(&save_area);
    align(code_end, &mut image_tail, 64);
    a.bind_at(data, code_end + image_tail.len() as u64);
    image_tail.extend_from_slice(&[0u8; DATA_BYTES as usize]);
    for (k, case) in cases.iter().enumerate() {
        a.bind_at(seed_labels[k], code_end + image_tail.len() as u64);
        let s = &case.seeds;
        let start = image_tail.len();
        for v in
            s.x.iter()
                .chain(s.f.iter())
                .chain([&s.fcsr])
                .chain(s.mem.iter())
        {
            image_tail.extend_from_slice(&v.to_le_bytes());
        }
        debug_assert_eq!(image_tail.len() - start, SEED_BYTES);
    }
    let mut image = a.finish();
    image.extend_from_slice(&image_tail);
    elf(&image, RAM_BASE, RAM_BASE)
}

/// Copies `count` (register, non-zero) words from `src` to `dst`, using `tmp`.
fn copy_loop(a: &mut Asm, src: Reg, dst: Reg, count: Reg, tmp: Reg) {
    let top = a.here();
    a.emit(ld(tmp, src, 0));
    a.emit(sd(dst, tmp, 0));
    a.emit(addi(src, src, 8));
    a.emit(addi(dst, dst, 8));
    a.emit(addi(count, count, -1));
    a.emit_fixed(b_type(1, count, 0, 0), 4, Fix::Branch(top));
}

/// Waits for the UART's transmitter to be empty, then sends `ch`.
fn putc(a: &mut Asm, uart: Reg, tmp: Reg, ch: Reg) {
    let wait = a.here();
    a.emit(lbu(tmp, uart, 5));
    a.emit(andi(tmp, tmp, 0x20));
    a.emit_fixed(b_type(0, tmp, 0, 0), 4, Fix::Branch(wait));
    a.emit(sb(uart, ch, 0));
}
