/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The user-space context switch: a green task is a stack plus an rt_ctx_t,
 * and rt_ctx_switch moves the CPU from one to another without entering the
 * kernel.  Every green model (actor, csp) parks and resumes tasks through
 * this one function, so its cost is the floor under every message hand-off
 * the suite measures.
 *
 * What is saved.  A switch is an ordinary function call as far as the
 * compiler is concerned, so only the state the ABI says survives a call has
 * to be saved; everything caller-saved is already dead or spilled by the
 * caller.  That is:
 *   - x86-64 (SysV): rbx, rbp, r12-r15, the stack pointer, and the two
 *     pieces of floating-point *control* state the ABI declares
 *     callee-saved: the x87 control word and the control bits of MXCSR
 *     (rounding mode, exception masks, FTZ/DAZ).  Without them a task that
 *     calls fesetround() would change the rounding of whichever task runs
 *     next on that worker.  They are not free: a round trip (two
 *     switches) is ~22 ns with them and ~17 ns without, measured here with
 *     bench/bench_ctx.c against a stripped copy of the assembly; loading
 *     them only when they differ won back ~1 ns, not worth the branches.
 *     They stay because the ABI promises them to every function, and a
 *     task is one.
 *   - aarch64 (AAPCS64): x19-x28, the frame pointer x29, the link register
 *     x30, sp, and the low 64 bits of v8-v15 (d8-d15).  FPCR (rounding
 *     mode, flush-to-zero) is *not* saved: AAPCS64 gives its fields thread
 *     ("global") scope rather than making them callee-saved, writing it is
 *     a self-synchronising system-register write that costs more than the
 *     rest of the switch on several cores, and no workload changes it; so
 *     on aarch64 the FP control state belongs to the worker thread, not to
 *     the task.  x18 is the platform register and is not ours.
 * A new context starts with the FP control state of the thread that made
 * it, as a new pthread inherits its creator's.
 *
 * The switch itself is the assembly in runtime/arch/ctx_<arch>.S: push the
 * callee-saved registers on the current stack, store the stack pointer in
 * `from`, load `to`'s, pop, return.  A fresh context's stack is laid out
 * by the same file so that its first "return" lands in a trampoline that
 * calls entry(arg) on a 16-byte aligned stack.
 *
 * Invariants:
 *   - a context is in exactly one of three states: running (on exactly one
 *     OS thread), suspended (its sp field is valid and nobody runs on its
 *     stack), or finished (it left through rt_ctx_switch_final and may only
 *     be destroyed);
 *   - rt_ctx_switch(from, to) is called only by the code running on `from`,
 *     and `to` is suspended; switching to a finished context panics;
 *   - entry(arg) never returns: a task ends with rt_ctx_switch_final, and
 *     a return from entry is reported with rt_panic("context entry
 *     returned") rather than falling off the end of a stack;
 *   - a context made by rt_ctx_init_thread lives on its OS thread's own
 *     stack and is only ever resumed on that thread; contexts made by
 *     rt_ctx_make may be resumed on any thread (task migration);
 *   - every stack switch is announced to ASan, TSan and valgrind when they
 *     are built in, so they never see an unannounced stack change.
 *
 * Thread-locals across a switch.  A task can park on worker A and resume on
 * worker B.  The compiler assumes a thread-local's address (and the value
 * of __errno_location(), which glibc declares const) cannot change inside
 * one function, so an address computed before a call that may switch is
 * the wrong thread's afterwards.  Hence:
 *   - rt_ctx_switch is noinline, so the switch is a real call boundary in
 *     every build, link-time optimisation included, and its own
 *     sanitizer bookkeeping runs in the frame it belongs to;
 *   - per-worker state must be reached through a noinline accessor (or kept
 *     in the task) and re-read after any call that may switch, never cached
 *     in a local across it.  noinline alone is not quite enough: the
 *     compiler may still prove the accessor const (pthread_self() is
 *     declared so) and reuse an earlier result, so its body needs
 *     something it cannot see through, such as an empty asm volatile with
 *     a memory clobber (tests/c/test_ctx.c's migration test shows one);
 *   - errno must never be read after a call that may park: read it before,
 *     or return -errno as this runtime's error convention already does.
 *
 * Sanitizer protocol (compiled in only under CB_SANITIZE_ADDRESS /
 * CB_SANITIZE_THREAD, in two always-inline helpers around the one assembly
 * switch, as in QEMU's coroutine code):
 *   - ASan: before the switch, __sanitizer_start_switch_fiber(&from's fake
 *     stack save, to's stack bounds); after it, on the resumed side,
 *     __sanitizer_finish_switch_fiber(own fake stack save, ...).  A fresh
 *     context finishes with NULL (it has no fake stack yet).  A finished
 *     context starts its last switch with a NULL save pointer, which tells
 *     ASan to free its fake stack.  Thread contexts get their bounds from
 *     pthread_getattr_np.
 *   - TSan: every context owns a fiber handle (__tsan_create_fiber for made
 *     contexts, __tsan_get_current_fiber for thread contexts) and
 *     __tsan_switch_to_fiber(to, 0) runs just before the switch; flag 0
 *     makes the switch a happens-before edge, which is what it is.  A
 *     fiber cannot be destroyed while it runs, so rt_ctx_switch_final marks
 *     the dying context and the context that resumes destroys the dying
 *     fiber as its first act; rt_ctx_destroy covers contexts that never
 *     finished.
 *   - valgrind (CB_VALGRIND): rt_ctx_make registers the stack with
 *     VALGRIND_STACK_REGISTER and rt_ctx_destroy deregisters it, so
 *     memcheck knows the stack-pointer jump is a switch, not an overflow
 *     (unregistered, test_ctx draws ~76,000 false errors; registered,
 *     none).  A stack reused for a new context must be destroyed first.
 *
 * Rejected alternatives:
 *   - glibc ucontext (makecontext/swapcontext): swapcontext saves and
 *     restores the signal mask with rt_sigprocmask, a system call per
 *     switch: ~440 ns per round trip here against ~22 ns for this register
 *     switch (bench/bench_ctx.c prints both).
 *   - setjmp/longjmp with a hand-built jmp_buf: glibc mangles the saved
 *     stack pointer (PTR_MANGLE), so a fresh stack cannot be entered
 *     without poking at libc internals, and _FORTIFY_SOURCE's longjmp
 *     check rejects jumps between stacks.
 *   - An opaque rt_ctx_t: schedulers embed a context in every task struct,
 *     and a heap-allocated context would cost a malloc per spawn.  The
 *     struct is public and the same size in every build (the sanitizer
 *     fields are always present), so objects built with and without
 *     sanitizer flags agree on its layout.
 */
#ifndef RT_CTX_H
#define RT_CTX_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rt_ctx rt_ctx_t;

/*
 * A context.  The caller owns the storage (usually inside a task struct);
 * all fields are private to ctx.c.  Written only by the thread running the
 * context or, while it is suspended, by the thread that switches to it.
 */
struct rt_ctx {
    /* Saved stack pointer; meaningful only while suspended. */
    void *sp;
    /* ASan: fake-stack save slot and the stack bounds announced to it. */
    void *asan_fake_stack;
    const void *stack_bottom;
    size_t stack_size;
    /* TSan: fiber handle; owned (destroyed by us) unless a thread's own. */
    void *tsan_fiber;
    /* valgrind: VALGRIND_STACK_REGISTER's id plus one, 0 when none. */
    unsigned valgrind_stack_id;
    /* Made by rt_ctx_init_thread: lives on an OS thread's own stack. */
    bool is_thread;
    /* Left through rt_ctx_switch_final; must never be resumed. */
    bool finished;
};

/*
 * Turn the calling OS thread's current stack into context c, so that tasks
 * can switch back to it (a scheduler loop runs on it).  No resources are
 * allocated; rt_ctx_destroy on it is a no-op.
 */
void rt_ctx_init_thread(rt_ctx_t *c);

/*
 * Prepare c so that the first switch to it runs entry(arg) on the stack
 * [stack_lo, stack_lo + stack_size), growing down from the top, which is
 * rounded down to 16 bytes.  stack_size must leave room for the initial
 * frame (at least 256 bytes; a task stack is 16 KiB or more).  c must be
 * fresh or destroyed.  entry must not return.
 */
void rt_ctx_make(rt_ctx_t *c, void *stack_lo, size_t stack_size,
                 void (*entry)(void *arg), void *arg);

/*
 * Save the running context into `from` and resume `to`.  Returns when some
 * context switches back to `from`, possibly on another OS thread: re-read
 * per-thread state after it (see above).
 */
void rt_ctx_switch(rt_ctx_t *from, rt_ctx_t *to);

/*
 * Leave `dying` for good and resume `to`: the last call a finished task
 * makes.  Never returns.  ASan frees the dying fake stack and the context
 * that resumes destroys the dying TSan fiber, so by the time any code runs
 * on `to` the stack may be freed or reused; the owner still calls
 * rt_ctx_destroy(dying) (valgrind's registration) before reusing either.
 */
__attribute__((noreturn)) void rt_ctx_switch_final(rt_ctx_t *dying,
                                                   rt_ctx_t *to);

/*
 * The stack pointer suspended context c resumes with: every byte of its
 * stack that is live lies in [rt_ctx_saved_sp(c), top of its stack).  A
 * copying-stack scheduler saves exactly that range.  Meaningful only while
 * c is suspended.
 */
static inline void *rt_ctx_saved_sp(const rt_ctx_t *c)
{
    return c->sp;
}

/*
 * Free the sanitizer and valgrind resources of a context that is not
 * running (suspended, finished or never started).  Every context made by
 * rt_ctx_make is destroyed once it will not run again; for a thread
 * context it is a no-op.  Idempotent.  The stack memory belongs to the
 * caller and is not touched.
 */
void rt_ctx_destroy(rt_ctx_t *c);

#endif
