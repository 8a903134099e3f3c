//! Differential testing of emu's hart against QEMU 10's: random bare-metal
//! programs ([`gen`], [`prog`]) run on both ([`run`]), dumps compared, a
//! difference shrunk to its first instruction. See docs/differential-testing.md.

#![allow(dead_code)]

pub mod asm;
pub mod gen;
pub mod prog;
pub mod rng;
pub mod run;
