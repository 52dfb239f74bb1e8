/*
 * cmd_pcscd.c — `cardvm pcscd IMAGE...`: a private pcscd, in the foreground,
 * with one cardvm virtual reader (apdu/ifd/) per card image.
 *
 * Why private, and how. Debian's pcscd (1.9.9) has no option for its socket
 * path: it always creates /run/pcscd/pcscd.comm and /run/pcscd/pcscd.pid,
 * which belong to the system's pcscd. Clients, on the other hand, honour
 * PCSCLITE_CSOCK_NAME. So the pcscd we start runs in its own mount namespace
 * where a private directory is bind-mounted over /run: its socket lands in
 * DIR/run/pcscd/pcscd.comm, which every client reaches through
 * PCSCLITE_CSOCK_NAME, and nothing of the system's pcscd is touched. In the
 * same namespace an empty directory hides pcsc-lite's USB driver folder, so
 * the private pcscd never claims a real USB reader from the system's pcscd.
 * As root this is unshare(CLONE_NEWNS); otherwise an unprivileged user
 * namespace (root mapped to the caller) is tried.
 *
 * The reader of IMAGE is named "cardvm <file name of IMAGE>" (made unique
 * with "-2", "-3"... when two images share a file name); pcscd appends its
 * reader and slot numbers, e.g. "cardvm card1.img 00 00". Its DEVICENAME is
 * "cardvm:" + the absolute image path, so a reader exists even while its
 * image does not (the card appears when the file does).
 *
 * Lifetime: SIGINT, SIGTERM or SIGHUP stop pcscd (by its pid: SIGTERM, then
 * SIGKILL after 5 s) and remove the private files. If cardvm itself is
 * killed, pcscd gets SIGTERM from the kernel (PR_SET_PDEATHSIG).
 */
#define _GNU_SOURCE /* unshare, CLONE_NEWNS */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <winscard.h>

#include "cli.h"

/* pcsc-lite's USB driver folder (Debian: usbdropdir of libpcsclite.pc). */
#define PCSC_USB_DRIVER_DIR "/usr/lib/pcsc/drivers"
#define IFD_LIBRARY_NAME "libifd-cardvm.so"
/* Long enough for pcscd to load its readers on a slow machine. */
#define PCSCD_START_TIMEOUT_MS 10000
#define PCSCD_STOP_TIMEOUT_MS 5000
/* pcsc-lite's MAX_READERNAME is 128 including " 00 00" and the NUL. */
#define FRIENDLY_NAME_MAX 100

typedef struct private_reader {
    char image_path[PATH_MAX];    /* absolute */
    char friendly_name[FRIENDLY_NAME_MAX + 1];
    char reader_name[256];        /* as pcscd names it, once known */
} private_reader;

/* Everything one `cardvm pcscd` run owns; cleaned up by pcscd_cleanup. */
typedef struct pcscd_run {
    char dir[PATH_MAX];           /* private folder */
    int dir_created;              /* we made it (so we remove it) */
    char conf_path[PATH_MAX];     /* DIR/reader.conf */
    char run_dir[PATH_MAX];       /* DIR/run: mounted over /run for pcscd */
    char ipc_dir[PATH_MAX];       /* DIR/run/pcscd */
    char socket_path[PATH_MAX];   /* DIR/run/pcscd/pcscd.comm */
    char empty_dir[PATH_MAX];     /* DIR/no-usb-drivers */
    char driver_path[PATH_MAX];
    char pcscd_path[PATH_MAX];
    int debug;
    private_reader *readers;
    size_t reader_count;
    pid_t pcscd_pid;
} pcscd_run;

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm pcscd [options] IMAGE...\n\n"
            "Run a private pcscd in the foreground with one virtual reader per card\n"
            "image (the cardvm IFD handler), so that unmodified PC/SC programs —\n"
            "pcsc_scan, opensc-tool, scriptor, pyscard, `cardvm send --reader` —\n"
            "talk to the cards. Prints the reader names and the line\n"
            "  export PCSCLITE_CSOCK_NAME=...\n"
            "that points clients at this pcscd; the system's pcscd is not touched.\n"
            "Ctrl-C (SIGINT) or SIGTERM stops pcscd and removes its files. Card\n"
            "state is committed to the images after every APDU.\n\n"
            "Options:\n"
            "  --driver PATH  the IFD handler library (default: next to cardvm, then\n"
            "                 the installed " IFD_LIBRARY_NAME ")\n"
            "  --dir DIR      keep the private files (reader.conf, socket) in DIR,\n"
            "                 so the socket path is known in advance and stays the\n"
            "                 same across restarts (default: a new temporary folder)\n"
            "  --pcscd PATH   the pcscd program (default: pcscd from PATH or /usr/sbin)\n"
            "  --debug        pcscd logs at debug level, the driver every APDU, secrets\n"
            "                 sent in clear hidden (on stderr), and every failed\n"
            "                 applet call explained (uncaught exception, budget\n"
            "                 overrun, failed install; as `cardvm --trace pcscd`)\n"
            "  --lab          lab durability: each card is kept in memory while its\n"
            "                 reader is powered and saved to its image at power-off\n"
            "                 (no fsync per APDU; docs/image-format.md)\n"
            "Each image may be named once: the same file twice (by any path) is refused.\n");
}

