/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The kernel's floor under io-fanout: the four system calls of one of its
 * round trips (write the request, read it at the other end, write the
 * reply, read it back) over a loopback TCP connection and over a UNIX
 * socketpair, with no scheduler, channel or task around them.  Run on
 * one thread, then on one thread per PU at once (each with its own
 * connection), so the figures say how many requests per second the
 * machine can carry at best; what a model reaches in io-fanout is that
 * minus its own costs.
 */
#include "bench/bench.h"
#include "runtime/clock.h"
#include "runtime/topo.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS 20000
#define PAYLOAD 64
#define MAX_THREADS 64

static void die(const char *what)
{
    fprintf(stderr, "bench_loopback: %s failed\n", what);
    exit(1);
}

/* A connected loopback TCP pair with Nagle off, as io-fanout makes. */
static void tcp_pair(int fds[2])
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int one = 1;
    int lst = socket(AF_INET, SOCK_STREAM, 0);
    if (lst < 0 || bind(lst, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(lst, 1) < 0 || getsockname(lst, (struct sockaddr *)&a, &len))
        die("listen");
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&a, sizeof a) < 0)
        die("connect");
    if ((fds[1] = accept(lst, NULL, NULL)) < 0)
        die("accept");
    close(lst);
    setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void unix_pair(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
        die("socketpair");
}

static void move(int from, int to, char *buf)
{
    if (write(from, buf, PAYLOAD) != PAYLOAD)
        die("write");
    for (size_t got = 0; got < PAYLOAD;) {
        ssize_t n = read(to, buf + got, PAYLOAD - got);
        if (n <= 0)
            die("read");
        got += (size_t)n;
    }
}

typedef struct job {
    bool tcp;
    int pu;
    double ns_per_round;
} job_t;

static void *run(void *arg)
{
    job_t *j = arg;
    if (j->pu >= 0)
        rt_topo_pin_self(j->pu);
    int fds[2];
    if (j->tcp)
        tcp_pair(fds);
    else
        unix_pair(fds);
    char buf[PAYLOAD];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < ROUNDS / 10; i++) /* warm up */
        move(fds[0], fds[1], buf), move(fds[1], fds[0], buf);
    int64_t t0 = rt_now_ns();
    for (int i = 0; i < ROUNDS; i++)
        move(fds[0], fds[1], buf), move(fds[1], fds[0], buf);
    j->ns_per_round = (double)(rt_now_ns() - t0) / ROUNDS;
    close(fds[0]);
    close(fds[1]);
    return NULL;
}

/* Requests per second with n threads at once, each on its own PU. */
static double parallel_rate(bool tcp, int n)
{
    pthread_t th[MAX_THREADS];
    job_t jobs[MAX_THREADS];
    for (int i = 0; i < n; i++) {
        jobs[i] = (job_t){.tcp = tcp, .pu = rt_topo_pu_os_index(i)};
        if (pthread_create(&th[i], NULL, run, &jobs[i]) != 0)
            die("pthread_create");
    }
    double rate = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        rate += 1e9 / jobs[i].ns_per_round;
    }
    return rate;
}

int main(void)
{
    bench_print_build("bench_loopback");
    int npus = rt_topo_npus();
    if (npus < 1)
        die("rt_topo_npus");
    if (npus > MAX_THREADS)
        npus = MAX_THREADS;
    double v[5];
    for (int t = 0; t < 2; t++) {
        bool tcp = t == 0;
        const char *name = tcp ? "tcp" : "unix";
        for (int r = 0; r < 5; r++) {
            job_t j = {.tcp = tcp, .pu = -1};
            run(&j);
            v[r] = j.ns_per_round;
        }
        printf("loopback_%s_round_trip_ns: %.0f\n", name, bench_median(v, 5));
        for (int r = 0; r < 5; r++)
            v[r] = parallel_rate(tcp, npus);
        printf("loopback_%s_requests_per_s_%d_pus: %.0f\n", name, npus,
               bench_median(v, 5));
    }
    return 0;
}
