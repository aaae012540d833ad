/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * x86-64 (System V) register switch for runtime/ctx.c; see runtime/ctx.h
 * for what is saved and why.
 *
 * A suspended context's stack, from its saved stack pointer (16-byte
 * aligned) upwards:
 *
 *      sp+0   x87 control word (2 bytes), 2 bytes pad, MXCSR (4 bytes)
 *      sp+8   r15
 *      sp+16  r14
 *      sp+24  r13
 *      sp+32  r12
 *      sp+40  rbx
 *      sp+48  rbp
 *      sp+56  return address
 *
 * A fresh context made by rt_ctx_arch_prepare has the same frame with the
 * trampoline as return address, entry in rbx, arg in r12, rbp = 0 (the end
 * of the frame-pointer chain) and two zero words above it, so that the
 * trampoline starts with rsp 16-byte aligned and its call gives entry the
 * alignment the ABI promises.
 *
 * CET: with -fcf-protection every global function starts with endbr64 and
 * the object is marked IBT-compatible.  It is deliberately not marked
 * SHSTK-compatible: the switch moves rsp without switching the shadow
 * stack, so the link must not produce a program that asks for shadow
 * stacks, and leaving the SHSTK bit out of this object guarantees that.
 */
#if defined(__CET__) && (__CET__ & 1)
#define ENDBR endbr64
#else
#define ENDBR
#endif

    .text

/* void *rt_ctx_arch_swap(void **save_sp, void *load_sp, void *xfer) */
    .globl  rt_ctx_arch_swap
    .type   rt_ctx_arch_swap, @function
    .p2align 4
rt_ctx_arch_swap:
    .cfi_startproc
    ENDBR
    pushq   %rbp
    .cfi_adjust_cfa_offset 8
    pushq   %rbx
    .cfi_adjust_cfa_offset 8
    pushq   %r12
    .cfi_adjust_cfa_offset 8
    pushq   %r13
    .cfi_adjust_cfa_offset 8
    pushq   %r14
    .cfi_adjust_cfa_offset 8
    pushq   %r15
    .cfi_adjust_cfa_offset 8
    subq    $8, %rsp
    .cfi_adjust_cfa_offset 8
    fnstcw  (%rsp)
    stmxcsr 4(%rsp)
    movq    %rsp, (%rdi)
    /* From here on the frame is the resumed context's, laid out alike. */
    movq    %rsi, %rsp
    fldcw   (%rsp)
    ldmxcsr 4(%rsp)
    addq    $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq    %r15
    .cfi_adjust_cfa_offset -8
    popq    %r14
    .cfi_adjust_cfa_offset -8
    popq    %r13
    .cfi_adjust_cfa_offset -8
    popq    %r12
    .cfi_adjust_cfa_offset -8
    popq    %rbx
    .cfi_adjust_cfa_offset -8
    popq    %rbp
    .cfi_adjust_cfa_offset -8
    movq    %rdx, %rax
    ret
    .cfi_endproc
    .size   rt_ctx_arch_swap, .-rt_ctx_arch_swap

/* void *rt_ctx_arch_prepare(void *top, void (*entry)(void *), void *arg) */
    .globl  rt_ctx_arch_prepare
    .type   rt_ctx_arch_prepare, @function
    .p2align 4
rt_ctx_arch_prepare:
    .cfi_startproc
    ENDBR
    leaq    -80(%rdi), %rax
    movq    $0, (%rax)
    /* Inherit the creating thread's FP control state. */
    fnstcw  (%rax)
    stmxcsr 4(%rax)
    movq    $0, 8(%rax)
    movq    $0, 16(%rax)
    movq    $0, 24(%rax)
    movq    %rdx, 32(%rax)
    movq    %rsi, 40(%rax)
    movq    $0, 48(%rax)
    leaq    rt_ctx_trampoline(%rip), %rcx
    movq    %rcx, 56(%rax)
    movq    $0, 64(%rax)
    movq    $0, 72(%rax)
    ret
    .cfi_endproc
    .size   rt_ctx_arch_prepare, .-rt_ctx_arch_prepare

/*
 * First code a fresh context runs, reached by rt_ctx_arch_swap's ret:
 * rax = the context we came from, rbx = entry, r12 = arg.  Not global.
 */
    .type   rt_ctx_trampoline, @function
    .p2align 4
rt_ctx_trampoline:
    .cfi_startproc
    /* Tell unwinders this is the outermost frame of the task. */
    .cfi_undefined rip
    movq    %rax, %rdi
    movq    %rbx, %rsi
    movq    %r12, %rdx
    call    rt_ctx_start@PLT
    ud2
    .cfi_endproc
    .size   rt_ctx_trampoline, .-rt_ctx_trampoline

#if defined(__CET__) && (__CET__ & 1)
    /* GNU_PROPERTY_X86_FEATURE_1_AND = IBT only; see the note above. */
    .section .note.gnu.property, "a"
    .p2align 3
    .long   4
    .long   16
    .long   5
    .asciz  "GNU"
    .long   0xc0000002
    .long   4
    .long   1
    .p2align 3
#endif

    .section .note.GNU-stack, "", @progbits