static void run_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cardvm pcscd: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* out = dir + "/" + name; -1 when it does not fit. */
static int path_join(char *out, size_t cap, const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    if (dl + 1 + nl + 1 > cap) return -1;
    memcpy(out, dir, dl);
    out[dl] = '/';
    memcpy(out + dl + 1, name, nl + 1);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- finding the driver and pcscd ---- */

/* lib_dir/<subdir>/cardvm/libifd-cardvm.so for any one-level subdir (the
 * multiarch folder of GNUInstallDirs, e.g. lib/x86_64-linux-gnu). */
static int find_in_multiarch(const char *lib_dir, char *out, size_t cap)
{
    DIR *d = opendir(lib_dir);
    if (!d) return -1;
    struct dirent *e;
    int found = -1;
    while (found != 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char cand[PATH_MAX];
        if (snprintf(cand, sizeof cand, "%s/%s/cardvm/" IFD_LIBRARY_NAME, lib_dir, e->d_name) >= (int)sizeof cand)
            continue;
        if (is_regular_file(cand)) {
            snprintf(out, cap, "%s", cand);
            found = 0;
        }
    }
    closedir(d);
    return found;
}

/* The driver that belongs to this cardvm: the build tree's (bin/../lib),
 * then the installed one relative to the binary, then the configured
 * install path. */
static int find_driver(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *bin_dir = dirname(exe);
        char lib_dir[PATH_MAX], cand[PATH_MAX];
        snprintf(lib_dir, sizeof lib_dir, "%s/../lib", bin_dir);
        const char *suffixes[] = {"/" IFD_LIBRARY_NAME, "/cardvm/" IFD_LIBRARY_NAME};
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
            snprintf(cand, sizeof cand, "%s%s", lib_dir, suffixes[i]);
            if (is_regular_file(cand) && realpath(cand, out)) return 0;
        }
        if (find_in_multiarch(lib_dir, cand, sizeof cand) == 0 && realpath(cand, out)) return 0;
    }
#ifdef CARDVM_IFD_INSTALL_PATH
    if (is_regular_file(CARDVM_IFD_INSTALL_PATH)) {
        snprintf(out, cap, "%s", CARDVM_IFD_INSTALL_PATH);
        return 0;
    }
#endif
    (void)cap;
    return -1;
}

static int find_pcscd(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (path) {
        char *copy = strdup(path);
        char *save = NULL;
        for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
            char cand[PATH_MAX];
            if (snprintf(cand, sizeof cand, "%s/pcscd", dir[0] ? dir : ".") >= (int)sizeof cand) continue;
            if (is_executable_file(cand)) {
                snprintf(out, cap, "%s", cand);
                free(copy);
                return 0;
            }
        }
        free(copy);
    }
    const char *fixed[] = {"/usr/sbin/pcscd", "/usr/local/sbin/pcscd", "/sbin/pcscd"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (is_executable_file(fixed[i])) {
            snprintf(out, cap, "%s", fixed[i]);
            return 0;
        }
    }
    return -1;
}

/* ---- the readers ---- */

/* Absolute path of an image that may not exist yet (its folder must). */
static int absolute_image_path(const char *image, char *out, size_t cap)
{
    char resolved[PATH_MAX];
    if (realpath(image, resolved)) {
        snprintf(out, cap, "%s", resolved);
        return 0;
    }
    char dir_copy[PATH_MAX], base_copy[PATH_MAX];
    snprintf(dir_copy, sizeof dir_copy, "%s", image);
    snprintf(base_copy, sizeof base_copy, "%s", image);
    if (!realpath(dirname(dir_copy), resolved)) return -1;
    const char *base = basename(base_copy);
    if (snprintf(out, cap, "%s/%s", strcmp(resolved, "/") == 0 ? "" : resolved, base) >= (int)cap) return -1;
    return 0;
}

