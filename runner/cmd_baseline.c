/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench baseline keep DIR NAME | list | path NAME: results kept under
 * a name, so that a pipeline compares against main's last good run
 * (`concbench compare @main NEW`) without running it again.
 *
 * The store is a folder, $CONCBENCH_BASELINES or ./.concbench/baselines
 * (a CI cache or artifact directory keeps it between jobs); a baseline is
 * a copy of the results folder's runs.jsonl, machine.json and probe.jsonl
 * (the machine's own speed while it ran, runner/probe.c), nothing
 * derived.  Comparing against it is comparing against any folder: the
 * machine fingerprint must match, so a baseline from another runner type
 * is "not comparable" with the fields that differ named, and a gate with
 * --fail-on-regression exits 6 rather than passing on nothing.
 *
 * Invariants:
 *   - a baseline is replaced whole or not at all: the copy is written
 *     beside it under a temporary name and renamed into place, so a job
 *     killed mid-copy leaves the previous baseline readable;
 *   - only a folder that loads (every line checked against the schema)
 *     is kept: a broken baseline would fail every later comparison;
 *   - a name is a branch name: letters, digits, '.', '_', '-' and '/',
 *     stored with '/' as "%2F" (one folder per name, none nested).
 *
 * Rejected: keeping the baseline inside the results folder's parent
 * (every pipeline lays out its workspace differently) and storing only
 * the medians (compare needs the repetitions for its test).
 */
#include "runner/cli.h"
#include "runner/results.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char baseline_usage[] =
    "usage: concbench baseline keep DIR NAME\n"
    "       concbench baseline list\n"
    "       concbench baseline path NAME\n"
    "\n"
    "Keeps a results folder (its runs.jsonl, machine.json and probe.jsonl)\n"
    "under NAME in the baseline store, $CONCBENCH_BASELINES or\n"
    "./.concbench/baselines; `concbench compare @NAME NEW` compares against "
    "it\n(same machine fingerprint rule).  NAME is a branch name:\n"
    "letters, digits, '.', '_', '-' and '/'.\n"
    "\n"
    "Exit: 0 ok, 2 usage, an unreadable folder or no such baseline.\n";

static const char *store(void)
{
    const char *s = getenv("CONCBENCH_BASELINES");
    return s && s[0] ? s : ".concbench/baselines";
}

/* NAME's folder in the store; -1 after a message when NAME is not one. */
static int folder_of(const char *name, char *out, size_t len)
{
    char enc[600];
    size_t n = 0;
    if (!name[0] || name[0] == '.' || strlen(name) > 128)
        return usage_error("baseline: '%s' is not a baseline name (1 to 128 "
                           "characters, not starting with '.')",
                           name);
    for (const char *p = name; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || strchr("._-/", *p);
        if (!ok)
            return usage_error("baseline: '%s': only letters, digits, '.', "
                               "'_', '-' and '/' may name a baseline",
                               name);
        n += (size_t)snprintf(enc + n, sizeof enc - n, "%s",
                              *p == '/' ? "%2F" : (char[]){*p, 0});
    }
    snprintf(out, len, "%s/%s", store(), enc);
    return 0;
}

int baseline_resolve(const char *name, char *out, size_t len)
{
    if (folder_of(name, out, len) != 0)
        return -1;
    char runs[4200];
    snprintf(runs, sizeof runs, "%.4000s/runs.jsonl", out);
    if (access(runs, R_OK) != 0) {
        usage_error("no baseline '%s' in %s (concbench baseline keep DIR %s "
                    "keeps one)",
                    name, store(), name);
        return -1;
    }
    return 0;
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return errno == ENOENT ? 0 : -1; /* machine.json, probe.jsonl may
                                            be absent */
    FILE *out = fopen(to, "wb");
    char buf[65536];
    size_t n;
    int rc = out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (ferror(in))
        rc = -1;
    fclose(in);
    if (out && (fflush(out) != 0 || fsync(fileno(out)) != 0))
        rc = -1;
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4400];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%.4000s/%.255s", dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int keep(const char *dir, const char *name)
{
    char dest[4096], tmp[4200], old[4200], err[1024];
    if (folder_of(name, dest, sizeof dest) != 0)
        return EXIT_USAGE;
    res_set_t set;
    if (results_load(dir, false, &set, err, sizeof err) < 0) {
        results_free(&set);
        return usage_error("baseline: %s", err);
    }
    size_t nruns = set.nruns;
    results_free(&set);
    if (nruns == 0)
        return usage_error("baseline: %s holds no runs", dir);
    if (mkdir_p(store()) < 0)
        return usage_error("baseline: cannot create %s: %s", store(),
                           strerror(errno));
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", dest, (int)getpid());
    snprintf(old, sizeof old, "%s.old.%d", dest, (int)getpid());
    remove_tree(tmp);
    if (mkdir(tmp, 0777) < 0)
        return usage_error("baseline: cannot create %s: %s", tmp,
                           strerror(errno));
    /* probe.jsonl: the machine's speed while it ran (runner/probe.c). */
    static const char *const files[] = {"runs.jsonl", "machine.json",
                                        "probe.jsonl"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char from[4400], to[4400];
        snprintf(from, sizeof from, "%.4000s/%s", dir, files[i]);
        snprintf(to, sizeof to, "%.4200s/%s", tmp, files[i]);
        if (copy_file(from, to) < 0) {
            int e = errno;
            remove_tree(tmp);
            return usage_error("baseline: cannot copy %s: %s", from,
                               strerror(e));
        }
    }
    bool had = access(dest, F_OK) == 0;
    if ((had && rename(dest, old) < 0) || rename(tmp, dest) < 0) {
        int e = errno;
        if (had && access(dest, F_OK) != 0)
            rename(old, dest);
        remove_tree(tmp);
        return usage_error("baseline: cannot replace %s: %s", dest,
                           strerror(e));
    }
    if (had)
        remove_tree(old);
    printf("kept %s (%zu runs) as baseline '%s' in %s; compare with "
           "`concbench compare @%s NEW`\n",
           dir, nruns, name, dest, name);
    return EXIT_OK;
}

static int list(void)
{
    DIR *d = opendir(store());
    if (!d) {
        printf("no baselines in %s\n", store());
        return EXIT_OK;
    }
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp.") ||
            strstr(e->d_name, ".old."))
            continue;
        char name[300], *o = name;
        for (const char *p = e->d_name; *p && o < name + sizeof name - 1;)
            if (strncmp(p, "%2F", 3) == 0)
                *o++ = '/', p += 3;
            else
                *o++ = *p++;
        *o = '\0';
        printf("%s\n", name);
        n++;
    }
    closedir(d);
    if (!n)
        printf("no baselines in %s\n", store());
    return EXIT_OK;
}

int cmd_baseline(int argc, char **argv)
{
    if (argc >= 2 && is_help(argv[1])) {
        fputs(baseline_usage, stdout);
        return EXIT_OK;
    }
    if (argc == 4 && strcmp(argv[1], "keep") == 0)
        return keep(argv[2], argv[3]);
    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return list();
    if (argc == 3 && strcmp(argv[1], "path") == 0) {
        char dir[4096];
        if (baseline_resolve(argv[2], dir, sizeof dir) < 0)
            return EXIT_USAGE;
        printf("%s\n", dir);
        return EXIT_OK;
    }
    return usage_error("baseline: wants keep DIR NAME, list or path NAME; "
                       "see concbench baseline --help");
}
