/*
 * test_pager.c — crash tests of the image file at the system-call level, as
 * SQLite's crash tests do: a chip_io layer counts the pwrite/fdatasync/
 * ftruncate calls of one commit and "crashes" after the n-th, for every n.
 * The image is then opened afresh and must hold the state before the commit
 * or the state after it, never a mix; a commit that returned CHIP_OK must be
 * there. Crash kinds:
 *
 *   KILL    the process dies after the call: every write made so far stays
 *           (the page cache survives a killed process).
 *   TORN    the n-th call, a write, stops half way, then KILL.
 *   POWER   the host loses power after the call: writes not yet synced are
 *           lost (undone, newest first).
 *   REORDER like POWER, but each unsynced write independently survives or
 *           not (the disk wrote back some blocks, in any order).
 *   FAIL    the n-th call fails (EIO / ENOSPC) and the process goes on: the
 *           commit is refused, memory and file keep the old state, and the
 *           next commit works.
 *
 * Scenarios cover a plain commit, a commit that triggers a checkpoint (log
 * full), a commit that frees a heap block (checkpoint + log wipe), and
 * chip_commit_now; and in lab mode (commits in memory, saved by chip_save
 * without fsync) a save, a save whose record fills the log (checkpoint) and a
 * save after a heap free (checkpoint + wipe): a crash of the host, too, must
 * leave the state before or after the save. A lab save that returned OK may
 * be lost by a host crash (it was not synced), never half kept.
 */
#define _DEFAULT_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <zlib.h>

#include "chip.h"
#include "testfiles.h"

static char tmpdir[256];

enum crash_kind { KILL, TORN, POWER, REORDER, FAIL };
static const char *kind_name[] = {"kill", "torn", "power", "reorder", "fail"};

typedef struct undo {
    off_t off;
    size_t len;
    uint8_t *old;       /* bytes before the write (len_old of them) */
    size_t len_old;
    off_t size_before;  /* file size before the write */
} undo;

typedef struct crash_io {
    int armed;
    unsigned calls;     /* counted calls since armed */
    unsigned crash_at;  /* 0: never */
    enum crash_kind kind;
    int crashed;
    unsigned seed;
    undo *undos;
    size_t n_undo, cap_undo;
} crash_io;

static void forget_undos(crash_io *x)
{
    for (size_t i = 0; i < x->n_undo; i++) free(x->undos[i].old);
    x->n_undo = 0;
}

static void remember(crash_io *x, int fd, size_t len, off_t off)
{
    if (x->n_undo == x->cap_undo) {
        x->cap_undo = x->cap_undo ? 2 * x->cap_undo : 64;
        x->undos = realloc(x->undos, x->cap_undo * sizeof *x->undos);
        assert_non_null(x->undos);
    }
    undo *u = &x->undos[x->n_undo++];
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    u->off = off;
    u->len = len;
    u->size_before = st.st_size;
    u->old = malloc(len ? len : 1);
    assert_non_null(u->old);
    ssize_t n = pread(fd, u->old, len, off);
    u->len_old = n > 0 ? (size_t)n : 0;
}

/* Power lost: unsynced writes vanish (all, or a random subset). */
static void lose_unsynced(crash_io *x, int fd)
{
    for (size_t i = x->n_undo; i-- > 0;) {
        undo *u = &x->undos[i];
        if (x->kind == REORDER && (rand_r(&x->seed) & 1)) continue;
        if (u->len_old) assert_int_equal(pwrite(fd, u->old, u->len_old, u->off), (ssize_t)u->len_old);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        if (u->size_before < st.st_size && (off_t)(u->off + u->len) >= st.st_size)
            assert_int_equal(ftruncate(fd, u->size_before), 0);
    }
    forget_undos(x);
}

/* Count a call; returns 1 when this call is the one to crash at. */
static int tick(crash_io *x)
{
    if (!x->armed) return 0;
    x->calls++;
    return x->crash_at && x->calls == x->crash_at;
}

static ssize_t x_pwrite(void *ctx, int fd, const void *buf, size_t len, off_t off)
{
    crash_io *x = ctx;
    if (x->crashed) { errno = EIO; return -1; }
    int now = tick(x);
    if (now && x->kind == FAIL) { errno = ENOSPC; return -1; }
    if (x->armed) remember(x, fd, len, off);
    if (now && x->kind == TORN) {
        size_t half = len / 2;
        if (half) assert_int_equal(pwrite(fd, buf, half, off), (ssize_t)half);
        x->crashed = 1;
        errno = EIO;
        return -1;
    }
    ssize_t n = pwrite(fd, buf, len, off);
    if (now) {
        x->crashed = 1;
        if (x->kind == POWER || x->kind == REORDER) lose_unsynced(x, fd);
    }
    return n;
}