/* reader.conf values are bare words up to white space; keep paths simple. */
static int path_fits_reader_conf(const char *path)
{
    for (const char *p = path; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '"' || *p == '#') return 0;
    return 1;
}

static void make_friendly_name(pcscd_run *run, size_t index)
{
    private_reader *r = &run->readers[index];
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", r->image_path);
    char base[FRIENDLY_NAME_MAX - 16];
    snprintf(base, sizeof base, "%s", basename(copy));
    /* Reader names travel through many programs: printable ASCII only. */
    for (char *p = base; *p; p++)
        if (*p < 0x21 || *p > 0x7E || *p == '"') *p = '_';
    for (unsigned suffix = 1;; suffix++) {
        if (suffix == 1) snprintf(r->friendly_name, sizeof r->friendly_name, "cardvm %s", base);
        else snprintf(r->friendly_name, sizeof r->friendly_name, "cardvm %s-%u", base, suffix);
        int taken = 0;
        for (size_t j = 0; j < index; j++)
            if (strcmp(run->readers[j].friendly_name, r->friendly_name) == 0) taken = 1;
        if (!taken) return;
    }
}

static int write_reader_conf(const pcscd_run *run)
{
    FILE *f = fopen(run->conf_path, "w");
    if (!f) {
        run_error("%s: %s", run->conf_path, strerror(errno));
        return -1;
    }
    fprintf(f, "# Written by `cardvm pcscd`; removed when it stops.\n");
    for (size_t i = 0; i < run->reader_count; i++) {
        fprintf(f, "\nFRIENDLYNAME \"%s\"\nDEVICENAME cardvm:%s\nLIBPATH %s\n", run->readers[i].friendly_name,
                run->readers[i].image_path, run->driver_path);
    }
    if (fclose(f) != 0) {
        run_error("%s: %s", run->conf_path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the private folder ---- */

static int make_private_dir(pcscd_run *run, const char *wanted)
{
    if (wanted) {
        if (mkdir(wanted, 0700) == 0) run->dir_created = 1;
        else if (errno != EEXIST) {
            run_error("%s: %s", wanted, strerror(errno));
            return -1;
        }
        if (!realpath(wanted, run->dir)) {
            run_error("%s: %s", wanted, strerror(errno));
            return -1;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        if (!tmp || !tmp[0]) tmp = "/tmp";
        snprintf(run->dir, sizeof run->dir, "%s/cardvm-pcscd.XXXXXX", tmp);
        if (!mkdtemp(run->dir)) {
            run_error("cannot make a folder in %s: %s", tmp, strerror(errno));
            return -1;
        }
        run->dir_created = 1;
    }
    if (path_join(run->conf_path, sizeof run->conf_path, run->dir, "reader.conf") != 0 ||
        path_join(run->run_dir, sizeof run->run_dir, run->dir, "run") != 0 ||
        path_join(run->ipc_dir, sizeof run->ipc_dir, run->run_dir, "pcscd") != 0 ||
        path_join(run->socket_path, sizeof run->socket_path, run->ipc_dir, "pcscd.comm") != 0 ||
        path_join(run->empty_dir, sizeof run->empty_dir, run->dir, "no-usb-drivers") != 0) {
        run_error("%s: path too long", run->dir);
        return -1;
    }
    struct sockaddr_un probe;
    if (strlen(run->socket_path) >= sizeof probe.sun_path) {
        run_error("socket path too long for a unix socket: %s", run->socket_path);
        return -1;
    }
    if ((mkdir(run->run_dir, 0755) != 0 && errno != EEXIST) || (mkdir(run->empty_dir, 0755) != 0 && errno != EEXIST)) {
        run_error("%s: %s", run->dir, strerror(errno));
        return -1;
    }
    /* A stale socket from a pcscd that was killed hard would make clients
     * talk to nobody; pcscd recreates it. */
    unlink(run->socket_path);
    return 0;
}

static void pcscd_cleanup(pcscd_run *run)
{
    if (!run->dir[0]) return;
    /* pcscd removes its own socket and pid file when it exits cleanly. */
    unlink(run->socket_path);
    char pid_file[PATH_MAX];
    if (path_join(pid_file, sizeof pid_file, run->ipc_dir, "pcscd.pid") == 0) unlink(pid_file);
    rmdir(run->ipc_dir);
    rmdir(run->run_dir);
    rmdir(run->empty_dir);
    unlink(run->conf_path);
    if (run->dir_created) rmdir(run->dir);
}

/* ---- starting pcscd ---- */

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In the child: a mount namespace of our own, as root or through a user
 * namespace. Writes a reason to `why` on failure. */
static int enter_private_namespace(char *why, size_t cap)
{
    if (unshare(CLONE_NEWNS) == 0) return 0;
    int root_errno = errno;
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
        snprintf(why, cap, "cannot make a private mount namespace for pcscd (%s; user namespace: %s)",
                 strerror(root_errno), strerror(errno));
        return -1;
    }
    char map[64];
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
    if (write_file("/proc/self/uid_map", map) != 0) {
        snprintf(why, cap, "cannot map the user namespace: %s", strerror(errno));
        return -1;
    }
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
    if (write_file("/proc/self/gid_map", map) != 0) {
        snprintf(why, cap, "cannot map the user namespace: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* The child between fork and exec. Reports a failure through `report_fd`
 * (close-on-exec: the parent reads EOF when exec succeeded). */
static void pcscd_child(const pcscd_run *run, pid_t parent, int report_fd)
{
    char why[PATH_MAX + 128] = "";
    /* Die with cardvm, even if it is killed with SIGKILL. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (enter_private_namespace(why, sizeof why) != 0) goto fail;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        snprintf(why, sizeof why, "cannot make mounts private: %s", strerror(errno));
        goto fail;
    }
    if (mount(run->run_dir, "/run", NULL, MS_BIND, NULL) != 0) {
        snprintf(why, sizeof why, "cannot mount %s on /run: %s", run->run_dir, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (stat(PCSC_USB_DRIVER_DIR, &st) == 0 && S_ISDIR(st.st_mode) &&
        mount(run->empty_dir, PCSC_USB_DRIVER_DIR, NULL, MS_BIND, NULL) != 0) {
        snprintf(why, sizeof why, "cannot hide %s: %s", PCSC_USB_DRIVER_DIR, strerror(errno));
        goto fail;
    }
    /* pcscd logs to stdout in the foreground; ours carries the reader list
     * and the export line, so pcscd's log goes to stderr. */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    char *argv[8];
    int argc = 0;
    argv[argc++] = (char *)"pcscd";
    argv[argc++] = (char *)"--foreground";
    argv[argc++] = (char *)"--config";
    argv[argc++] = (char *)run->conf_path;
    if (run->debug) {
        /* The APDU log comes from the driver, which hides secrets sent in
         * clear (apdu/apdu_redact.h); pcscd's own --apdu would show them. */
        argv[argc++] = (char *)"--debug";
        setenv("CARDVM_IFD_DEBUG", "1", 1);
    }
    /* --trace: the driver explains failed applet calls on the log, with the
     * names and lines of the --debug-cap files */
    if (cli_trace())
        setenv("CARDVM_IFD_TRACE", "1", 1);
    if (cli_debug_cap_list()[0])
        setenv("CARDVM_IFD_DEBUG_CAPS", cli_debug_cap_list(), 1);
    argv[argc] = NULL;
    execv(run->pcscd_path, argv);
    snprintf(why, sizeof why, "cannot run %s: %s", run->pcscd_path, strerror(errno));
fail:
    if (write(report_fd, why, strlen(why)) < 0) { /* nothing more to do */
    }
    _exit(127);
}

static int start_pcscd(pcscd_run *run)
{
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        run_error("pipe: %s", strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        run_error("fork: %s", strerror(errno));
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0) {
        close(report[0]);
        pcscd_child(run, parent, report[1]);
    }
    close(report[1]);
    run->pcscd_pid = pid;
    char why[PATH_MAX + 128];
    ssize_t n;
    do {
        n = read(report[0], why, sizeof why - 1);
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n > 0) {
        why[n] = 0;
        run_error("%s", why);
        waitpid(pid, NULL, 0);
        run->pcscd_pid = 0;
        return -1;
    }
    return 0;
}

/* Did pcscd exit? Reaps it (without waiting) and says how. */
static int pcscd_exited(pcscd_run *run)
{
    if (run->pcscd_pid <= 0) return 1;
    int status;
    pid_t r = waitpid(run->pcscd_pid, &status, WNOHANG);
    if (r == run->pcscd_pid) {
        if (WIFEXITED(status)) run_error("pcscd (pid %ld) exited with status %d", (long)r, WEXITSTATUS(status));
        else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
            run_error("pcscd (pid %ld) was killed by signal %d", (long)r, WTERMSIG(status));
        run->pcscd_pid = 0;
        return 1;
    }
    return 0;
}

static void stop_pcscd(pcscd_run *run)
{
    if (run->pcscd_pid <= 0) return;
    kill(run->pcscd_pid, SIGTERM);
    for (long waited = 0; waited < PCSCD_STOP_TIMEOUT_MS; waited += 20) {
        if (waitpid(run->pcscd_pid, NULL, WNOHANG) == run->pcscd_pid) {
            run->pcscd_pid = 0;
            return;
        }
        sleep_ms(20);
    }
    run_error("pcscd (pid %ld) ignored SIGTERM; killing it", (long)run->pcscd_pid);
    kill(run->pcscd_pid, SIGKILL);
    waitpid(run->pcscd_pid, NULL, 0);
    run->pcscd_pid = 0;
}

/* Wait until pcscd answers and lists all our readers; fill reader names.
 * Returns 0, or -1 when pcscd died or a stop signal came. */
static int wait_for_readers(pcscd_run *run)
{
    setenv("PCSCLITE_CSOCK_NAME", run->socket_path, 1);
    for (long waited = 0;; waited += 50) {
        if (stop_signal || pcscd_exited(run)) return -1;
        if (waited >= PCSCD_START_TIMEOUT_MS) {
            run_error("pcscd did not list all %zu readers within %d s (see its log above)", run->reader_count,
                      PCSCD_START_TIMEOUT_MS / 1000);
            return -1;
        }
        struct stat st;
        if (stat(run->socket_path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
            sleep_ms(50);
            continue;
        }
        SCARDCONTEXT ctx;
        if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS) {
            sleep_ms(50);
            continue;
        }
        char *names = NULL;
        DWORD names_len = SCARD_AUTOALLOCATE;
        LONG rv = SCardListReaders(ctx, NULL, (LPSTR)&names, &names_len);
        size_t matched = 0;
        if (rv == SCARD_S_SUCCESS) {
            for (size_t i = 0; i < run->reader_count; i++) {
                private_reader *r = &run->readers[i];
                size_t flen = strlen(r->friendly_name);
                for (const char *n = names; *n; n += strlen(n) + 1) {
                    /* pcscd's name: FRIENDLYNAME " %02X %02X" */
                    if (strncmp(n, r->friendly_name, flen) == 0 && strlen(n) == flen + 6 && n[flen] == ' ') {
                        snprintf(r->reader_name, sizeof r->reader_name, "%s", n);
                        matched++;
                        break;
                    }
                }
            }
            SCardFreeMemory(ctx, names);
        }
        SCardReleaseContext(ctx);
        if (matched == run->reader_count) return 0;
        sleep_ms(50);
    }
}

static void print_ready(const pcscd_run *run)
{
    printf("pcscd pid %ld, driver %s\n", (long)run->pcscd_pid, run->driver_path);
    for (size_t i = 0; i < run->reader_count; i++) {
        const private_reader *r = &run->readers[i];
        printf("reader \"%s\": %s%s\n", r->reader_name, r->image_path,
               is_regular_file(r->image_path) ? "" : " (no image yet: the card appears when it exists)");
    }
    printf("export PCSCLITE_CSOCK_NAME=%s\n", run->socket_path);
    printf("ready; Ctrl-C stops pcscd\n");
    fflush(stdout);
}

/* ---- the command ---- */

/* The readers of the images named; -2 when one file is named twice (a usage
 * error), -1 on another failure (reported). */
static int parse_images(pcscd_run *run, int count, char **images)
{
    run->readers = calloc((size_t)count, sizeof *run->readers);
    if (!run->readers) {
        run_error("out of memory");
        return -1;
    }
    run->reader_count = (size_t)count;
    for (int i = 0; i < count; i++) {
        private_reader *r = &run->readers[i];
        if (absolute_image_path(images[i], r->image_path, sizeof r->image_path) != 0) {
            run_error("%s: folder not found", images[i]);
            return -1;
        }
        if (!path_fits_reader_conf(r->image_path)) {
            run_error("%s: pcscd's reader.conf cannot hold a path with spaces, quotes or '#'", r->image_path);
            return -1;
        }
        struct stat st;
        int exists = stat(r->image_path, &st) == 0;
        if (exists && !S_ISREG(st.st_mode)) {
            run_error("%s: not a card image file", r->image_path);
            return -1;
        }
        /* Two readers on one image would be two cards writing one file: the
         * same file is the same device and inode, whatever path names it
         * (links, "./"); an image not made yet is known by its path. */
        for (int k = 0; k < i; k++) {
            struct stat prev;
            int same = exists ? stat(run->readers[k].image_path, &prev) == 0 && prev.st_dev == st.st_dev &&
                                    prev.st_ino == st.st_ino
                              : strcmp(run->readers[k].image_path, r->image_path) == 0;
            if (same) {
                run_error("'%s' and '%s' are the same image: one reader per image", images[k], images[i]);
                return -2;
            }
        }
        make_friendly_name(run, (size_t)i);
    }
    return 0;
}

int cmd_pcscd(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return 0;
    }
    static const struct option opts[] = {
        {"driver", required_argument, 0, 'D'}, {"dir", required_argument, 0, 'd'},
        {"pcscd", required_argument, 0, 'p'},  {"debug", no_argument, 0, 'g'},
        {"lab", no_argument, 0, 'L'},          {0, 0, 0, 0},
    };
    pcscd_run run;
    memset(&run, 0, sizeof run);
    const char *driver_opt = NULL, *dir_opt = NULL, *pcscd_opt = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'D': driver_opt = optarg; break;
        case 'd': dir_opt = optarg; break;
        case 'p': pcscd_opt = optarg; break;
        case 'g': run.debug = 1; break;
        case 'L': setenv("CARDVM_DURABILITY", "lab", 1); break;   /* read by the IFD handler in pcscd */
        default: help(stderr); return 2;
        }
    }
    if (optind >= argc) {
        help(stderr);
        return 2;
    }
    if (argc - optind > 16) {
        run_error("at most 16 readers in one pcscd (pcsc-lite's limit)");
        return 2;
    }

    int status = 1;
    int parsed = parse_images(&run, argc - optind, argv + optind);
    if (parsed != 0) {
        if (parsed == -2) status = CLI_EXIT_USAGE;   /* the same image twice */
        goto out;
    }
    if (driver_opt) {
        if (!realpath(driver_opt, run.driver_path) || !is_regular_file(run.driver_path)) {
            run_error("driver %s: not found", driver_opt);
            goto out;
        }
    } else if (find_driver(run.driver_path, sizeof run.driver_path) != 0) {
        run_error("cannot find " IFD_LIBRARY_NAME " next to cardvm or installed; use --driver PATH");
        goto out;
    }
    if (!path_fits_reader_conf(run.driver_path)) {
        run_error("%s: pcscd's reader.conf cannot hold a path with spaces, quotes or '#'", run.driver_path);
        goto out;
    }
    if (pcscd_opt) snprintf(run.pcscd_path, sizeof run.pcscd_path, "%s", pcscd_opt);
    else if (find_pcscd(run.pcscd_path, sizeof run.pcscd_path) != 0) {
        run_error("pcscd is not installed (Debian: apt-get install pcscd)");
        goto out;
    }
    if (!is_executable_file(run.pcscd_path)) {
        run_error("%s: not an executable", run.pcscd_path);
        goto out;
    }

    if (make_private_dir(&run, dir_opt) != 0) goto out;
    if (write_reader_conf(&run) != 0) goto out;

    /* No SA_RESTART: a stop signal cuts the waits below short. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    if (start_pcscd(&run) != 0) goto out;
    if (wait_for_readers(&run) != 0) {
        status = stop_signal ? 0 : 1;
        goto out;
    }
    print_ready(&run);

    /* Poll rather than block in waitpid: a signal landing just before a
     * blocking call would be missed until pcscd exits on its own. */
    while (!stop_signal && !pcscd_exited(&run)) sleep_ms(100);
    if (stop_signal) status = 0;

out:
    stop_pcscd(&run);
    pcscd_cleanup(&run);
    free(run.readers);
    return status;
}
