//! x86-64 code for one decoded block (see the module above for what is
//! inline and what calls back). Registers: rbx = `Hart::x`, r12 = the
//! `JitCtx`; rax, rcx, rdx, rsi, rdi are scratch. The function keeps the
//! System V ABI: rbx, r12 and r13 (pushed for alignment) are saved.

use dynasmrt::x64::X64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

use super::{
    Helpers, CTX_BASE, CTX_BLOCK_PC, CTX_END, CTX_FIRST, CTX_LINK, CTX_N, CTX_RAM, CTX_TARGET,
    CTX_TLB_READ, CTX_TLB_WRITE, EXIT_JUMP,
};
use crate::cpu::block::Slot;
use crate::cpu::insn::{Insn, Reg};
use crate::cpu::mmu::tlb;

type Asm = VecAssembler<X64Relocation>;

/// Displacement of guest register `r` from rbx.
fn x(r: Reg) -> i32 {
    r as i32 * 8
}

/// Out-of-line code, emitted after the block's body.
enum Stub {
    /// Conditional branch `k` taken to `block_pc + disp`.
    Taken {
        k: usize,
        at: DynamicLabel,
        disp: i64,
    },
    /// The block's last slot `k` branches back to the block's start: run
    /// the body again while a whole round fits in the budget.
    Loop { k: usize, at: DynamicLabel },
    /// Memory access `k` missed the TLB: the interpreter does it, then the
    /// block goes on at `resume`.
    Miss {
        k: usize,
        at: DynamicLabel,
        resume: DynamicLabel,
    },
}

/// Where a block sits, for the code that needs it.
pub(super) struct Placement {
    /// Address the code will run at.
    pub addr: usize,
    /// Byte offset of the block's first instruction in its page.
    pub page_off: u64,
    /// Arena index of the block's first slot in its page's slots.
    pub first: u32,
}

/// A block's machine code and the offset of its chained entry (where
/// another block of the same page jumps in, see [`chain_entry`]).
pub(super) struct Assembled {
    pub bytes: Vec<u8>,
    pub chain_offset: usize,
}

/// Assembles `slots` (one block) placed at `at`; `None` if the assembler
/// fails (nothing here should make it).
pub(super) fn block(slots: &[Slot], h: &Helpers, at: &Placement) -> Option<Assembled> {
    let mut a = Asm::new(at.addr);
    let epilogue = a.new_dynamic_label();
    let body = a.new_dynamic_label();
    let chain = a.new_dynamic_label();
    let mut stubs = Vec::new();
    dynasm!(a
        ; .arch x64
        ; push rbx
        ; push r12
        ; push r13
        ; mov r12, rdi
        ; mov rbx, QWORD [rdi + super::CTX_X]
        ; jmp =>body
        ; =>chain
    );
    chain_entry(&mut a, slots.len(), at.first, body, epilogue);
    dynasm!(a ; =>body);
    let n = slots.len();
    let frame = BlockFrame {
        n,
        page_off: at.page_off,
        helpers: h,
        epilogue,
    };
    for (k, s) in slots.iter().enumerate() {
        slot(&mut a, k, s, &frame, &mut stubs);
    }
    // Fell off the end: go on after the last slot.
    let last = &slots[n - 1];
    let end_off = last.off as i64 + last.len as i64;
    if at.page_off as i64 + end_off < PAGE as i64 {
        pc_plus(&mut a, end_off);
        jump_exit(&mut a, n - 1, epilogue, true);
    } else {
        dynasm!(a ; mov eax, n as i32);
    }
    dynasm!(a
        ; =>epilogue
        ; pop r13
        ; pop r12
        ; pop rbx
        ; ret
    );
    for stub in stubs {
        match stub {
            Stub::Taken { k, at: label, disp } => {
                dynasm!(a ; =>label);
                pc_plus(&mut a, disp);
                let inside = (0..PAGE as i64).contains(&(at.page_off as i64 + disp));
                jump_exit(&mut a, k, epilogue, inside);
            }
            Stub::Loop { k, at: label } => {
                dynasm!(a
                    ; =>label
                    ; mov rax, QWORD [r12 + CTX_BASE]
                    ; add rax, 2 * n as i32
                    ; cmp rax, QWORD [r12 + CTX_END]
                    ; ja >last
                    ; add QWORD [r12 + CTX_BASE], n as i32
                    ; jmp =>body
                    ; last:
                );
                pc_plus(&mut a, 0);
                jump_exit(&mut a, k, epilogue, false);
            }
            Stub::Miss {
                k,
                at: label,
                resume,
            } => {
                dynasm!(a ; =>label);
                call_exec(&mut a, k, h, epilogue);
                dynasm!(a ; jmp =>resume);
            }
        }
    }
    let chain_offset = a.labels().resolve_dynamic(chain).ok()?.0;
    Some(Assembled {
        bytes: a.finalize().ok()?,
        chain_offset,
    })
}

