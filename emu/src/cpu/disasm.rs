//! Disassembler (to do)
