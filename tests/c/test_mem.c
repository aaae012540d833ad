/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * runtime/mem: the resident-set readings move with memory that is made
 * resident, and rt_mem_prefault makes a block's whole pages resident
 * before anything touches them (mincore says so), leaving the partial
 * pages at its ends alone.
 */
#include "tests/c/cb_test.h"

#include "runtime/mem.h"

#include <sys/mman.h>
#include <unistd.h>

#define PAGES 64

static int resident(unsigned char *base, size_t page, size_t i)
{
    unsigned char v = 0;
    CHECK_EQ(mincore(base + i * page, page, &v), 0);
    return v & 1;
}

int main(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *base = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(base != MAP_FAILED);
#ifdef MADV_POPULATE_WRITE
    /* Does this kernel populate at all (5.14 and later)?  Ask once, on
     * the last page, which the checks below leave out. */
    if (madvise(base + (PAGES - 1) * page, page, MADV_POPULATE_WRITE) != 0) {
        fprintf(stderr, "madvise(MADV_POPULATE_WRITE) unsupported here\n");
        return CB_TEST_SKIP;
    }
#else
    fprintf(stderr, "no MADV_POPULATE_WRITE in this libc's headers\n");
    return CB_TEST_SKIP;
#endif
    for (size_t i = 0; i < PAGES - 1; i++)
        CHECK_EQ(resident(base, page, i), 0);
    int64_t rss0 = rt_mem_rss_bytes();
    CHECK_GT(rss0, 0);
    /* From the middle of page 1 to the middle of page 41: pages 2..40
     * are whole, pages 1 and 41 are not. */
    rt_mem_prefault(base + page + page / 2, 40 * page);
    CHECK_EQ(resident(base, page, 0), 0);
    CHECK_EQ(resident(base, page, 1), 0);
    for (size_t i = 2; i <= 40; i++)
        CHECK_EQ(resident(base, page, i), 1);
    CHECK_EQ(resident(base, page, 41), 0);
    /* Nothing was written: the pages read as zero. */
    for (size_t i = 2 * page; i < 41 * page; i += 512)
        CHECK_EQ(base[i], 0);
    /* VmRSS counts them (in KiB, with other memory moving around it: a
     * generous margin). */
    CHECK_GE(rt_mem_rss_bytes() - rss0, (int64_t)(30 * page));
    /* Empty and partial-page ranges are no-ops. */
    rt_mem_prefault(base + 42 * page + 1, page - 2);
    rt_mem_prefault(base + 43 * page, 0);
    CHECK_EQ(resident(base, page, 42), 0);
    CHECK_EQ(resident(base, page, 43), 0);
    munmap(base, PAGES * page);
    printf("ok\n");
    return 0;
}
