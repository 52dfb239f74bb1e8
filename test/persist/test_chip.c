/* test_chip.c — chip memory semantics, card image file, atomic commit, tears. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "chip.h"
#include "tear.h"
#include "testfiles.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static chip_geometry small_geometry(void)
{
    chip_geometry g = {.rom_size = 4096, .nvm_size = 8192, .nvm_page_size = 64, .ram_size = 1024, .otp_size = 16};
    return g;
}

static chip *make_chip(const char *name)
{
    chip_geometry g = small_geometry();
    chip *c;
    assert_int_equal(chip_create(&g, name ? tmp_path(name) : NULL, &c), CHIP_OK);
    return c;
}

static chip *reopen(chip *c)
{
    char path[512];
    snprintf(path, sizeof path, "%s", chip_path(c));
    chip_close(c);
    char err[256];
    chip *r;
    assert_int_equal(chip_open(path, &r, err, sizeof err), CHIP_OK);
    chip_power_on(r);
    return r;
}

static void test_rom_writable_only_while_masking(void **state)
{
    (void)state;
    chip *c = make_chip("rom.img");
    assert_int_equal(chip_rom_write(c, 10, "mask", 4), CHIP_OK);
    assert_int_equal(chip_rom_write(c, 4094, "xyz", 3), CHIP_ERR_RANGE);
    chip_end_masking(c);
    assert_int_equal(chip_rom_write(c, 10, "MASK", 4), CHIP_ERR_ROM);
    assert_int_equal(chip_commit(c), CHIP_OK);
    c = reopen(c);
    assert_false(chip_is_masking(c));
    assert_int_equal(chip_rom_write(c, 0, "x", 1), CHIP_ERR_ROM);
    char buf[4];
    assert_int_equal(chip_rom_read(c, 10, buf, 4), CHIP_OK);
    assert_memory_equal(buf, "mask", 4);
    chip_close(c);
}

static void test_otp_bits_burn_one_way(void **state)
{
    (void)state;
    chip *c = make_chip("otp.img");
    uint8_t v = 0x05;
    assert_int_equal(chip_otp_write(c, 3, &v, 1), CHIP_OK);
    v = 0x07;                                  /* adds a bit: allowed */
    assert_int_equal(chip_otp_write(c, 3, &v, 1), CHIP_OK);
    v = 0x03;                                  /* would clear bit 2: refused */
    assert_int_equal(chip_otp_write(c, 3, &v, 1), CHIP_ERR_OTP);
    uint8_t two[2] = {0xFF, 0x00};             /* second byte would clear: nothing written */
    assert_int_equal(chip_otp_write(c, 2, two, 2), CHIP_ERR_OTP);
    assert_int_equal(chip_otp_read(c, 2, two, 2), CHIP_OK);
    assert_int_equal(two[0], 0x00);
    assert_int_equal(two[1], 0x07);
    assert_int_equal(chip_otp_burn_bit(c, 0), CHIP_OK);
    assert_int_equal(chip_otp_bit(c, 0), 1);
    assert_int_equal(chip_otp_bit(c, 1), 0);
    assert_int_equal(chip_otp_burn_bit(c, 16 * 8), CHIP_ERR_RANGE);
    chip_end_masking(c);
    assert_int_equal(chip_commit(c), CHIP_OK);
    c = reopen(c);
    assert_int_equal(chip_otp_bit(c, 0), 1);
    assert_int_equal(chip_otp_bit(c, 3 * 8 + 2), 1);
    v = 0;
    assert_int_equal(chip_otp_write(c, 3, &v, 1), CHIP_ERR_OTP);
    chip_stats st;
    chip_get_stats(c, &st);
    assert_int_equal(st.otp_bits_burnt, 4);
    chip_close(c);
}

static void test_ram_cleared_at_power_on(void **state)
{
    (void)state;
    chip *c = make_chip(NULL);
    uint32_t a, b;
    assert_int_equal(chip_ram_reserve(c, 100, &a), CHIP_OK);
    assert_int_equal(chip_ram_reserve(c, 100, &b), CHIP_OK);
    assert_true(b >= a + 100);
    memset(chip_ram(c), 0xAA, 1024);
    chip_power_on(c);
    for (int i = 0; i < 1024; i++) assert_int_equal(chip_ram(c)[i], 0);
    uint32_t big;
    assert_int_equal(chip_ram_reserve(c, 2000, &big), CHIP_ERR_FULL);
    chip_close(c);
}

