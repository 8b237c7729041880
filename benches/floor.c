/*
 * floor: the physical floor for running many small processes.
 *
 * Runs M tasks of one program with at most P of them in flight, using
 * posix_spawn + waitpid and nothing else: no output capture, no ordering,
 * no per-task bookkeeping. Whenever a child is reaped the next one starts.
 * The program is looked up in PATH once, before the loop, so the loop
 * itself never searches PATH.
 *
 *   floor [-s] [-a | -i] P M PROG [ARG]...
 *
 *   -s   shell mode: run `/bin/sh -c "PROG ARG..."` (the words joined by
 *        spaces) for every task; this is the floor for `--shell`.
 *   -a   append the task number (1..M) as the last argument (in shell mode,
 *        as the last word of the command string).
 *   -i   read one record per line from stdin and append it like -a does;
 *        stops at end of input or after M tasks (M = 0: no limit).
 *
 * P may be large: `floor -i 500 0 sleep < list-of-0.1` is the floor of
 * many sleeping tasks at -j500 (each reaped child is replaced at once).
 *
 * Children inherit stdin (/dev/null in -i mode), stdout and stderr.
 * Exits 0 when every task exited 0, 1 otherwise, 2 on usage or spawn errors.
 *
 * Build: cc -O2 -o floor floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void usage(void)
{
    fprintf(stderr, "usage: floor [-s] [-a | -i] P M PROG [ARG]...\n");
    exit(2);
}

/* Resolve PROG against PATH once, like execvp would at every spawn. */
static char *resolve(const char *prog)
{
    if (strchr(prog, '/'))
        return strdup(prog);
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char buf[PATH_MAX];
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len == 0)
            snprintf(buf, sizeof buf, "./%s", prog);
        else
            snprintf(buf, sizeof buf, "%.*s/%s", (int)len, path, prog);
        if (access(buf, X_OK) == 0) {
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode))
                return strdup(buf);
        }
        if (!end)
            break;
        path = end + 1;
    }
    fprintf(stderr, "floor: %s: not found in PATH\n", prog);
    exit(2);
}

/* Join words with single spaces into a fresh string with room for a suffix. */
static char *join(char **words, int n, size_t extra, size_t *len_out)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += strlen(words[i]) + 1;
    char *s = malloc(len + extra + 1);
    if (!s) {
        perror("floor: malloc");
        exit(2);
    }
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        size_t w = strlen(words[i]);
        if (i)
            s[at++] = ' ';
        memcpy(s + at, words[i], w);
        at += w;
    }
    s[at] = '\0';
    *len_out = at;
    return s;
}

int main(int argc, char **argv)
{
    int shell = 0, append_seq = 0, from_stdin = 0;
    int opt;
    while ((opt = getopt(argc, argv, "+sai")) != -1) {
        switch (opt) {
        case 's': shell = 1; break;
        case 'a': append_seq = 1; break;
        case 'i': from_stdin = 1; break;
        default: usage();
        }
    }
    if (append_seq && from_stdin)
        usage();
    if (argc - optind < 3)
        usage();
    long p = strtol(argv[optind], NULL, 10);
    long m = strtol(argv[optind + 1], NULL, 10);
    if (p < 1 || m < 0 || (m == 0 && !from_stdin))
        usage();
    char **words = argv + optind + 2;
    int nwords = argc - optind - 2;
    int appends = append_seq || from_stdin;

    /* argv template: [prog, args..., <appended>, NULL] or [sh, -c, cmd, NULL] */
    char **child_argv = calloc((size_t)nwords + 4, sizeof(char *));
    if (!child_argv) {
        perror("floor: calloc");
        return 2;
    }
    char *exe;
    char *cmd = NULL;   /* shell mode: the command string, rewritten per task */
    size_t cmd_base = 0;
    size_t cmd_cap = 0;
    int slot = 0;       /* index of the per-task argument in child_argv */
    if (shell) {
        exe = "/bin/sh";
        cmd_cap = 4096;
        cmd = join(words, nwords, cmd_cap, &cmd_base);
        child_argv[0] = "sh";
        child_argv[1] = "-c";
        child_argv[2] = cmd;
    } else {
        exe = resolve(words[0]);
        for (int i = 0; i < nwords; i++)
            child_argv[i] = words[i];
        slot = nwords;
    }

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_t *fap = NULL;
    if (from_stdin) {
        /* Children must not read the records meant for us. */
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        fap = &fa;
    }

    char numbuf[32];
    char *line = NULL;
    size_t linecap = 0;
    long started = 0, running = 0;
    int failed = 0;
    for (;;) {
        while (running < p && (m == 0 || started < m)) {
            const char *extra = NULL;
            if (from_stdin) {
                ssize_t n = getline(&line, &linecap, stdin);
                if (n < 0) {
                    m = started; /* end of input: no more tasks */
                    break;
                }
                if (n > 0 && line[n - 1] == '\n')
                    line[--n] = '\0';
                extra = line;
            } else if (append_seq) {
                snprintf(numbuf, sizeof numbuf, "%ld", started + 1);
                extra = numbuf;
            }
            if (shell) {
                cmd[cmd_base] = '\0';
                if (extra) {
                    size_t el = strlen(extra);
                    if (el + 1 > cmd_cap) {
                        fprintf(stderr, "floor: record too long for shell mode\n");
                        return 2;
                    }
                    cmd[cmd_base] = ' ';
                    memcpy(cmd + cmd_base + 1, extra, el + 1);
                }
            } else if (appends) {
                child_argv[slot] = (char *)extra;
            }
            pid_t pid;
            int rc = posix_spawn(&pid, exe, fap, NULL, child_argv, environ);
            if (rc != 0) {
                fprintf(stderr, "floor: posix_spawn %s: %s\n", exe, strerror(rc));
                return 2;
            }
            started++;
            running++;
        }
        if (running == 0)
            break;
        int status;
        pid_t w = waitpid(-1, &status, 0);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            perror("floor: waitpid");
            return 2;
        }
        running--;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed = 1;
    }
    return failed;
}