const PAGE: u64 = crate::bus::PAGE_SIZE;

/// The entry another block of the page jumps to (rax = this block's pc,
/// rdx = instructions the other block retired): it takes over the run if
/// this whole block fits in the budget, else leaves as the other block
/// would have.
fn chain_entry(a: &mut Asm, n: usize, first: u32, body: DynamicLabel, epilogue: DynamicLabel) {
    dynasm!(a
        ; mov rcx, QWORD [r12 + CTX_BASE]
        ; add rcx, rdx
        ; lea rsi, [rcx + n as i32]
        ; cmp rsi, QWORD [r12 + CTX_END]
        ; ja >refuse
        ; mov QWORD [r12 + CTX_BASE], rcx
        ; mov QWORD [r12 + CTX_BLOCK_PC], rax
        ; mov DWORD [r12 + CTX_FIRST], first as i32
        ; mov DWORD [r12 + CTX_N], n as i32
        ; jmp =>body
        ; refuse:
        ; mov QWORD [r12 + CTX_TARGET], rax
        ; mov rax, rdx
        ; bts rax, 32
        ; jmp =>epilogue
    );
    const _: () = assert!(EXIT_JUMP == 1, "bts sets kind 1");
}

/// rax = block_pc + `disp`.
fn pc_plus(a: &mut Asm, disp: i64) {
    dynasm!(a ; mov rax, QWORD [r12 + CTX_BLOCK_PC]);
    match i32::try_from(disp) {
        Ok(d) => dynasm!(a ; add rax, d),
        Err(_) => dynasm!(a ; mov rdx, QWORD disp ; add rax, rdx),
    }
}

/// Leaves the block after slot `k` transferred control to rax. A target in
/// the same page (`chainable`) goes through a link cell: once the run loop
/// has filled it with the target block's chained entry, the jump goes
/// straight there.
fn jump_exit(a: &mut Asm, k: usize, epilogue: DynamicLabel, chainable: bool) {
    let code = (k as i64 + 1) | (EXIT_JUMP as i64) << 32;
    if !chainable {
        dynasm!(a
            ; mov QWORD [r12 + CTX_TARGET], rax
            ; mov rax, QWORD code
            ; jmp =>epilogue
        );
        return;
    }
    let cell = a.new_dynamic_label();
    dynasm!(a
        ; mov edx, k as i32 + 1
        ; mov rcx, QWORD [=>cell]
        ; test rcx, rcx
        ; jz >plain
        ; jmp rcx
        ; plain:
        ; lea rcx, [=>cell]
        ; mov QWORD [r12 + CTX_LINK], rcx
        ; mov QWORD [r12 + CTX_TARGET], rax
        ; mov rax, QWORD code
        ; jmp =>epilogue
        ; .align 8
        ; =>cell
        ; .u64 0
    );
}

/// Slot `k` through the interpreter; leaves the block if it says so.
fn call_exec(a: &mut Asm, k: usize, h: &Helpers, epilogue: DynamicLabel) {
    dynasm!(a
        ; mov rdi, r12
        ; mov esi, k as i32
        ; mov rax, QWORD h.exec as i64
        ; call rax
        ; test rax, rax
        ; jnz =>epilogue
    );
}

/// What every slot of a block is emitted against.
struct BlockFrame<'a> {
    /// Slots in the block.
    n: usize,
    /// Byte offset of the block in its page.
    page_off: u64,
    helpers: &'a Helpers,
    epilogue: DynamicLabel,
}