static ssize_t x_pread(void *ctx, int fd, void *buf, size_t len, off_t off)
{
    crash_io *x = ctx;
    if (x->crashed) { errno = EIO; return -1; }
    return pread(fd, buf, len, off);
}

static int x_sync(void *ctx, int fd)
{
    crash_io *x = ctx;
    if (x->crashed) { errno = EIO; return -1; }
    int now = tick(x);
    if (now && x->kind == FAIL) { errno = EIO; return -1; }
    int rc = fdatasync(fd);
    forget_undos(x);
    if (now) x->crashed = 1;
    return rc;
}

static int x_truncate(void *ctx, int fd, off_t len)
{
    crash_io *x = ctx;
    if (x->crashed) { errno = EIO; return -1; }
    int now = tick(x);
    if (now && x->kind == FAIL) { errno = EIO; return -1; }
    int rc = ftruncate(fd, len);
    if (now) x->crashed = 1;
    return rc;
}

/* ---- scenarios ---- */
enum scenario { PLAIN, CHECKPOINT, SCRUB, COMMIT_NOW, LAB_SAVE, LAB_CHECKPOINT, LAB_SCRUB };
static const char *scenario_name[] = {"plain", "checkpoint", "scrub", "commit-now", "lab-save", "lab-checkpoint",
                                      "lab-scrub"};
static int is_lab(enum scenario sc) { return sc >= LAB_SAVE; }

static chip_geometry geometry(void)
{
    chip_geometry g = {.rom_size = 4096, .nvm_size = 16384, .nvm_page_size = 64, .ram_size = 1024, .otp_size = 16};
    return g;
}

