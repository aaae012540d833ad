/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Claim 1: every BEAM process has a heap of its own, so a message is
 * copied from the sender's heap into the receiver's and its cost grows
 * with its size; large binaries are the exception, shared by reference;
 * a shared-heap system passes a pointer whatever the size.
 *
 * The talk: each process has its separate heap and shares no memory with
 * the others, which is what its actor model rests on; as an optimisation,
 * large binaries are stored apart so that only pointers to them are
 * passed around; the JVM, by contrast, has one heap shared by all
 * threads.
 *
 * The real system: "all data in messages between Erlang processes is
 * copied, except for refc binaries and literals" (Erlang Efficiency
 * Guide, "Processes: Sending Messages",
 * https://www.erlang.org/doc/system/eff_guide_processes); the copy walks
 * the term twice, once to size it and once to copy it
 * (erts/emulator/beam/copy.c: size_object, copy_struct).  Binaries larger
 * than 64 bytes (ERL_ONHEAP_BIN_LIMIT, erts/emulator/beam/erl_binary.h)
 * live off-heap, reference-counted, and a message carries only a small
 * ProcBin pointing at them (Efficiency Guide, "Constructing and Matching
 * Binaries").  core.async channels and Java queues hand over a reference
 * to the very same object.
 *
 * The experiment: `ping-pong` bouncing a tuple of 10 and of 1,000 small
 * integers (payload_kind=tuple: built once and sent back and forth, so
 * the copy is all of the difference) on `actor` (copying sends) and on
 * `csp` (go blocks passing pointers); and `actor` sending binaries of 64
 * bytes and of 64 KiB, made afresh each round.  message_heap_bytes is
 * what one copy of the message occupies on a receiving heap: 80 bytes for
 * the 64-byte binary, a 16-byte reference for the 64 KiB one.  The real
 * BEAM bounces the same tuples in a third step, shown beside the models
 * and not judged (model against real system is `concbench agree`'s).
 * `locks` is left out: its round trip is two kernel wake-ups of pool
 * threads, hundreds of microseconds on a busy machine whatever the
 * message, which says nothing about copying.
 *
 * The rule, each on the whole bootstrap interval of the ratio: actor's
 * round trip with 1,000 elements is at least 3x its round trip with 10
 * (a copy of 8 KB twice a round trip against a few hundred ns); csp's is
 * at most 2x (a pointer costs the same whatever it points at); a 64 KiB
 * binary takes no more heap than a 64-byte one (it is shared); and
 * actor's round trip with that 64 KiB binary is at most that with the
 * 1,000-element tuple, a message eight times smaller that is copied.
 * Why: measured on a loaded 2-core machine, actor's ratio was 19x
 * (interval 7.8x to 229x) and csp's 0.3x (at most 1.04x), so 3x and 2x
 * sit well inside what separates copying from passing a pointer, and the
 * 64 KiB binary's round trip was 0.46 us against 13.6 us (ratio at most
 * 0.41).
 */
#include "runner/talk.h"

#include <stdio.h>

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    const char *rt = "round_trip_ns", *heap = "message_heap_bytes";
    talk_value_t a10 = talk_get(r, "terms", "actor", "payload=10", rt);
    talk_value_t a1k = talk_get(r, "terms", "actor", "payload=1000", rt);
    talk_value_t c10 = talk_get(r, "terms", "csp", "payload=10", rt);
    talk_value_t c1k = talk_get(r, "terms", "csp", "payload=1000", rt);
    talk_value_t b64 = talk_get(r, "binaries", "actor", "payload=64", rt);
    talk_value_t b64k = talk_get(r, "binaries", "actor", "payload=65536", rt);
    talk_value_t h64 = talk_get(r, "binaries", "actor", "payload=64", heap);
    talk_value_t h64k =
        talk_get(r, "binaries", "actor", "payload=65536", heap);
    talk_value_t beam10 = talk_get(r, "real", "beam", "payload=10", rt);
    talk_value_t beam1k = talk_get(r, "real", "beam", "payload=1000", rt);

    const struct {
        const char *name;
        talk_value_t v;
    } cells[] = {{"actor", a10}, {"actor", a1k}, {"csp", c10},
                 {"csp", c1k},   {"actor", b64}, {"actor", b64k},
                 {"actor", h64}, {"actor", h64k}};
    char why[300];
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        if (!cells[i].v.ok) {
            talk_why_missing(why, sizeof why, cells[i].name, cells[i].v);
            talk_judge(j, TALK_CANNOT_SHOW, "a model's cell gave no figure: %s",
                       why);
            return;
        }
    char x[32], y[32], z[32], w[32];
    talk_figure(j, "round trip, tuple of 10 / 1,000: actor %s / %s, csp "
                   "%s / %s",
                talk_fmt(x, sizeof x, a10.median, "ns"),
                talk_fmt(y, sizeof y, a1k.median, "ns"),
                talk_fmt(z, sizeof z, c10.median, "ns"),
                talk_fmt(w, sizeof w, c1k.median, "ns"));
    talk_figure(j, "actor, binary of 64 B / 64 KiB: round trip %s / %s, on "
                   "the receiver's heap %s / %s",
                talk_fmt(x, sizeof x, b64.median, "ns"),
                talk_fmt(y, sizeof y, b64k.median, "ns"),
                talk_fmt(z, sizeof z, h64.median, "B"),
                talk_fmt(w, sizeof w, h64k.median, "B"));
    if (beam10.ok && beam1k.ok)
        talk_figure(j, "real BEAM (not judged), tuple of 10 / 1,000: %s / "
                       "%s (%.1fx)",
                    talk_fmt(x, sizeof x, beam10.median, "ns"),
                    talk_fmt(y, sizeof y, beam1k.median, "ns"),
                    beam10.median > 0 ? beam1k.median / beam10.median : 0);
    else
        talk_figure(j, "real BEAM (not judged): %s",
                    talk_why_missing(why, sizeof why, "beam",
                                     beam10.ok ? beam1k : beam10));

    double copy, flat, shared, cheaper;
    talk_verdict_t v[4] = {
        talk_ratio_at_least(a1k, a10, 3, &copy),
        talk_ratio_at_most(c1k, c10, 2, &flat),
        talk_ratio_at_most(h64k, h64, 1, &shared),
        talk_ratio_at_most(b64k, a1k, 1, &cheaper),
    };
    static const char *const what[] = {
        "actor's round trip with 1,000 elements against 10 (copying; at "
        "least 3x)",
        "csp's round trip with 1,000 elements against 10 (a pointer; at "
        "most 2x)",
        "the heap a 64 KiB binary takes against a 64-byte one (shared; at "
        "most 1x)",
        "actor's round trip with a 64 KiB binary against a 1,000-element "
        "tuple (at most 1x)",
    };
    const double ratio[] = {copy, flat, shared, cheaper};
    talk_verdict_t all = talk_all(v, 4);
    if (all == TALK_HOLDS) {
        talk_judge(j, all,
                   "copying made actor's round trip %.1fx longer for 1,000 "
                   "elements than for 10 while csp's pointer stayed at "
                   "%.1fx, and a 64 KiB binary travelled by reference "
                   "(%.0f B on the heap, %.2fx the 1,000-element tuple's "
                   "round trip)",
                   copy, flat, h64k.median, cheaper);
        return;
    }
    size_t k = 0;
    while (k < 4 && v[k] != all)
        k++;
    talk_judge(j, all,
               all == TALK_NOT_HERE
                   ? "%s was %.2fx, on the wrong side of its bound"
                   : "%s was %.2fx, with an interval that straddles its "
                     "bound",
               what[k], ratio[k]);
}

