/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * AArch64 (AAPCS64) register switch for runtime/ctx.c; see runtime/ctx.h
 * for what is saved and why (FPCR is not).
 *
 * A suspended context's stack, from its saved stack pointer (16-byte
 * aligned) upwards, 160 bytes:
 *
 *      sp+0    x19, x20
 *      sp+16   x21, x22
 *      sp+32   x23, x24
 *      sp+48   x25, x26
 *      sp+64   x27, x28
 *      sp+80   x29 (frame pointer), x30 (return address)
 *      sp+96   d8,  d9
 *      sp+112  d10, d11
 *      sp+128  d12, d13
 *      sp+144  d14, d15
 *
 * A fresh context made by rt_ctx_arch_prepare has the same frame with
 * entry in x19, arg in x20, x29 = 0 (the end of the frame-record chain)
 * and the trampoline in x30; popping it leaves sp at the 16-byte aligned
 * top of the stack.
 *
 * BTI/PAC: with -mbranch-protection every global function starts with a
 * "bti c" landing pad and the object carries the matching GNU property.
 * The trampoline is reached by ret, which BTI does not check, and nothing
 * here signs a return address, so pac-ret code on either side of a switch
 * keeps working: each frame is authenticated on the stack it was signed on.
 */
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define BTI_C bti c
#define GNU_PROP_BTI 1
#else
#define BTI_C
#define GNU_PROP_BTI 0
#endif
#if defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT
#define GNU_PROP_PAC 2
#else
#define GNU_PROP_PAC 0
#endif

    .text

/* void *rt_ctx_arch_swap(void **save_sp, void *load_sp, void *xfer) */
    .globl  rt_ctx_arch_swap
    .type   rt_ctx_arch_swap, %function
    .p2align 4
rt_ctx_arch_swap:
    .cfi_startproc
    BTI_C
    sub     sp, sp, #160
    .cfi_adjust_cfa_offset 160
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mov     x9, sp
    str     x9, [x0]
    /* From here on the frame is the resumed context's, laid out alike. */
    mov     sp, x1
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #160
    .cfi_adjust_cfa_offset -160
    mov     x0, x2
    ret
    .cfi_endproc
    .size   rt_ctx_arch_swap, .-rt_ctx_arch_swap

/* void *rt_ctx_arch_prepare(void *top, void (*entry)(void *), void *arg) */
    .globl  rt_ctx_arch_prepare
    .type   rt_ctx_arch_prepare, %function
    .p2align 4
rt_ctx_arch_prepare:
    .cfi_startproc
    BTI_C
    sub     x0, x0, #160
    stp     x1, x2, [x0, #0]
    stp     xzr, xzr, [x0, #16]
    stp     xzr, xzr, [x0, #32]
    stp     xzr, xzr, [x0, #48]
    stp     xzr, xzr, [x0, #64]
    adr     x9, rt_ctx_trampoline
    stp     xzr, x9, [x0, #80]
    stp     xzr, xzr, [x0, #96]
    stp     xzr, xzr, [x0, #112]
    stp     xzr, xzr, [x0, #128]
    stp     xzr, xzr, [x0, #144]
    ret
    .cfi_endproc
    .size   rt_ctx_arch_prepare, .-rt_ctx_arch_prepare

/*
 * First code a fresh context runs, reached by rt_ctx_arch_swap's ret:
 * x0 = the context we came from, x19 = entry, x20 = arg.  Not global.
 */
    .type   rt_ctx_trampoline, %function
    .p2align 4
rt_ctx_trampoline:
    .cfi_startproc
    /* Tell unwinders this is the outermost frame of the task. */
    .cfi_undefined x30
    mov     x1, x19
    mov     x2, x20
    bl      rt_ctx_start
    brk     #1
    .cfi_endproc
    .size   rt_ctx_trampoline, .-rt_ctx_trampoline

#if GNU_PROP_BTI || GNU_PROP_PAC
    /* GNU_PROPERTY_AARCH64_FEATURE_1_AND: BTI and/or PAC. */
    .section .note.gnu.property, "a"
    .p2align 3
    .long   4
    .long   16
    .long   5
    .asciz  "GNU"
    .long   0xc0000000
    .long   4
    .long   (GNU_PROP_BTI | GNU_PROP_PAC)
    .long   0
#endif

    .section .note.GNU-stack, "", %progbits