/// Emits slot `k` of the block.
fn slot(a: &mut Asm, k: usize, s: &Slot, f: &BlockFrame, stubs: &mut Vec<Stub>) {
    let (n, page_off, h, epilogue) = (f.n, f.page_off, f.helpers, f.epilogue);
    let off = s.off as i64;
    // rd = rs1 OP rs2 on 64 bits.
    macro_rules! rr {
        ($op:ident, $rd:expr, $rs1:expr, $rs2:expr) => {
            dynasm!(a
                ; mov rax, QWORD [rbx + x($rs1)]
                ; $op rax, QWORD [rbx + x($rs2)]
                ; mov QWORD [rbx + x($rd)], rax
            )
        };
    }
    // rd = sext(rs1 OP rs2) on 32 bits.
    macro_rules! rrw {
        ($op:ident, $rd:expr, $rs1:expr, $rs2:expr) => {
            dynasm!(a
                ; mov eax, DWORD [rbx + x($rs1)]
                ; $op eax, DWORD [rbx + x($rs2)]
                ; movsxd rax, eax
                ; mov QWORD [rbx + x($rd)], rax
            )
        };
    }
    macro_rules! shift {
        ($op:ident, $rd:expr, $rs1:expr, $rs2:expr) => {
            dynasm!(a
                ; mov rcx, QWORD [rbx + x($rs2)]
                ; mov rax, QWORD [rbx + x($rs1)]
                ; $op rax, cl
                ; mov QWORD [rbx + x($rd)], rax
            )
        };
    }
    macro_rules! shiftw {
        ($op:ident, $rd:expr, $rs1:expr, $rs2:expr) => {
            dynasm!(a
                ; mov ecx, DWORD [rbx + x($rs2)]
                ; mov eax, DWORD [rbx + x($rs1)]
                ; $op eax, cl
                ; movsxd rax, eax
                ; mov QWORD [rbx + x($rd)], rax
            )
        };
    }
    macro_rules! setcc {
        ($cc:ident, $rd:expr, $rs1:expr, $rhs:tt) => {{
            dynasm!(a
                ; mov rax, QWORD [rbx + x($rs1)]
                ; xor edx, edx
            );
            setcc!(@cmp $rhs);
            dynasm!(a
                ; $cc dl
                ; mov QWORD [rbx + x($rd)], rdx
            )
        }};
        (@cmp (reg $rs2:expr)) => { dynasm!(a ; cmp rax, QWORD [rbx + x($rs2)]) };
        (@cmp (imm $imm:expr)) => { dynasm!(a ; cmp rax, $imm) };
    }
    // rd = rs1 OP imm on 64 bits (imm sign-extended, as RISC-V).
    macro_rules! ri {
        ($op:ident, $rd:expr, $rs1:expr, $imm:expr) => {
            dynasm!(a
                ; mov rax, QWORD [rbx + x($rs1)]
                ; $op rax, $imm
                ; mov QWORD [rbx + x($rd)], rax
            )
        };
    }
    macro_rules! riw {
        ($op:ident, $rd:expr, $rs1:expr, $imm:expr) => {
            dynasm!(a
                ; mov eax, DWORD [rbx + x($rs1)]
                ; $op eax, $imm
                ; movsxd rax, eax
                ; mov QWORD [rbx + x($rd)], rax
            )
        };
    }
    macro_rules! branch {
        ($jcc:ident, $rs1:expr, $rs2:expr, $imm:expr) => {{
            let at = a.new_dynamic_label();
            dynasm!(a
                ; mov rax, QWORD [rbx + x($rs1)]
                ; cmp rax, QWORD [rbx + x($rs2)]
                ; $jcc =>at
            );
            let disp = off + $imm as i64;
            stubs.push(if disp == 0 && k + 1 == n {
                Stub::Loop { k, at }
            } else {
                Stub::Taken { k, at, disp }
            });
        }};
    }
    // Loads and stores: the TLB lookup inline (Tlb::lookup: the tag
    // compare also fails misaligned accesses), else the interpreter.
    macro_rules! access {
        ($set:expr, $size:expr, $rs1:expr, $imm:expr, $($then:tt)*) => {{
            let (at, resume) = (a.new_dynamic_label(), a.new_dynamic_label());
            let mask = (!0xfffu64 | ($size - 1)) as i64 as i32;
            dynasm!(a
                ; mov rsi, QWORD [rbx + x($rs1)]
                ; add rsi, $imm
                ; mov rax, rsi
                ; shr rax, 12
                ; and eax, (tlb::ENTRIES - 1) as i32
                ; shl eax, tlb::ENTRY_BYTES.trailing_zeros() as i8
                ; add rax, QWORD [r12 + $set]
                ; mov rdx, rsi
                ; and rdx, mask
                ; cmp rdx, QWORD [rax]
                ; jne =>at
                ; mov eax, DWORD [rax + 8]
                ; shl rax, 12
                ; and esi, 0xfff
                ; add rax, rsi
                ; add rax, QWORD [r12 + CTX_RAM]
                $($then)*
            );
            dynasm!(a ; =>resume);
            stubs.push(Stub::Miss { k, at, resume });
        }};
    }
    macro_rules! load {
        ($size:expr, $rd:expr, $rs1:expr, $imm:expr, $($ld:tt)*) => {{
            if $rd != 0 {
                access!(CTX_TLB_READ, $size, $rs1, $imm, $($ld)* ; mov QWORD [rbx + x($rd)], rax)
            } else {
                access!(CTX_TLB_READ, $size, $rs1, $imm,)
            }
        }};
    }
    macro_rules! store {
        ($size:expr, $rs1:expr, $rs2:expr, $imm:expr, $($st:tt)*) => {{
            access!(CTX_TLB_WRITE, $size, $rs1, $imm, ; mov rdx, QWORD [rbx + x($rs2)] $($st)*)
        }};
    }
    match s.insn {
        // ALU instructions with rd = x0 decode to Nop (Insn::for_exec).
        Insn::Nop | Insn::Fence => {}
        Insn::Add { rd, rs1, rs2 } => rr!(add, rd, rs1, rs2),
        Insn::Sub { rd, rs1, rs2 } => rr!(sub, rd, rs1, rs2),
        Insn::And { rd, rs1, rs2 } => rr!(and, rd, rs1, rs2),
        Insn::Or { rd, rs1, rs2 } => rr!(or, rd, rs1, rs2),
        Insn::Xor { rd, rs1, rs2 } => rr!(xor, rd, rs1, rs2),
        Insn::Mul { rd, rs1, rs2 } => rr!(imul, rd, rs1, rs2),
        Insn::Sll { rd, rs1, rs2 } => shift!(shl, rd, rs1, rs2),
        Insn::Srl { rd, rs1, rs2 } => shift!(shr, rd, rs1, rs2),
        Insn::Sra { rd, rs1, rs2 } => shift!(sar, rd, rs1, rs2),
        Insn::Slt { rd, rs1, rs2 } => setcc!(setl, rd, rs1, (reg rs2)),
        Insn::Sltu { rd, rs1, rs2 } => setcc!(setb, rd, rs1, (reg rs2)),
        Insn::Mulh { rd, rs1, rs2 } => dynasm!(a
            ; mov rax, QWORD [rbx + x(rs1)]
            ; imul QWORD [rbx + x(rs2)]
            ; mov QWORD [rbx + x(rd)], rdx
        ),
        Insn::Mulhu { rd, rs1, rs2 } => dynasm!(a
            ; mov rax, QWORD [rbx + x(rs1)]
            ; mul QWORD [rbx + x(rs2)]
            ; mov QWORD [rbx + x(rd)], rdx
        ),
        Insn::Addw { rd, rs1, rs2 } => rrw!(add, rd, rs1, rs2),
        Insn::Subw { rd, rs1, rs2 } => rrw!(sub, rd, rs1, rs2),
        Insn::Mulw { rd, rs1, rs2 } => rrw!(imul, rd, rs1, rs2),
        Insn::Sllw { rd, rs1, rs2 } => shiftw!(shl, rd, rs1, rs2),
        Insn::Srlw { rd, rs1, rs2 } => shiftw!(shr, rd, rs1, rs2),
        Insn::Sraw { rd, rs1, rs2 } => shiftw!(sar, rd, rs1, rs2),
        Insn::Addi { rd, rs1: 0, imm } => dynasm!(a ; mov QWORD [rbx + x(rd)], imm),
        Insn::Addi { rd, rs1, imm } => ri!(add, rd, rs1, imm),
        Insn::Xori { rd, rs1, imm } => ri!(xor, rd, rs1, imm),
        Insn::Ori { rd, rs1, imm } => ri!(or, rd, rs1, imm),
        Insn::Andi { rd, rs1, imm } => ri!(and, rd, rs1, imm),
        Insn::Slti { rd, rs1, imm } => setcc!(setl, rd, rs1, (imm imm)),
        Insn::Sltiu { rd, rs1, imm } => setcc!(setb, rd, rs1, (imm imm)),
        Insn::Slli { rd, rs1, imm } => ri!(shl, rd, rs1, imm as i8),
        Insn::Srli { rd, rs1, imm } => ri!(shr, rd, rs1, imm as i8),
        Insn::Srai { rd, rs1, imm } => ri!(sar, rd, rs1, imm as i8),
        Insn::Addiw { rd, rs1, imm } => riw!(add, rd, rs1, imm),
        Insn::Slliw { rd, rs1, imm } => riw!(shl, rd, rs1, imm as i8),
        Insn::Srliw { rd, rs1, imm } => riw!(shr, rd, rs1, imm as i8),
        Insn::Sraiw { rd, rs1, imm } => riw!(sar, rd, rs1, imm as i8),
        Insn::Lui { rd, imm } => dynasm!(a ; mov QWORD [rbx + x(rd)], imm),
        Insn::Auipc { rd, imm } => {
            pc_plus(a, off + imm as i64);
            dynasm!(a ; mov QWORD [rbx + x(rd)], rax);
        }
        Insn::Beq { rs1, rs2, imm } => branch!(je, rs1, rs2, imm),
        Insn::Bne { rs1, rs2, imm } => branch!(jne, rs1, rs2, imm),
        Insn::Blt { rs1, rs2, imm } => branch!(jl, rs1, rs2, imm),
        Insn::Bge { rs1, rs2, imm } => branch!(jge, rs1, rs2, imm),
        Insn::Bltu { rs1, rs2, imm } => branch!(jb, rs1, rs2, imm),
        Insn::Bgeu { rs1, rs2, imm } => branch!(jae, rs1, rs2, imm),
        Insn::Jal { rd, imm } => {
            if rd != 0 {
                pc_plus(a, off + s.len as i64);
                dynasm!(a ; mov QWORD [rbx + x(rd)], rax);
            }
            let disp = off + imm as i64;
            pc_plus(a, disp);
            let inside = (0..PAGE as i64).contains(&(page_off as i64 + disp));
            jump_exit(a, k, epilogue, inside);
        }
        Insn::Jalr { rd, rs1, imm } => {
            // The target first: rd may be rs1.
            dynasm!(a
                ; mov rax, QWORD [rbx + x(rs1)]
                ; add rax, imm
                ; and rax, -2
                ; mov rcx, rax
            );
            if rd != 0 {
                pc_plus(a, off + s.len as i64);
                dynasm!(a ; mov QWORD [rbx + x(rd)], rax);
            }
            dynasm!(a ; mov rax, rcx);
            jump_exit(a, k, epilogue, false);
        }
        Insn::Lb { rd, rs1, imm } => load!(1, rd, rs1, imm, ; movsx rax, BYTE [rax]),
        Insn::Lh { rd, rs1, imm } => load!(2, rd, rs1, imm, ; movsx rax, WORD [rax]),
        Insn::Lw { rd, rs1, imm } => load!(4, rd, rs1, imm, ; movsxd rax, DWORD [rax]),
        Insn::Ld { rd, rs1, imm } => load!(8, rd, rs1, imm, ; mov rax, QWORD [rax]),
        Insn::Lbu { rd, rs1, imm } => load!(1, rd, rs1, imm, ; movzx eax, BYTE [rax]),
        Insn::Lhu { rd, rs1, imm } => load!(2, rd, rs1, imm, ; movzx eax, WORD [rax]),
        Insn::Lwu { rd, rs1, imm } => load!(4, rd, rs1, imm, ; mov eax, DWORD [rax]),
        Insn::Sb { rs1, rs2, imm } => store!(1, rs1, rs2, imm, ; mov BYTE [rax], dl),
        Insn::Sh { rs1, rs2, imm } => store!(2, rs1, rs2, imm, ; mov WORD [rax], dx),
        Insn::Sw { rs1, rs2, imm } => store!(4, rs1, rs2, imm, ; mov DWORD [rax], edx),
        Insn::Sd { rs1, rs2, imm } => store!(8, rs1, rs2, imm, ; mov QWORD [rax], rdx),
        _ => call_exec(a, k, h, epilogue),
    }
}
