//! The RISC-V hart: decoder, executor, CSRs, traps, MMU, floating point.