static void test_uncommitted_writes_roll_back(void **state)
{
    (void)state;
    chip *c = make_chip("rollback.img");
    chip_end_masking(c);
    assert_int_equal(chip_commit(c), CHIP_OK);
    assert_int_equal(chip_nvm_write(c, 300, "committed", 9), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    assert_int_equal(chip_nvm_write(c, 300, "scratched", 9), CHIP_OK);
    uint8_t otp = 1;
    assert_int_equal(chip_otp_write(c, 0, &otp, 1), CHIP_OK);
    chip_power_on(c);                          /* as after a power cut */
    char buf[9];
    assert_int_equal(chip_nvm_read(c, 300, buf, 9), CHIP_OK);
    assert_memory_equal(buf, "committed", 9);
    assert_int_equal(chip_otp_bit(c, 0), 0);
    c = reopen(c);
    assert_int_equal(chip_nvm_read(c, 300, buf, 9), CHIP_OK);
    assert_memory_equal(buf, "committed", 9);
    chip_close(c);
}

/* ---- image header errors: message, error code, file untouched ---- */
static void spit(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void expect_refused(const char *path, int code, const char *words)
{
    size_t before_len, after_len;
    uint8_t *before = test_read_file(path, &before_len);
    assert_non_null(before);
    chip *c = NULL;
    char err[256] = "";
    assert_int_equal(chip_open(path, &c, err, sizeof err), code);
    assert_null(c);
    if (!strstr(err, words)) fail_msg("message '%s' does not say '%s'", err, words);
    uint8_t *after = test_read_file(path, &after_len);
    assert_non_null(after);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    free(before);
    free(after);
}

static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

static void test_image_header_errors(void **state)
{
    (void)state;
    chip *c = make_chip("good.img");
    chip_nvm_write(c, 400, "data", 4);
    chip_end_masking(c);
    assert_int_equal(chip_commit(c), CHIP_OK);
    chip_close(c);
    size_t len;
    uint8_t *good = test_read_file(tmp_path("good.img"), &len);
    assert_non_null(good);

    spit(tmp_path("text.img"), (const uint8_t *)"hello, I am not a card\n", 23);
    expect_refused(tmp_path("text.img"), CHIP_ERR_FORMAT, "bad magic");
    spit(tmp_path("empty.img"), good, 0);
    expect_refused(tmp_path("empty.img"), CHIP_ERR_FORMAT, "too short");
    /* Cut inside the preallocated log region: committed records may be gone. */
    spit(tmp_path("trunc.img"), good, len - 100);
    expect_refused(tmp_path("trunc.img"), CHIP_ERR_FORMAT, "truncated");
    spit(tmp_path("hdr.img"), good, 64);
    expect_refused(tmp_path("hdr.img"), CHIP_ERR_FORMAT, "truncated");

    uint8_t *b = malloc(len + 1);

    memcpy(b, good, len);
    b[8] = 9;                                   /* format version 9, header checksum fixed */
    uint32_t crc = crc32_ref(b, 124);
    for (int i = 0; i < 4; i++) b[124 + i] = (uint8_t)(crc >> (8 * i));
    spit(tmp_path("version.img"), b, len);
    expect_refused(tmp_path("version.img"), CHIP_ERR_VERSION, "version 9");

    memcpy(b, good, len);
    b[20] ^= 1;                                 /* header byte flipped */
    spit(tmp_path("hdrcrc.img"), b, len);
    expect_refused(tmp_path("hdrcrc.img"), CHIP_ERR_FORMAT, "header checksum");

    memcpy(b, good, len);
    b[512 + 4096 + 401] ^= 0x10;                /* an NVM byte flipped (header area, ROM) */
    spit(tmp_path("bodycrc.img"), b, len);
    expect_refused(tmp_path("bodycrc.img"), CHIP_ERR_FORMAT, "checksum mismatch");

    memcpy(b, good, len);
    b[20] = 0x11;                               /* NVM size not a page multiple */
    crc = crc32_ref(b, 124);
    for (int i = 0; i < 4; i++) b[124 + i] = (uint8_t)(crc >> (8 * i));
    spit(tmp_path("sizes.img"), b, len);
    expect_refused(tmp_path("sizes.img"), CHIP_ERR_FORMAT, "impossible region sizes");

    char err[256];
    chip *none;
    assert_int_equal(chip_open(tmp_path("missing.img"), &none, err, sizeof err), CHIP_ERR_IO);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(chip_open(tmpdir, &none, err, sizeof err), CHIP_ERR_IO);
    free(b);
    free(good);
}

/* ---- atomic commit under kill -9 ---- */
static void test_atomic_commit_under_kill(void **state)
{
    (void)state;
    const char *path = tmp_path("kill.img");
    chip *c = make_chip("kill.img");
    /* The starting state is uniform too, in case a child is killed before
     * its first commit. */
    chip_nvm_fill(c, 256, 0, 8192 - 256);
    chip_end_masking(c);
    assert_int_equal(chip_commit(c), CHIP_OK);
    chip_close(c);
    srand((unsigned)time(NULL));
    int observed_changes = 0;
    uint8_t last = 0;
    for (int round = 0; round < 12; round++) {
        int ready[2];
        assert_int_equal(pipe(ready), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            chip *w;
            char err[256];
            close(ready[0]);
            if (chip_open(path, &w, err, sizeof err)) _exit(3);
            chip_power_on(w);
            /* as the card does at power-on: the writer holds the image's lock */
            if (chip_acquire(w)) _exit(6);
            for (unsigned k = 1;; k++) {
                /* Every commit makes all of NVM's heap area one value. */
                chip_nvm_fill(w, 256, (uint8_t)k, 8192 - 256);
                if (chip_commit(w)) _exit(4);
                if (k == 1 && write(ready[1], "1", 1) != 1) _exit(5);
            }
        }
        /* Kill it at a random point after its first commit (on a slow or
         * loaded machine, or under valgrind, the first may take a while). */
        close(ready[1]);
        char one;
        if (read(ready[0], &one, 1) != 1) {
            int st;
            waitpid(pid, &st, 0);
            fail_msg("round %d: the writer ended before its first commit (%s %d)", round,
                     WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        }
        close(ready[0]);
        struct timespec ts = {0, 2000000 + (rand() % 20) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));
        chip *r;
        char err[256];
        if (chip_open(path, &r, err, sizeof err) != CHIP_OK) fail_msg("after kill -9: %s", err);
        chip_power_on(r);
        const uint8_t *nvm = chip_nvm_view(r);
        for (uint32_t i = 257; i < 8192; i++)
            if (nvm[i] != nvm[256]) fail_msg("round %d: NVM mixes two commits at %u", round, i);
        if (nvm[256] != last) observed_changes++;
        last = nvm[256];
        chip_close(r);
    }
    assert_true(observed_changes > 0);
}

/* ---- tear injection at every index of a multi-page write ---- */
typedef struct tear_ctx {
    chip *c;
    char path[512];
} tear_ctx;

static void *multi_page_setup(void *arg)
{
    (void)arg;
    tear_ctx *t = calloc(1, sizeof *t);
    t->c = make_chip("tear.img");
    snprintf(t->path, sizeof t->path, "%s", chip_path(t->c));
    chip_end_masking(t->c);
    chip_nvm_fill(t->c, 512, 'A', 10 * 64);
    assert_int_equal(chip_commit(t->c), CHIP_OK);
    return t;
}
static chip *tear_chip(void *ctx) { return ((tear_ctx *)ctx)->c; }
static int multi_page_run(void *ctx)
{
    tear_ctx *t = ctx;
    /* Ten pages, unaligned on both ends so eleven pages are touched. */
    uint8_t b[10 * 64];
    memset(b, 'B', sizeof b);
    int rc = chip_nvm_write(t->c, 512 + 32, b, sizeof b - 32);
    if (rc) return rc;
    return chip_commit(t->c);
}
static int multi_page_check(void *ctx, uint32_t cut_at)
{
    tear_ctx *t = ctx;
    chip_close(t->c);
    char err[256];
    if (chip_open(t->path, &t->c, err, sizeof err)) return 1;
    chip_power_on(t->c);
    const uint8_t *n = chip_nvm_view(t->c) + 512 + 32;
    uint8_t want = cut_at ? 'A' : 'B';
    for (int i = 0; i < 10 * 64 - 32; i++)
        if (n[i] != want) return 2;
    return 0;
}
static void multi_page_teardown(void *ctx)
{
    tear_ctx *t = ctx;
    chip_close(t->c);
    unlink(t->path);
    free(t);
}

static void test_tear_every_index_of_multi_page_write(void **state)
{
    (void)state;
    tear_scenario s = {"multi-page write", multi_page_setup, tear_chip, multi_page_run, NULL,
                       multi_page_check, multi_page_teardown};
    uint32_t writes = tear_sweep(&s, NULL);
    assert_int_equal(writes, 10);
}

static void test_dead_chip_refuses_everything(void **state)
{
    (void)state;
    chip *c = make_chip(NULL);
    chip_end_masking(c);
    assert_int_equal(chip_commit(c), CHIP_OK);
    chip_set_tear(c, 2);
    assert_int_equal(chip_nvm_write(c, 300, "x", 1), CHIP_OK);
    assert_int_equal(chip_nvm_write(c, 400, "y", 1), CHIP_ERR_POWER);
    assert_true(chip_tear_fired(c));
    assert_int_equal(chip_nvm_write(c, 500, "z", 1), CHIP_ERR_POWER);
    uint8_t b;
    assert_int_equal(chip_nvm_read(c, 300, &b, 1), CHIP_ERR_POWER);
    assert_int_equal(chip_otp_burn_bit(c, 1), CHIP_ERR_POWER);
    assert_int_equal(chip_commit(c), CHIP_ERR_POWER);
    chip_power_on(c);
    assert_int_equal(chip_nvm_read(c, 300, &b, 1), CHIP_OK);
    assert_int_equal(b, 0);
    chip_close(c);
}

/* ---- NVM heap ---- */
static void test_nvm_heap(void **state)
{
    (void)state;
    chip *c = make_chip("heap.img");
    chip_stats st0, st;
    chip_get_stats(c, &st0);
    uint32_t a, b, d, off, size;
    assert_int_equal(chip_nvm_alloc(c, 7, 1, 100, &a), CHIP_OK);
    assert_int_equal(chip_nvm_alloc(c, 7, 2, 30, &b), CHIP_OK);
    assert_int_equal(chip_nvm_alloc(c, 9, 1, 50, &d), CHIP_OK);
    assert_int_equal(chip_nvm_write(c, b, "secret", 6), CHIP_OK);
    assert_int_equal(chip_nvm_find(c, 7, 0xFFFF, 1, &off, &size), CHIP_OK);
    assert_int_equal(off, b);
    assert_int_equal(size, 30);
    assert_int_equal(chip_nvm_find(c, 9, 1, 0, &off, NULL), CHIP_OK);
    assert_int_equal(off, d);
    assert_int_equal(chip_nvm_find(c, 9, 2, 0, &off, NULL), CHIP_ERR_RANGE);
    assert_int_equal(chip_nvm_free(c, b), CHIP_OK);
    assert_int_equal(chip_nvm_free(c, b), CHIP_ERR_ARG);
    for (int i = 0; i < 6; i++) assert_int_equal(chip_nvm_view(c)[b + i], 0);
    assert_int_equal(chip_nvm_free(c, a), CHIP_OK);
    assert_int_equal(chip_nvm_free(c, d), CHIP_OK);
    chip_get_stats(c, &st);
    assert_int_equal(st.nvm_heap_free, st0.nvm_heap_free);   /* fully coalesced */
    assert_int_equal(st.nvm_heap_largest, st0.nvm_heap_free);
    assert_int_equal(chip_nvm_alloc(c, 7, 1, 8000, &a), CHIP_ERR_FULL);
    /* Fill it up with small blocks, then free every other one. */
    uint32_t offs[400];
    int n = 0;
    while (n < 400 && chip_nvm_alloc(c, 5, (uint16_t)n, 40, &offs[n]) == CHIP_OK) n++;
    assert_true(n > 100 && n < 400);
    chip_get_stats(c, &st);
    assert_true(st.nvm_heap_largest < 40 + 8 + 16);
    for (int i = 0; i < n; i += 2) assert_int_equal(chip_nvm_free(c, offs[i]), CHIP_OK);
    uint32_t cursor = 0;
    int used = 0;
    uint16_t kind, id;
    while (chip_nvm_next(c, &cursor, &kind, &id, &off, &size) == CHIP_OK) {
        assert_int_equal(kind, 5);
        assert_int_equal(id % 2, 1);
        used++;
    }
    assert_int_equal(used, n / 2);
    /* Survives commit and reopen. */
    chip_end_masking(c);
    assert_int_equal(chip_commit(c), CHIP_OK);
    c = reopen(c);
    assert_int_equal(chip_nvm_find(c, 5, 1, 0, &off, NULL), CHIP_OK);
    assert_int_equal(off, offs[1]);
    chip_close(c);
}

static int contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (hay[i] == *(const uint8_t *)needle && memcmp(hay + i, needle, m) == 0) return 1;
    return 0;
}

#define SYSTEM_BYTE 10u   /* in the NVM system area, outside the heap */

/* A factory's card: made in memory from a template image (chip_clone), then
 * written once as a new image (chip_save_as). The template file does not
 * change; the new file holds the clone's committed state and nothing of
 * what the clone erased; a second save_as is refused; a path that cannot be
 * created fails with its name and leaves the chip usable. */
static void test_clone_and_save_as(void **state)
{
    (void)state;
    chip *t = make_chip("tpl.img");
    uint8_t rom[64];
    for (int i = 0; i < 64; i++) rom[i] = (uint8_t)(0xA0 + i);
    assert_int_equal(chip_rom_write(t, 100, rom, sizeof rom), CHIP_OK);
    chip_end_masking(t);
    uint32_t blk, keep;
    static const uint8_t sealed[24] = "SEALED-SOFTWARE-BYTES-01";
    assert_int_equal(chip_nvm_alloc(t, 7, 1, sizeof sealed, &blk), CHIP_OK);
    assert_int_equal(chip_nvm_write(t, blk, sealed, sizeof sealed), CHIP_OK);
    assert_int_equal(chip_otp_burn_bit(t, 3), CHIP_OK);
    assert_int_equal(chip_commit(t), CHIP_OK);
    chip_close(t);
    size_t tlen;
    uint8_t *tbytes = test_read_file(tmp_path("tpl.img"), &tlen);
    assert_non_null(tbytes);
    assert_true(contains(tbytes, tlen, sealed, sizeof sealed));   /* the control: it is in the template */

    char err[256];
    assert_int_equal(chip_open_ex(tmp_path("tpl.img"), CHIP_OPEN_READ_ONLY, NULL, &t, err, sizeof err), CHIP_OK);
    chip *c;
    assert_int_equal(chip_clone(t, &c), CHIP_OK);
    assert_null(chip_path(c));
    chip_power_on(c);
    uint8_t b[64];
    assert_int_equal(chip_rom_read(c, 100, b, sizeof b), CHIP_OK);
    assert_memory_equal(b, rom, sizeof rom);
    assert_int_equal(chip_otp_bit(c, 3), 1);
    assert_int_equal(chip_nvm_read(c, blk, b, sizeof sealed), CHIP_OK);
    assert_memory_equal(b, sealed, sizeof sealed);
    /* Made in memory: the template's block erased, a card's own written. */
    assert_int_equal(chip_nvm_free(c, blk), CHIP_OK);
    assert_int_equal(chip_nvm_alloc(c, 8, 1, 16, &keep), CHIP_OK);
    assert_int_equal(chip_nvm_write(c, keep, "card-0001-secret", 16), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    assert_int_equal(chip_nvm_write(c, keep, "UNCOMMITTED-xxxx", 16), CHIP_OK);   /* not saved */

    assert_int_equal(chip_save_as(c, tmp_path("nodir/card.img")), CHIP_ERR_IO);
    assert_non_null(strstr(chip_error(c), "nodir/card.img"));
    assert_null(chip_path(c));
    assert_int_equal(chip_save_as(c, tmp_path("card.img")), CHIP_OK);
    assert_string_equal(chip_path(c), tmp_path("card.img"));
    assert_int_equal(chip_save_as(c, tmp_path("card2.img")), CHIP_ERR_ARG);
    struct stat sb;
    assert_int_equal(stat(tmp_path("card.img"), &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* Bound to its file: a later commit is a record in its log. */
    chip_rollback(c);
    assert_int_equal(chip_nvm_write(c, SYSTEM_BYTE, "\x5A", 1), CHIP_OK);
    assert_int_equal(chip_commit(c), CHIP_OK);
    chip_close(c);
    chip_close(t);

    size_t len;
    uint8_t *after = test_read_file(tmp_path("tpl.img"), &len);
    assert_int_equal(len, tlen);
    assert_memory_equal(after, tbytes, tlen);
    free(after);
    free(tbytes);
    uint8_t *card = test_read_file(tmp_path("card.img"), &len);
    assert_false(contains(card, len, sealed, sizeof sealed));
    assert_false(contains(card, len, "UNCOMMITTED", 11));
    free(card);
    assert_int_equal(chip_open(tmp_path("card.img"), &c, err, sizeof err), CHIP_OK);
    chip_power_on(c);
    assert_int_equal(chip_rom_read(c, 100, b, sizeof b), CHIP_OK);
    assert_memory_equal(b, rom, sizeof rom);
    assert_int_equal(chip_otp_bit(c, 3), 1);
    assert_int_equal(chip_nvm_read(c, keep, b, 16), CHIP_OK);
    assert_memory_equal(b, "card-0001-secret", 16);
    assert_int_equal(chip_nvm_read(c, SYSTEM_BYTE, b, 1), CHIP_OK);
    assert_int_equal(b[0], 0x5A);
    uint32_t off;
    assert_int_equal(chip_nvm_find(c, 7, 1, 0, &off, NULL), CHIP_ERR_RANGE);
    chip_close(c);
}

static void test_stats_count_page_writes(void **state)
{
    (void)state;
    chip *c = make_chip("stats.img");
    chip_stats st0, st;
    chip_get_stats(c, &st0);
    chip_nvm_fill(c, 1024, 1, 64 * 3);
    chip_nvm_fill(c, 1024, 2, 1);
    chip_get_stats(c, &st);
    assert_int_equal(st.nvm_page_writes - st0.nvm_page_writes, 4);
    assert_int_equal(st.nvm_max_page_writes, 2);
    chip_end_masking(c);
    assert_int_equal(chip_commit(c), CHIP_OK);
    c = reopen(c);
    chip_get_stats(c, &st);
    assert_int_equal(st.nvm_page_writes - st0.nvm_page_writes, 4);
    assert_int_equal(st.commits, 1);
    chip_close(c);
}

static void test_bad_geometry_refused(void **state)
{
    (void)state;
    chip_geometry g = small_geometry();
    chip *c;
    g.nvm_page_size = 48;
    assert_int_equal(chip_create(&g, NULL, &c), CHIP_ERR_ARG);
    g = small_geometry();
    g.nvm_size = 8192 + 10;
    assert_int_equal(chip_create(&g, NULL, &c), CHIP_ERR_ARG);
    g = small_geometry();
    g.otp_size = 0;
    assert_int_equal(chip_create(&g, NULL, &c), CHIP_ERR_ARG);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cardvm-test-chip-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rom_writable_only_while_masking),
        cmocka_unit_test(test_otp_bits_burn_one_way),
        cmocka_unit_test(test_ram_cleared_at_power_on),
        cmocka_unit_test(test_uncommitted_writes_roll_back),
        cmocka_unit_test(test_image_header_errors),
        cmocka_unit_test(test_atomic_commit_under_kill),
        cmocka_unit_test(test_tear_every_index_of_multi_page_write),
        cmocka_unit_test(test_dead_chip_refuses_everything),
        cmocka_unit_test(test_nvm_heap),
        cmocka_unit_test(test_clone_and_save_as),
        cmocka_unit_test(test_stats_count_page_writes),
        cmocka_unit_test(test_bad_geometry_refused),
    };
    int rc = cmocka_run_group_tests_name("persist", tests, NULL, NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return rc;
}
