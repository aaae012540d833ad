/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The portable half of the context switch: sanitizer and valgrind
 * bookkeeping around the per-architecture register switch in
 * runtime/arch/ctx_<arch>.S.  The protocol is described in ctx.h.
 */
#include "runtime/ctx.h"

#include "runtime/common.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if defined(CB_SANITIZE_ADDRESS)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(CB_SANITIZE_THREAD)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(CB_VALGRIND)
#if !__has_include(<valgrind/valgrind.h>)
#error "CB_VALGRIND=ON needs <valgrind/valgrind.h> (Debian package valgrind)"
#endif
#include <valgrind/valgrind.h>
#endif

#define ALWAYS_INLINE inline __attribute__((always_inline))

/*
 * The smallest stack rt_ctx_make accepts: the initial frame the assembly
 * builds is under 256 bytes on both architectures, and anything smaller
 * than this could not run a single C call anyway.
 */
#define CTX_MIN_STACK 256

/*
 * Implemented in runtime/arch/ctx_<arch>.S.
 *
 * rt_ctx_arch_swap pushes the callee-saved state on the current stack,
 * stores the stack pointer in *save_sp, switches to load_sp, pops the state
 * saved there and returns `xfer` -- the value passed by whichever swap
 * resumed us, so a resumed context learns which context it came from.
 *
 * rt_ctx_arch_prepare writes an initial frame below `top` (16-byte aligned)
 * that rt_ctx_arch_swap can "resume": it returns into a trampoline that
 * calls rt_ctx_start(prev, entry, arg) with an ABI-aligned stack.  The
 * frame's FP control state is copied from the calling thread.  Returns the
 * stack pointer to store in the context.
 */
void *rt_ctx_arch_swap(void **save_sp, void *load_sp, void *xfer);
void *rt_ctx_arch_prepare(void *top, void (*entry)(void *), void *arg);
/* Called only by the trampoline; never returns. */
__attribute__((noreturn)) void rt_ctx_start(rt_ctx_t *prev,
                                            void (*entry)(void *), void *arg);

/*
 * Announce the switch from `from` to `to` to the sanitizers.  `dying` says
 * that `from` will never run again, which ASan needs to free its fake
 * stack.  Nothing may touch the stack's ASan state between this and the
 * assembly switch, which is why both helpers are always inlined into the
 * one function that makes the switch.
 */
static ALWAYS_INLINE void switch_begin(rt_ctx_t *from, rt_ctx_t *to, bool dying)
{
#if defined(CB_SANITIZE_ADDRESS)
    __sanitizer_start_switch_fiber(dying ? NULL : &from->asan_fake_stack,
                                   to->stack_bottom, to->stack_size);
#endif
#if defined(CB_SANITIZE_THREAD)
    /* Flag 0: the switch is a happens-before edge between the fibers. */
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    (void)from;
    (void)to;
    (void)dying;
}

/*
 * Finish a switch on the resumed side.  `self` is the context now running
 * (NULL on a context's first entry, which has no fake stack to restore)
 * and `prev` the one that switched to it.
 */
static ALWAYS_INLINE void switch_end(rt_ctx_t *self, rt_ctx_t *prev)
{
#if defined(CB_SANITIZE_ADDRESS)
    __sanitizer_finish_switch_fiber(self ? self->asan_fake_stack : NULL, NULL,
                                    NULL);
#endif
#if defined(CB_SANITIZE_THREAD)
    /*
     * A finished context could not destroy its own fiber while running on
     * it; it is off its stack now, so the first context to run after it
     * does.  prev->finished was written before the switch, which the
     * switch orders before this read.
     */
    if (prev->finished && prev->tsan_fiber != NULL) {
        __tsan_destroy_fiber(prev->tsan_fiber);
        prev->tsan_fiber = NULL;
    }
#endif
    (void)self;
    (void)prev;
}

void rt_ctx_init_thread(rt_ctx_t *c)
{
    memset(c, 0, sizeof *c);
    c->is_thread = true;
#if defined(CB_SANITIZE_ADDRESS)
    /*
     * ASan adopts the bounds announced at each switch as the stack it is
     * now on (for its stack checks, its reports and unpoisoning on
     * noreturn calls), so switching back to a thread must announce that
     * thread's real stack.
     */
    pthread_attr_t attr;
    void *lo = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &lo, &size) != 0) {
            lo = NULL;
            size = 0;
        }
        pthread_attr_destroy(&attr);
    }
    RT_ASSERT(lo != NULL && size != 0);
    c->stack_bottom = lo;
    c->stack_size = size;
#endif
#if defined(CB_SANITIZE_THREAD)
    c->tsan_fiber = __tsan_get_current_fiber();
#endif
}

void rt_ctx_make(rt_ctx_t *c, void *stack_lo, size_t stack_size,
                 void (*entry)(void *arg), void *arg)
{
    RT_ASSERT(stack_lo != NULL && entry != NULL);
    RT_ASSERT(stack_size >= CTX_MIN_STACK);
    uintptr_t top = ((uintptr_t)stack_lo + stack_size) & ~(uintptr_t)15;

    memset(c, 0, sizeof *c);
    c->stack_bottom = stack_lo;
    c->stack_size = stack_size;
#if defined(CB_SANITIZE_ADDRESS)
    /*
     * A reused stack still carries the shadow poison of the frames its
     * last task died in (a finished task never returns from them); clear
     * it so that the new task does not trip over stale redzones.
     */
    __asan_unpoison_memory_region(stack_lo, stack_size);
#endif
#if defined(CB_SANITIZE_THREAD)
    c->tsan_fiber = __tsan_create_fiber(0);
    RT_ASSERT(c->tsan_fiber != NULL);
#endif
#if defined(CB_VALGRIND)
    /* Stored plus one: valgrind's ids start at 0, ours use 0 for none. */
    c->valgrind_stack_id = 1u + (unsigned)VALGRIND_STACK_REGISTER(
                                    stack_lo, (char *)stack_lo + stack_size);
#endif
    c->sp = rt_ctx_arch_prepare((void *)top, entry, arg);
}

RT_NOINLINE void rt_ctx_switch(rt_ctx_t *from, rt_ctx_t *to)
{
    /* One predictable branch; resuming a dead stack would be far worse. */
    RT_ASSERT(!to->finished);
    switch_begin(from, to, false);
    rt_ctx_t *prev = rt_ctx_arch_swap(&from->sp, to->sp, from);
    switch_end(from, prev);
}

RT_NOINLINE void rt_ctx_switch_final(rt_ctx_t *dying, rt_ctx_t *to)
{
    RT_ASSERT(!dying->is_thread);
    RT_ASSERT(!to->finished);
    dying->finished = true;
    switch_begin(dying, to, true);
    rt_ctx_arch_swap(&dying->sp, to->sp, dying);
    rt_panic("finished context resumed");
}

void rt_ctx_start(rt_ctx_t *prev, void (*entry)(void *), void *arg)
{
    switch_end(NULL, prev);
    entry(arg);
    rt_panic("context entry returned");
}

void rt_ctx_destroy(rt_ctx_t *c)
{
    if (c->is_thread)
        return;
#if defined(CB_SANITIZE_THREAD)
    if (c->tsan_fiber != NULL) {
        __tsan_destroy_fiber(c->tsan_fiber);
        c->tsan_fiber = NULL;
    }
#endif
#if defined(CB_VALGRIND)
    if (c->valgrind_stack_id != 0) {
        VALGRIND_STACK_DEREGISTER(c->valgrind_stack_id - 1u);
        c->valgrind_stack_id = 0;
    }
#endif
    c->finished = true;
}