static const char *path_of(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* The starting image of a scenario, in base.img; returns the heap block to
 * free for SCRUB. Commits until the log is nearly full for CHECKPOINT. */
static uint32_t make_base(enum scenario sc)
{
    chip_geometry g = geometry();
    chip *c;
    unlink(path_of("base.img"));
    assert_int_equal(chip_create(&g, path_of("base.img"), &c), CHIP_OK);
    chip_end_masking(c);
    uint32_t blk;
    assert_int_equal(chip_nvm_alloc(c, 0x77, 1, 1000, &blk), CHIP_OK);
    assert_int_equal(chip_nvm_fill(c, blk, 0xC5, 1000), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    /* Some history in the log. */
    for (unsigned k = 0; k < 3; k++) {
        assert_int_equal(chip_nvm_fill(c, 2000 + 64 * k, (uint8_t)(0x10 + k), 64), CHIP_OK);
        assert_int_equal(chip_commit(c), CHIP_OK);
    }
    if (sc == CHECKPOINT || sc == LAB_CHECKPOINT) {
        /* Records of 40 pages (2944 bytes) until the victim's record (45
         * pages and OTP) triggers a checkpoint: the log region is 128 KiB and
         * a checkpoint follows the commit that leaves less than 8 KiB. */
        for (unsigned k = 0; k < 41; k++) {
            assert_int_equal(chip_nvm_fill(c, 8192, (uint8_t)k, 40 * 64), CHIP_OK);
            assert_int_equal(chip_commit(c), CHIP_OK);
        }
    }
    chip_close(c);
    return blk;
}

/* The victim commit's writes. */
static int victim(chip *c, enum scenario sc, uint32_t blk)
{
    int rc = CHIP_OK;
    switch (sc) {
    case PLAIN:
    case CHECKPOINT:
        rc = chip_nvm_fill(c, 3000, 0xAB, 300);
        if (!rc) rc = chip_nvm_fill(c, 8192, 0xEE, 40 * 64);
        if (!rc) rc = chip_otp_burn_bit(c, 9);
        if (!rc) rc = chip_commit(c);
        break;
    case SCRUB:
        rc = chip_nvm_free(c, blk);
        if (!rc) rc = chip_commit(c);
        break;
    case COMMIT_NOW:
        rc = chip_nvm_fill(c, 5000, 0x42, 1);       /* the counter */
        if (!rc) rc = chip_nvm_fill(c, 5100, 0x43, 10); /* not part of it */
        if (!rc) rc = chip_commit_now(c, 5000, 1);
        break;
    case LAB_SAVE:
    case LAB_CHECKPOINT:
    case LAB_SCRUB:
        /* several commits in memory, then one save */
        chip_set_durability(c, CHIP_DURABLE_LAB);
        for (unsigned k = 0; k < 3 && !rc; k++) {
            rc = chip_nvm_fill(c, 3000 + 100 * k, (uint8_t)(0xA0 + k), 100);
            if (!rc) rc = chip_commit(c);
        }
        if (!rc) rc = chip_nvm_fill(c, 8192, 0xEE, 40 * 64);
        if (!rc) rc = chip_otp_burn_bit(c, 9);
        if (!rc && sc == LAB_SCRUB) rc = chip_nvm_free(c, blk);
        if (!rc) rc = chip_commit(c);
        if (!rc) rc = chip_save(c);
        chip_set_durability(c, CHIP_DURABLE_FULL);   /* the close saves nothing more */
        break;
    }
    return rc;
}

typedef struct snapshot {
    uint8_t nvm[16384];
    uint8_t otp[16];
} snapshot;

static void snap_of(const char *path, snapshot *s)
{
    chip *c;
    char err[256];
    if (chip_open(path, &c, err, sizeof err) != CHIP_OK) fail_msg("reopen: %s", err);
    chip_power_on(c);
    memcpy(s->nvm, chip_nvm_view(c), sizeof s->nvm);
    assert_int_equal(chip_otp_read(c, 0, s->otp, sizeof s->otp), CHIP_OK);
    chip_close(c);
}

static int snap_eq(const snapshot *a, const snapshot *b) { return !memcmp(a, b, sizeof *a); }

/* Old and new states of a scenario, computed by running it without crash. */
static void states(enum scenario sc, uint32_t blk, snapshot *before, snapshot *after, unsigned *calls)
{
    assert_int_equal(test_copy_file(path_of("base.img"), path_of("ref.img")), 0);
    snap_of(path_of("ref.img"), before);
    crash_io x = {0};
    chip_io io = {&x, x_pwrite, x_pread, x_sync, x_truncate};
    chip *c;
    char err[256];
    assert_int_equal(chip_open_ex(path_of("ref.img"), 0, &io, &c, err, sizeof err), CHIP_OK);
    assert_int_equal(chip_acquire(c), CHIP_OK);
    chip_power_on(c);
    x.armed = 1;
    assert_int_equal(victim(c, sc, blk), CHIP_OK);
    x.armed = 0;
    *calls = x.calls;
    chip_close(c);
    forget_undos(&x);
    free(x.undos);
    snap_of(path_of("ref.img"), after);
    assert_false(snap_eq(before, after));
}

static void crash_sweep(enum scenario sc, enum crash_kind kind)
{
    uint32_t blk = make_base(sc);
    snapshot before, after, got;
    unsigned calls;
    states(sc, blk, &before, &after, &calls);
    assert_true(calls >= (is_lab(sc) ? 1u : 2u));
    unsigned saw_old = 0, saw_new = 0;
    /* REORDER draws which unsynced writes survive: several draws per call. */
    unsigned draws = kind == REORDER ? 16 : 1;
    for (unsigned trial = 0; trial < calls * draws; trial++) {
        unsigned n = trial / draws + 1;
        assert_int_equal(test_copy_file(path_of("base.img"), path_of("crash.img")), 0);
        crash_io x = {.crash_at = n, .kind = kind, .seed = trial * 7919u + 1};
        chip_io io = {&x, x_pwrite, x_pread, x_sync, x_truncate};
        chip *c;
        char err[256];
        assert_int_equal(chip_open_ex(path_of("crash.img"), 0, &io, &c, err, sizeof err), CHIP_OK);
        assert_int_equal(chip_acquire(c), CHIP_OK);
        chip_power_on(c);
        x.armed = 1;
        int rc = victim(c, sc, blk);
        if (kind == FAIL && is_lab(sc)) {
            /* The process goes on: a failed save keeps the card in memory,
             * and the next save writes it all. */
            if (rc != CHIP_OK) assert_int_equal(rc, CHIP_ERR_IO);
            chip_set_durability(c, CHIP_DURABLE_LAB);
            assert_int_equal(chip_nvm_fill(c, 16000, 0x99, 1), CHIP_OK);
            assert_int_equal(chip_commit(c), CHIP_OK);
            assert_int_equal(chip_save(c), CHIP_OK);
        } else if (kind == FAIL) {
            /* The process goes on: memory is back to the old state, and a
             * later commit works and carries only its own change. */
            if (rc == CHIP_OK) {
                /* A failure inside a checkpoint after the commit was durable
                 * is harmless by design. */
            } else {
                assert_int_equal(rc, CHIP_ERR_IO);
                if (!strstr(chip_error(c), path_of("crash.img"))) fail_msg("error names no path: %s", chip_error(c));
                chip_rollback(c);
                if (memcmp(chip_nvm_view(c), before.nvm, sizeof before.nvm) != 0)
                    fail_msg("%s/%s call %u: memory not rolled back", scenario_name[sc], kind_name[kind], n);
            }
            assert_int_equal(chip_nvm_fill(c, 16000, 0x99, 1), CHIP_OK);
            assert_int_equal(chip_commit(c), CHIP_OK);
        }
        chip_close(c);
        forget_undos(&x);
        free(x.undos);
        snap_of(path_of("crash.img"), &got);
        if (kind == FAIL) {
            /* The later commit is there; take it away to compare (no
             * scenario touches byte 16000). */
            if (got.nvm[16000] != 0x99) fail_msg("%s/fail call %u: later commit lost", scenario_name[sc], n);
            got.nvm[16000] = before.nvm[16000];
        }
        int is_old = snap_eq(&got, &before), is_new = snap_eq(&got, &after);
        if (kind == FAIL && is_lab(sc) && !is_new)
            fail_msg("%s/fail call %u: the save after a failed one did not write the card", scenario_name[sc], n);
        if (kind == FAIL && !is_lab(sc) && rc != CHIP_OK && !is_old)
            fail_msg("%s/fail call %u: a refused commit reached the file", scenario_name[sc], n);
        if (!is_old && !is_new)
            fail_msg("%s/%s crash after call %u of %u: the image is neither the old nor the new state",
                     scenario_name[sc], kind_name[kind], n, calls);
        /* (a lab save is not synced: a host crash may lose it whole) */
        int durable = !is_lab(sc) || kind == KILL || kind == TORN;
        if (rc == CHIP_OK && kind != FAIL && durable && !is_new)
            fail_msg("%s/%s crash after call %u: a commit that returned OK is lost", scenario_name[sc],
                     kind_name[kind], n);
        saw_old += is_old;
        saw_new += is_new && !is_old;
    }
    print_message("%-10s %-7s %2u calls: %2u old, %2u new\n", scenario_name[sc], kind_name[kind], calls, saw_old,
                  saw_new);
    /* Structure: a torn, lost or failed first call leaves the old state; a
     * kill after the last call the new one. */
    if (kind != KILL && !(kind == FAIL && is_lab(sc))) assert_true(saw_old > 0);
    if (kind == KILL) assert_true(saw_new > 0);
}

#define SWEEPS(sc)                                                                        \
    static void test_##sc(void **s)                                                       \
    {                                                                                     \
        (void)s;                                                                          \
        for (int k = KILL; k <= FAIL; k++) crash_sweep(sc, (enum crash_kind)k);           \
    }
SWEEPS(PLAIN)
SWEEPS(CHECKPOINT)
SWEEPS(SCRUB)
SWEEPS(COMMIT_NOW)
SWEEPS(LAB_SAVE)
SWEEPS(LAB_CHECKPOINT)
SWEEPS(LAB_SCRUB)

/* The erased block's bytes are nowhere in the file after the scrub commit. */
static void test_scrub_leaves_no_copy(void **s)
{
    (void)s;
    uint32_t blk = make_base(SCRUB);
    assert_int_equal(test_copy_file(path_of("base.img"), path_of("scrub.img")), 0);
    static const uint8_t secret[32] = {0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5,
                                       0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5,
                                       0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5};
    size_t n;
    uint8_t *img = test_read_file(path_of("scrub.img"), &n);
    assert_true(test_has_bytes(img, n, secret, sizeof secret));
    free(img);
    chip *c;
    char err[256];
    assert_int_equal(chip_open(path_of("scrub.img"), &c, err, sizeof err), CHIP_OK);
    assert_int_equal(chip_acquire(c), CHIP_OK);
    chip_power_on(c);
    assert_int_equal(chip_nvm_free(c, blk), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    chip_close(c);
    img = test_read_file(path_of("scrub.img"), &n);
    assert_false(test_has_bytes(img, n, secret, sizeof secret));
    free(img);
}

/* The same when the erased bytes are in a dead record of an older log
 * generation, beyond every record of the current one, in an image reopened
 * since: the wipe covers the log up to the last byte ever written (found by
 * the open), not just up to the current records. */
static void test_scrub_covers_dead_records(void **s)
{
    (void)s;
    chip_geometry g = geometry();
    chip *c;
    char err[256];
    unlink(path_of("dead.img"));
    assert_int_equal(chip_create(&g, path_of("dead.img"), &c), CHIP_OK);
    chip_end_masking(c);
    assert_int_equal(chip_commit(c), CHIP_OK);
    /* Records of 40 pages (2944 bytes) fill the log to about 110 KiB ... */
    for (unsigned k = 0; k < 37; k++) {
        assert_int_equal(chip_nvm_fill(c, 8192, (uint8_t)k, 40 * 64), CHIP_OK);
        assert_int_equal(chip_commit(c), CHIP_OK);
    }
    /* ... then the secret's record lands near the log's end ... */
    uint32_t blk;
    assert_int_equal(chip_nvm_alloc(c, 0x77, 1, 1000, &blk), CHIP_OK);
    assert_int_equal(chip_nvm_fill(c, blk, 0xC5, 1000), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    /* ... and big records until a checkpoint starts a new generation: the
     * secret's record is dead, past the new generation's records. */
    for (unsigned k = 0; k < 8; k++) {
        assert_int_equal(chip_nvm_fill(c, 8192, (uint8_t)(0x80 + k), 40 * 64), CHIP_OK);
        assert_int_equal(chip_commit(c), CHIP_OK);
    }
    chip_close(c);
    static const uint8_t secret[32] = {0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5,
                                       0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5,
                                       0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5};
    size_t n;
    uint8_t *img = test_read_file(path_of("dead.img"), &n);
    /* the secret is in place (checkpointed) and in the dead record, near
     * the end of the log region */
    size_t last = 0;
    int copies = 0;
    for (size_t at = 0; at + sizeof secret <= n; at++)
        if (!memcmp(img + at, secret, sizeof secret)) {
            last = at;
            copies++;
            at += 999;
        }
    assert_true(copies >= 2);
    assert_true(last > n - 32768);
    free(img);
    assert_int_equal(chip_open(path_of("dead.img"), &c, err, sizeof err), CHIP_OK);
    assert_int_equal(chip_acquire(c), CHIP_OK);
    chip_power_on(c);
    assert_int_equal(chip_nvm_free(c, blk), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    chip_close(c);
    img = test_read_file(path_of("dead.img"), &n);
    assert_false(test_has_bytes(img, n, secret, sizeof secret));
    free(img);
    assert_int_equal(chip_open(path_of("dead.img"), &c, err, sizeof err), CHIP_OK);
    chip_close(c);
}

/* The image keeps its mode and stays the symlink's target; a failed create
 * through a planted symlink writes nothing. */
static void test_file_identity_kept(void **s)
{
    (void)s;
    make_base(PLAIN);
    assert_int_equal(test_copy_file(path_of("base.img"), path_of("mode.img")), 0);
    assert_int_equal(chmod(path_of("mode.img"), 0640), 0);
    unlink(path_of("link.img"));
    assert_int_equal(symlink(path_of("mode.img"), path_of("link.img")), 0);
    struct stat a, b;
    assert_int_equal(stat(path_of("mode.img"), &a), 0);
    chip *c;
    char err[256];
    assert_int_equal(chip_open(path_of("link.img"), &c, err, sizeof err), CHIP_OK);
    assert_int_equal(chip_acquire(c), CHIP_OK);
    chip_power_on(c);
    for (int k = 0; k < 200; k++) {   /* enough for checkpoints */
        assert_int_equal(chip_nvm_fill(c, 4096, (uint8_t)k, 2048), CHIP_OK);
        assert_int_equal(chip_commit(c), CHIP_OK);
    }
    chip_close(c);
    struct stat l;
    assert_int_equal(lstat(path_of("link.img"), &l), 0);
    assert_true(S_ISLNK(l.st_mode));
    assert_int_equal(stat(path_of("mode.img"), &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(b.st_mode & 07777, 0640);
    /* No file besides ours appeared in the directory (no temp copies). */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | grep -v -e '^base.img$' -e '^mode.img$' -e '^link.img$' "
                              "-e '^ref.img$' -e '^crash.img$' -e '^scrub.img$' -e '^dead.img$' -e '^new.img$' "
                              "-e '^torn.img$' -e '^big.img$' -e '^pool[AB].img$' -e '^fresh.img$' -e '^old.img$' | wc -l) -eq 0",
             tmpdir);
    assert_int_equal(system(cmd), 0);
    /* A new image is created 0600 (it will hold keys). */
    chip_geometry g = geometry();
    unlink(path_of("new.img"));
    assert_int_equal(chip_create(&g, path_of("new.img"), &c), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    chip_close(c);
    assert_int_equal(stat(path_of("new.img"), &b), 0);
    assert_int_equal(b.st_mode & 0777, 0600);
}

/* Lab mode: commits stay in memory; the file changes at save/close only. */
static void test_lab_mode_saves_at_close(void **s)
{
    (void)s;
    make_base(PLAIN);
    assert_int_equal(test_copy_file(path_of("base.img"), path_of("lab.img")), 0);
    snapshot before, mid, after;
    snap_of(path_of("lab.img"), &before);
    chip *c;
    char err[256];
    assert_int_equal(chip_open(path_of("lab.img"), &c, err, sizeof err), CHIP_OK);
    chip_set_durability(c, CHIP_DURABLE_LAB);
    assert_int_equal(chip_acquire(c), CHIP_OK);
    chip_power_on(c);
    for (int k = 0; k < 50; k++) {
        assert_int_equal(chip_nvm_fill(c, 4096 + 64 * (unsigned)k, (uint8_t)(k + 1), 64), CHIP_OK);
        assert_int_equal(chip_commit(c), CHIP_OK);
    }
    chip *r;
    assert_int_equal(chip_open_ex(path_of("lab.img"), CHIP_OPEN_READ_ONLY, NULL, &r, err, sizeof err), CHIP_OK);
    chip_power_on(r);
    memcpy(mid.nvm, chip_nvm_view(r), sizeof mid.nvm);
    chip_close(r);
    assert_memory_equal(mid.nvm, before.nvm, sizeof mid.nvm);
    chip_close(c);
    snap_of(path_of("lab.img"), &after);
    for (int k = 0; k < 50; k++) assert_int_equal(after.nvm[4096 + 64 * k], k + 1);
}

/* A writer killed while it wrote a record leaves a torn record at the log's
 * end (the next open rolls it back). A chip opened after that, which commits
 * without chip_acquire, must not take the torn record for another writer's
 * commit and refuse BUSY; a real commit by another writer in between must
 * still be refused. */
static void test_torn_record_is_no_change(void **s)
{
    (void)s;
    make_base(PLAIN);
    assert_int_equal(test_copy_file(path_of("base.img"), path_of("torn.img")), 0);
    /* the writer: its record's pwrite stops half way, then it dies */
    crash_io x = {.crash_at = 1, .kind = TORN};
    chip_io io = {&x, x_pwrite, x_pread, x_sync, x_truncate};
    chip *w, *c, *other;
    char err[256];
    assert_int_equal(chip_open_ex(path_of("torn.img"), 0, &io, &w, err, sizeof err), CHIP_OK);
    assert_int_equal(chip_acquire(w), CHIP_OK);
    chip_power_on(w);
    x.armed = 1;
    assert_int_equal(chip_nvm_fill(w, 3000, 0xAB, 300), CHIP_OK);
    assert_int_equal(chip_commit(w), CHIP_ERR_IO);
    chip_close(w);
    forget_undos(&x);
    free(x.undos);
    /* a recovering open, then a commit without the lock */
    assert_int_equal(chip_open(path_of("torn.img"), &c, err, sizeof err), CHIP_OK);
    chip_power_on(c);
    assert_int_equal(chip_nvm_fill(c, 3000, 0xCD, 300), CHIP_OK);
    if (chip_commit(c) != CHIP_OK) fail_msg("commit after a torn record: %s", chip_error(c));
    chip_close(c);
    snapshot got;
    snap_of(path_of("torn.img"), &got);
    assert_int_equal(got.nvm[3000], 0xCD);
    /* a change by another writer between open and commit is refused */
    assert_int_equal(chip_open(path_of("torn.img"), &c, err, sizeof err), CHIP_OK);
    chip_power_on(c);
    assert_int_equal(chip_open(path_of("torn.img"), &other, err, sizeof err), CHIP_OK);
    assert_int_equal(chip_acquire(other), CHIP_OK);
    chip_power_on(other);
    assert_int_equal(chip_nvm_fill(other, 3000, 0xEF, 1), CHIP_OK);
    assert_int_equal(chip_commit(other), CHIP_OK);
    chip_close(other);
    assert_int_equal(chip_nvm_fill(c, 3000, 0x01, 1), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_ERR_BUSY);
    chip_close(c);
    snap_of(path_of("torn.img"), &got);
    assert_int_equal(got.nvm[3000], 0xEF);
}

/* An open reads the header, the body up to its extents (recorded in the
 * header slot: what may be nonzero), OTP, page table and the log as far as
 * its records go: a few KiB for a card with a 256 KiB ROM and 128 KiB NVM.
 * The blank rest is checked all the same (ROM CRC over it, page-table
 * entries of blank pages). */
static size_t bytes_read;
static ssize_t count_pread(void *ctx, int fd, void *buf, size_t len, off_t off)
{
    (void)ctx;
    ssize_t n = pread(fd, buf, len, off);
    if (n > 0) bytes_read += (size_t)n;
    return n;
}

static void test_open_reads_extents(void **s)
{
    (void)s;
    chip_geometry g;
    chip_geometry_default(&g);
    chip *c;
    char err[256];
    unlink(path_of("big.img"));
    assert_int_equal(chip_create(&g, path_of("big.img"), &c), CHIP_OK);
    static const uint8_t code[600] = {1, 2, 3};
    assert_int_equal(chip_rom_write(c, 0, code, sizeof code), CHIP_OK);
    chip_end_masking(c);
    uint32_t blk;
    assert_int_equal(chip_nvm_alloc(c, 0x77, 1, 1000, &blk), CHIP_OK);
    assert_int_equal(chip_nvm_fill(c, blk, 0x5A, 1000), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    assert_int_equal(chip_nvm_fill(c, 100000, 0x6B, 64), CHIP_OK);   /* a page far out, in the log */
    assert_int_equal(chip_commit(c), CHIP_OK);
    chip_close(c);
    chip_io io = {NULL, chip_io_default()->pwrite, count_pread,
                  chip_io_default()->sync, chip_io_default()->truncate};
    bytes_read = 0;
    assert_int_equal(chip_open_ex(path_of("big.img"), 0, &io, &c, err, sizeof err), CHIP_OK);
    print_message("open of a %u KiB ROM / %u KiB NVM card read %zu bytes\n", g.rom_size / 1024, g.nvm_size / 1024,
                  bytes_read);
    assert_true(bytes_read < 48 * 1024);
    chip_power_on(c);
    const uint8_t *nvm = chip_nvm_view(c);
    assert_int_equal(nvm[blk], 0x5A);
    assert_int_equal(nvm[blk + 999], 0x5A);
    assert_int_equal(nvm[100000], 0x6B);
    for (uint32_t i = blk + 1000 + 8; i < 100000; i++)   /* after the free remainder's header */
        if (nvm[i]) fail_msg("NVM byte %u is %02X past the data", i, nvm[i]);
    uint8_t rom[4];
    assert_int_equal(chip_rom_read(c, 0, rom, 3), CHIP_OK);
    assert_int_equal(rom[2], 3);
    assert_int_equal(chip_rom_read(c, g.rom_size - 4, rom, 4), CHIP_OK);
    assert_int_equal(rom[0] | rom[1] | rom[2] | rom[3], 0);
    chip_close(c);
    /* A blank page whose page-table entry does not say blank is corruption,
     * even though the page itself is not read. */
    size_t n;
    uint8_t *img = test_read_file(path_of("big.img"), &n);
    size_t table = 512 + g.rom_size + g.nvm_size + g.otp_size;
    img[table + 8 * 2000 + 4] ^= 1;
    FILE *f = fopen(path_of("big.img"), "r+b");
    assert_non_null(f);
    assert_int_equal(fwrite(img, 1, n, f), n);
    fclose(f);
    free(img);
    assert_int_equal(chip_open(path_of("big.img"), &c, err, sizeof err), CHIP_ERR_FORMAT);
    assert_non_null(strstr(err, "NVM page 2000"));
}

/* An image from before extents (zero in its header slots) opens, read
 * whole, and its next checkpoint records both extents. */
static void clear_extents(const char *path)
{
    size_t n;
    uint8_t *img = test_read_file(path, &n);
    for (int k = 0; k < 2; k++) {
        uint8_t *h = img + 128 * k;
        if (memcmp(h, "CVMIMAGE", 8) != 0) continue;
        memset(h + 88, 0, 8);
        uint32_t crc = (uint32_t)crc32(0, h, 124);
        for (int i = 0; i < 4; i++) h[124 + i] = (uint8_t)(crc >> (8 * i));
    }
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fwrite(img, 1, n, f), n);
    fclose(f);
    free(img);
}

static void test_image_without_extents(void **s)
{
    (void)s;
    uint32_t blk = make_base(SCRUB);
    assert_int_equal(test_copy_file(path_of("base.img"), path_of("old.img")), 0);
    snapshot want, got;
    snap_of(path_of("old.img"), &want);
    clear_extents(path_of("old.img"));
    chip_io io = {NULL, chip_io_default()->pwrite, count_pread, chip_io_default()->sync, chip_io_default()->truncate};
    chip *c;
    char err[256];
    bytes_read = 0;
    assert_int_equal(chip_open_ex(path_of("old.img"), 0, &io, &c, err, sizeof err), CHIP_OK);
    size_t whole = bytes_read;
    chip_power_on(c);
    assert_memory_equal(chip_nvm_view(c), want.nvm, sizeof want.nvm);
    assert_int_equal(chip_acquire(c), CHIP_OK);
    assert_int_equal(chip_nvm_free(c, blk), CHIP_OK);   /* scrub: a checkpoint */
    assert_int_equal(chip_commit(c), CHIP_OK);
    chip_close(c);
    snap_of(path_of("old.img"), &got);
    bytes_read = 0;
    assert_int_equal(chip_open_ex(path_of("old.img"), 0, &io, &c, err, sizeof err), CHIP_OK);
    print_message("open without extents read %zu bytes, after a checkpoint %zu\n", whole, bytes_read);
    assert_true(whole >= geometry().rom_size + geometry().nvm_size);
    assert_true(bytes_read + geometry().nvm_size / 2 <= whole);   /* NVM read to its extent only */
    chip_power_on(c);
    assert_memory_equal(chip_nvm_view(c), got.nvm, sizeof got.nvm);
    chip_close(c);
}

/* A pool hands a closed chip's buffers to the next open: each card still
 * sees exactly its own image (nothing of the previous one), and its buffers
 * were wiped. */
static void test_pool_reuse(void **s)
{
    (void)s;
    chip_geometry g = geometry();
    char name[2][16] = {"poolA.img", "poolB.img"};
    snapshot want[2];
    for (int k = 0; k < 2; k++) {
        chip *c;
        unlink(path_of(name[k]));
        assert_int_equal(chip_create(&g, path_of(name[k]), &c), CHIP_OK);
        uint8_t rom[64];
        memset(rom, 0x30 + k, sizeof rom);
        assert_int_equal(chip_rom_write(c, k ? 0 : 1000, rom, k ? 64 : 16), CHIP_OK);
        chip_end_masking(c);
        assert_int_equal(chip_nvm_fill(c, 1024, (uint8_t)(0x40 + k), k ? 64 : 9000), CHIP_OK);
        assert_int_equal(chip_commit(c), CHIP_OK);
        chip_close(c);
        snap_of(path_of(name[k]), &want[k]);
    }
    chip_pool *pool;
    assert_int_equal(chip_pool_new(&pool), CHIP_OK);
    for (int round = 0; round < 6; round++) {
        int k = round % 2;
        chip *c;
        char err[256];
        assert_int_equal(chip_open_pooled(path_of(name[k]), CHIP_OPEN_LOCK, 0, pool, &c, err, sizeof err), CHIP_OK);
        assert_int_equal(chip_acquire(c), CHIP_OK);
        chip_power_on(c);
        assert_memory_equal(chip_nvm_view(c), want[k].nvm, sizeof want[k].nvm);
        const uint8_t *rom = chip_rom_view(c);
        for (uint32_t i = 0; i < g.rom_size; i++) {
            uint8_t e = k ? (i < 64 ? 0x31 : 0) : (i >= 1000 && i < 1016 ? 0x30 : 0);
            if (rom[i] != e) fail_msg("round %d: ROM byte %u is %02X, not %02X", round, i, rom[i], e);
        }
        /* uncommitted work beyond the data must not leak into the next card */
        assert_int_equal(chip_nvm_fill(c, 12000, 0xEE, 100), CHIP_OK);
        chip_close(c);
    }
    chip_pool_free(pool);
}

/* Lab mode: a heap block allocated, used and freed between two saves never
 * reached the file, so its free needs no checkpoint (the header slots stay
 * as they were) and the file holds no copy of it; a block that was in the
 * file is scrubbed as always. */
static void test_lab_fresh_block_needs_no_scrub(void **s)
{
    (void)s;
    uint32_t old = make_base(SCRUB);
    assert_int_equal(test_copy_file(path_of("base.img"), path_of("fresh.img")), 0);
    size_t n;
    uint8_t *a = test_read_file(path_of("fresh.img"), &n);
    static uint8_t secret[32];
    memset(secret, 0xD7, sizeof secret);
    chip *c;
    char err[256];
    assert_int_equal(chip_open(path_of("fresh.img"), &c, err, sizeof err), CHIP_OK);
    chip_set_durability(c, CHIP_DURABLE_LAB);
    assert_int_equal(chip_acquire(c), CHIP_OK);
    chip_power_on(c);
    uint32_t blk;
    assert_int_equal(chip_nvm_alloc(c, 0x78, 2, 500, &blk), CHIP_OK);
    assert_int_equal(chip_nvm_fill(c, blk, 0xD7, 500), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    assert_int_equal(chip_nvm_free(c, blk), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    assert_int_equal(chip_save(c), CHIP_OK);
    uint8_t *b = test_read_file(path_of("fresh.img"), &n);
    assert_memory_equal(a, b, 512);   /* no checkpoint: the header area is unchanged */
    assert_false(test_has_bytes(b, n, secret, sizeof secret));
    free(b);
    /* the block that was in the file is scrubbed (a checkpoint follows) */
    assert_int_equal(chip_nvm_free(c, old), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    assert_int_equal(chip_save(c), CHIP_OK);
    b = test_read_file(path_of("fresh.img"), &n);
    assert_true(memcmp(a, b, 512) != 0);
    memset(secret, 0xC5, sizeof secret);
    assert_false(test_has_bytes(b, n, secret, sizeof secret));
    free(a);
    free(b);
    chip_close(c);
}

static int setup(void **s)
{
    (void)s;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cardvm-test-pager-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **s)
{
    (void)s;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_PLAIN),
        cmocka_unit_test(test_CHECKPOINT),
        cmocka_unit_test(test_SCRUB),
        cmocka_unit_test(test_COMMIT_NOW),
        cmocka_unit_test(test_LAB_SAVE),
        cmocka_unit_test(test_LAB_CHECKPOINT),
        cmocka_unit_test(test_LAB_SCRUB),
        cmocka_unit_test(test_scrub_leaves_no_copy),
        cmocka_unit_test(test_scrub_covers_dead_records),
        cmocka_unit_test(test_file_identity_kept),
        cmocka_unit_test(test_lab_mode_saves_at_close),
        cmocka_unit_test(test_torn_record_is_no_change),
        cmocka_unit_test(test_open_reads_extents),
        cmocka_unit_test(test_image_without_extents),
        cmocka_unit_test(test_pool_reuse),
        cmocka_unit_test(test_lab_fresh_block_needs_no_scrub),
    };
    return cmocka_run_group_tests_name("pager", tests, setup, teardown);
}
