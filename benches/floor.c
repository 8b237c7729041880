/*
 * floor: the physical floor for running many small processes.
 *
 * Runs M tasks of one program with at most P of them in flight, using
 * posix_spawn + waitpid and nothing else: no output capture, no ordering,
 * no per-task bookkeeping. Whenever a child is reaped the next one starts.
 * The program is looked up in PATH once, before the loop, so the loop
 * itself never searches PATH.
 *
 *   floor [-s] [-r | -g] [-a | -i] P M PROG [ARG]...
 *
 *   -s   shell mode: run `/bin/sh -c "PROG ARG..."` (the words joined by
 *        spaces) for every task; this is the floor for `--shell`.
 *   -a   append the task number (1..M) as the last argument (in shell mode,
 *        as the last word of the command string).
 *   -i   read one record per line from stdin and append it like -a does;
 *        stops at end of input or after M tasks (M = 0: no limit).
 *   -r   relay: each task's stdout is a pipe that the floor moves on to its
 *        own stdout with splice(2) until the task closes it, as a runner
 *        that keeps each task's output whole must; both pipes 1 MiB where
 *        the kernel allows, and after a piece under 256 KiB a pause of
 *        200 µs lets the pipe fill. P must be 1. The floor of `bigout`:
 *        what a second pipe costs, with nothing else done.
 *   -g   guarded, the least a runner keeping ppool's promises does: before
 *        the first task a guard process that shares the floor's memory
 *        (clone with CLONE_VM) sleeps in ppoll on a pipe; each task runs in
 *        a process group of its own with its stdout and stderr on pipes,
 *        read until they close and then written out whole; at the end the
 *        guard is killed and reaped. P must be 1. The floor of `startup`'s
 *        streaming modes.
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
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void usage(void)
{
    fprintf(stderr, "usage: floor [-s] [-r | -g] [-a | -i] P M PROG [ARG]...\n");
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

/* The guard of -g: it sleeps until the floor's end of the pipe closes or
 * SIGKILL comes, making system calls only (it shares the floor's memory). */
static int guard_main(void *arg)
{
    int fd = *(int *)arg;
    syscall(SYS_setpgid, 0, 0);
    syscall(SYS_close_range, 0, fd - 1, 0);
    syscall(SYS_close_range, fd + 1, ~0U, 0);
    struct pollfd p = {fd, 0, 0};
    syscall(SYS_ppoll, &p, 1, NULL, NULL, 0);
    syscall(SYS_exit_group, 0);
    return 0;
}

static pid_t start_guard(void)
{
    static int hang[2];
    const size_t size = 64 * 1024;
    if (pipe2(hang, O_CLOEXEC) < 0)
        return -1;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return -1;
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(guard_main, stack + size, CLONE_VM | SIGCHLD, &hang[0]);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(hang[0]);
    return pid;
}

/* Reads both pipes until they close, keeping stdout's bytes and stderr's;
 * then writes each out whole. */
static void capture(int out, int err)
{
    static char *kept[2];
    static size_t len[2], cap[2];
    struct pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
    len[0] = len[1] = 0;
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("floor: poll");
            exit(2);
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            if (cap[i] - len[i] < 65536) {
                cap[i] = cap[i] * 2 + 65536;
                kept[i] = realloc(kept[i], cap[i]);
                if (!kept[i]) {
                    perror("floor: realloc");
                    exit(2);
                }
            }
            ssize_t n = read(fds[i].fd, kept[i] + len[i], cap[i] - len[i]);
            if (n > 0) {
                len[i] += (size_t)n;
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        for (size_t at = 0; at < len[i];) {
            ssize_t n = write(i + 1, kept[i] + at, len[i] - at);
            if (n < 0 && errno != EINTR)
                break;
            if (n > 0)
                at += (size_t)n;
        }
}

/* A task's file actions before its pipes: in -i mode stdin is /dev/null,
 * so children do not read the records meant for us. */
static void task_actions(posix_spawn_file_actions_t *fa, int from_stdin)
{
    posix_spawn_file_actions_init(fa);
    if (from_stdin)
        posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
}

int main(int argc, char **argv)
{
    int shell = 0, append_seq = 0, from_stdin = 0, relay = 0, guarded = 0;
    int opt;
    while ((opt = getopt(argc, argv, "+sairg")) != -1) {
        switch (opt) {
        case 's': shell = 1; break;
        case 'r': relay = 1; break;
        case 'g': guarded = 1; break;
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
    if (p < 1 || m < 0 || (m == 0 && !from_stdin) || ((relay || guarded) && p != 1) || (relay && guarded))
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
    posix_spawnattr_t attr;
    posix_spawnattr_t *attrp = NULL;
    pid_t guard = -1;
    if (guarded) {
        guard = start_guard();
        if (guard < 0) {
            perror("floor: guard");
            return 2;
        }
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attr, 0);
        attrp = &attr;
    }
    if (from_stdin || relay || guarded) {
        task_actions(&fa, from_stdin);
        fap = &fa;
    }
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (relay)
        fcntl(1, F_SETPIPE_SZ, 1 << 20);

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
            if (relay || guarded) {
                if (pipe2(out, O_CLOEXEC) < 0 || (guarded && pipe2(err, O_CLOEXEC) < 0)) {
                    perror("floor: pipe");
                    return 2;
                }
                if (relay)
                    fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
                posix_spawn_file_actions_adddup2(&fa, out[1], 1);
                if (guarded)
                    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
            }
            pid_t pid;
            int rc = posix_spawn(&pid, exe, fap, attrp, child_argv, environ);
            if (rc != 0) {
                fprintf(stderr, "floor: posix_spawn %s: %s\n", exe, strerror(rc));
                return 2;
            }
            started++;
            running++;
            if (relay || guarded)
                close(out[1]);
            if (guarded) {
                close(err[1]);
                capture(out[0], err[0]);
            }
            if (relay) {
                for (;;) {
                    ssize_t n = splice(out[0], NULL, 1, NULL, 1 << 20, SPLICE_F_MOVE);
                    if (n == 0)
                        break;
                    if (n < 0 && errno != EINTR) {
                        perror("floor: splice");
                        return 2;
                    }
                    /* A small piece: let the pipe fill before the next,
                     * or each of the task's writes costs a wake-up. */
                    if (n > 0 && n < 256 * 1024)
                        usleep(200);
                }
                close(out[0]);
            }
            if (relay || guarded) {
                /* The next task's actions: a fresh list with these dup2s gone. */
                posix_spawn_file_actions_destroy(&fa);
                task_actions(&fa, from_stdin);
            }
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
        if (w == guard)
            continue;
        running--;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed = 1;
    }
    if (guard > 0) {
        kill(guard, SIGKILL);
        while (waitpid(guard, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    return failed;
}