const talk_check_t cb_talk_message_copy = {
    .id = "message-copy",
    .order = 1,
    .title = "per-process heaps: a message is copied and costs more as it "
             "grows; large binaries are shared; a shared heap passes a "
             "pointer",
    .claim = "Each BEAM process has its own heap, so a message is copied "
             "into the receiver's and a bigger message costs more; binaries "
             "over 64 bytes are kept apart and passed by reference; on a "
             "shared heap (core.async, the JVM) a message is a pointer "
             "whatever its size.",
    .rule = "ping-pong: actor's round trip with a 1,000-element tuple at "
            "least 3x that with 10 elements, csp's at most 2x; a 64 KiB "
            "binary takes no more heap than a 64-byte one, and its round "
            "trip on actor is at most the 1,000-element tuple's; each on "
            "the whole bootstrap interval of the ratio.",
    .steps = {
        {
            .name = "terms",
            .systems = "actor,csp",
            .workload = "ping-pong",
            .params = {"payload_kind=tuple", "payload=10,100,1000,10000",
                       "rounds=10000"},
            .quick_params = {"payload_kind=tuple", "payload=10,1000"},
            .timeout_s = 120,
        },
        {
            .name = "binaries",
            .systems = "actor",
            .workload = "ping-pong",
            .params = {"payload_kind=binary", "payload=64,65536",
                       "rounds=100000"},
            .quick_params = {"payload_kind=binary", "payload=64,65536"},
            .timeout_s = 120,
        },
        {
            .name = "real",
            .systems = "beam",
            .workload = "ping-pong",
            .params = {"payload_kind=tuple", "payload=10,1000",
                       "rounds=10000"},
            .quick_params = {"payload_kind=tuple", "payload=10,1000"},
            /* Shown, not judged: one repetition keeps --quick short. */
            .quick_reps = 1,
            .timeout_s = 120,
        },
    },
    .nsteps = 3,
    .judge = judge,
    .plots = {
        {
            .kind = TALK_PLOT_XY,
            .step = "terms",
            .metric = "round_trip_ns",
            .x = "payload",
            .title = "round trip against message size: actor copies the "
                     "tuple, csp passes a pointer",
            .unit = "ns",
            .log_y = true,
        },
        {
            .kind = TALK_PLOT_BARS,
            .step = "binaries",
            .metric = "message_heap_bytes",
            .x = "payload",
            .title = "heap bytes of one message: a 64 KiB binary is a "
                     "reference",
            .unit = "B",
            .log_y = false,
        },
    },
    .nplots = 2,
};
