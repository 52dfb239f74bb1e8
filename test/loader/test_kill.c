/*
 * test_kill.c — no free try: real processes, kill -9 at random points of
 * wrong UNLOCKs (LOADER) and wrong OwnerPIN.check()s (an applet).
 *
 * What a free try is: the card compared a guess with the secret, and the
 * process died before the decremented try counter reached the file, so the
 * next process starts with the try given back. An attacker who can tell the
 * comparison's outcome by other means (timing, power, a correct guess taking
 * another path) gets unlimited guesses.
 *
 * How the comparison is observed from outside: this program interposes
 * libtomcrypt's cbc_start (UNLOCK decrypts the sealed software with the
 * guessed key: that is the comparison) and sha256_init (the test applet
 * hashes right after OwnerPIN.check returns, when it knows the outcome). In
 * the child, once armed, the first such call stops the process (SIGSTOP)
 * *at* the comparison. The parent then kills it there, or lets it go on and
 * kills it at a random later time, or kills it at a random time before.
 * After every kill the image is reopened: if the comparison was reached, the
 * try must be gone.
 *
 * Rounds: $CARDVM_KILL_ROUNDS per secret (default 100; ctest "kill_1000"
 * runs 1000).
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <tomcrypt.h>

#include "apdu.h"
#include "card.h"
#include "loader.h"
#include "packages.h"
#include "sealed_custom.h"
#include "testfiles.h"
#include "vm.h"

static char tmpdir[256];
static char issuer_template[512], pin_template[512];
static uint8_t unlock_key[32], hash_code[32];
static uint8_t *sealed_bytes;
static size_t sealed_len;

/* ---- the comparison marker (child side) ---- */
static volatile int marker_armed;

static void marker(void)
{
    if (marker_armed) {
        marker_armed = 0;
        raise(SIGSTOP);
    }
}

int cbc_start(int cipher, const unsigned char *IV, const unsigned char *key, int keylen, int num_rounds,
              symmetric_CBC *cbc)
{
    marker();
    int (*real)(int, const unsigned char *, const unsigned char *, int, int, symmetric_CBC *) =
        (int (*)(int, const unsigned char *, const unsigned char *, int, int, symmetric_CBC *))dlsym(RTLD_NEXT,
                                                                                                    "cbc_start");
    return real(cipher, IV, key, keylen, num_rounds, cbc);
}

int sha256_init(hash_state *md)
{
    marker();
    int (*real)(hash_state *) = (int (*)(hash_state *))dlsym(RTLD_NEXT, "sha256_init");
    return real(md);
}

/* ---- the two secrets ---- */
static const char *path_of(const char *name) { return test_path(tmpdir, name); }

/* A wrong UNLOCK on the image; the child's whole life. */
static int child_unlock(const char *image)
{
    card *c;
    char err[256];
    if (card_open(image, &c, err, sizeof err) || card_power(c, CARD_COLD, NULL, NULL)) return 3;
    uint8_t cmd[5 + 64], rsp[64];
    size_t rl;
    memcpy(cmd, "\x80\x14\x00\x00\x40", 5);
    memset(cmd + 5, 0x5A, 32);                 /* not the unlocking key */
    memcpy(cmd + 5 + 32, hash_code, 32);
    marker_armed = 1;
    if (card_transmit(c, cmd, sizeof cmd, rsp, sizeof rsp, &rl)) return 4;
    card_close(c);
    return rl == 2 && rsp[0] == 0x63 ? 0 : 5;
}

static int unlock_tries(const char *image)
{
    chip *c;
    char err[256];
    if (chip_open_ex(image, CHIP_OPEN_READ_ONLY, NULL, &c, err, sizeof err)) fail_msg("%s", err);
    loader_info li;
    assert_int_equal(loader_read_info(c, &li), 0);
    chip_close(c);
    return li.tries_left;
}

/* The PIN applet (pinkill.jca, embedded by the build as pinkill_package):
 * INS 20 checks the PIN, then hashes (it knows the outcome there); other
 * INS answer 63xx, xx = tries remaining. Try limit 100. */
extern const uint8_t pinkill_package[];
extern const size_t pinkill_package_len;

static const uint8_t pin_pkg_aid[] = {0xA0, 0x00, 0x00, 0x00, 0x62, 0x99, 0x00};
static const uint8_t pin_applet_aid[] = {0xA0, 0x00, 0x00, 0x00, 0x62, 0x99, 0x00, 0x01};

typedef struct pin_card {
    chip *c;
    vm_runtime *vm;
} pin_card;

/* Open the image as the card does: lock, power, VM, select. */
static int pin_open(const char *image, unsigned flags, pin_card *p)
{
    char err[256];
    if (chip_open_ex(image, flags, NULL, &p->c, err, sizeof err)) return -1;
    if (chip_acquire(p->c) || chip_power_on(p->c) || vm_create(p->c, NULL, &p->vm)) return -1;
    uint8_t rsp[64];
    size_t rl;
    uint16_t sw;
    if (vm_select(p->vm, pin_applet_aid, sizeof pin_applet_aid, NULL, 0, rsp, sizeof rsp, &rl, &sw) || sw != 0x9000)
        return -1;
    return 0;
}

static void pin_close(pin_card *p)
{
    vm_destroy(p->vm);
    chip_close(p->c);
}

static int child_pin(const char *image)
{
    pin_card p;
    if (pin_open(image, 0, &p)) return 3;
    static const uint8_t wrong[] = {0x80, 0x20, 0x00, 0x00, 0x04, '9', '9', '9', '9'};
    uint8_t rsp[64];
    size_t rl;
    uint16_t sw;
    marker_armed = 1;
    if (vm_process(p.vm, wrong, sizeof wrong, rsp, sizeof rsp, &rl, &sw)) return 4;
    if (chip_is_dirty(p.c) && chip_commit(p.c)) return 5;   /* the card's per-APDU commit */
    pin_close(&p);
    return 0;
}

static int pin_tries(const char *image)
{
    pin_card p;
    if (pin_open(image, CHIP_OPEN_READ_ONLY, &p)) fail_msg("cannot open %s", image);
    static const uint8_t get[] = {0x80, 0x30, 0x00, 0x00};
    uint8_t rsp[64];
    size_t rl;
    uint16_t sw;
    assert_int_equal(vm_process(p.vm, get, sizeof get, rsp, sizeof rsp, &rl, &sw), VM_OK);
    pin_close(&p);
    assert_int_equal(sw & 0xFF00, 0x6300);
    return sw & 0xFF;
}

/* ---- rounds ---- */
enum kill_at { AT_COMPARE, AFTER_COMPARE, ANY_TIME };

typedef struct tally {
    unsigned rounds, reached, free_tries, counted_without_compare, finished;
} tally;

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void one_round(const char *template, int (*child)(const char *), int (*tries)(const char *),
                      enum kill_at when, unsigned delay_us, tally *t)
{
    const char *image = path_of("round.img");
    assert_int_equal(test_copy_file(template, image), 0);
    int before = tries(image);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(child(image));
    int reached = 0, status = 0, done = 0;
    long long deadline = now_us() + delay_us;
    for (;;) {
        pid_t w = waitpid(pid, &status, WUNTRACED | WNOHANG);
        assert_true(w >= 0);
        if (w == pid && WIFSTOPPED(status)) {
            reached = 1;
            if (when == AT_COMPARE) break;
            if (when == AFTER_COMPARE) deadline = now_us() + delay_us % 2000;
            kill(pid, SIGCONT);
            continue;
        }
        if (w == pid) {
            done = 1;   /* it finished before the kill */
            break;
        }
        if (when != AT_COMPARE && now_us() >= deadline) break;
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
    if (!done) {
        kill(pid, SIGKILL);
        kill(pid, SIGCONT);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        /* It may have finished between the last look and the kill. */
        if (!WIFSIGNALED(status)) done = 1;
    }
    if (done) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("child failed: status %d", status);
        t->finished++;
        reached = 1;
    }
    int after = tries(image);
    t->rounds++;
    t->reached += reached;
    if (after != before && after != before - 1) fail_msg("tries went from %d to %d", before, after);
    if (reached && after == before) t->free_tries++;
    if (!reached && after == before - 1) t->counted_without_compare++;
}

static unsigned rounds_wanted(void)
{
    const char *e = getenv("CARDVM_KILL_ROUNDS");
    return e && atoi(e) > 0 ? (unsigned)atoi(e) : 100u;
}

static void kill_sweep(const char *name, const char *template, int (*child)(const char *),
                       int (*tries)(const char *))
{
    unsigned n = rounds_wanted();
    /* How long one attempt takes, to spread random kills over it. */
    long long t0 = now_us();
    tally warm = {0};
    one_round(template, child, tries, ANY_TIME, 10000000u, &warm);
    unsigned span = (unsigned)(now_us() - t0) + 1;
    assert_int_equal(warm.free_tries, 0);
    tally t = {0};
    srand((unsigned)time(NULL));
    for (unsigned i = 0; i < n; i++) {
        enum kill_at when = (enum kill_at)(i % 3);
        one_round(template, child, tries, when, (unsigned)rand() % span, &t);
    }
    print_message("%-7s %u rounds, %u killed (%u of them at or after the comparison), %u finished, "
                  "%u tries counted before a comparison, %u free tries\n", name, t.rounds, t.rounds - t.finished,
                  t.reached - t.finished, t.finished, t.counted_without_compare, t.free_tries);
    assert_int_equal(t.free_tries, 0);
    assert_true(t.reached >= n / 3);   /* the comparison was hit on purpose */
}

static void test_unlock_no_free_try(void **s)
{
    (void)s;
    kill_sweep("UNLOCK", issuer_template, child_unlock, unlock_tries);
}

static void test_pin_no_free_try(void **s)
{
    (void)s;
    kill_sweep("PIN", pin_template, child_pin, pin_tries);
}

/* ---- templates ---- */
static int make_pin_template(void)
{
    snprintf(pin_template, sizeof pin_template, "%s/pin-template.img", tmpdir);
    chip_geometry g;
    chip_geometry_default(&g);
    chip *c;
    if (chip_create(&g, pin_template, &c)) return -1;
    chip_end_masking(c);
    if (chip_commit(c)) return -1;
    vm_runtime *vm;
    if (vm_create(c, NULL, &vm)) {
        fprintf(stderr, "vm_create failed\n");
        return -1;
    }
    char err[256];
    uint16_t sw;
    int rc = vm_load_package(vm, pinkill_package, pinkill_package_len, 0, err, sizeof err);
    if (rc) {
        fprintf(stderr, "load: %s\n", err);
        return -1;
    }
    /* the install bArray: instance AID, privileges 00, parameters "1234" */
    uint8_t barray[1 + sizeof pin_applet_aid + 2 + 5] = {sizeof pin_applet_aid};
    memcpy(barray + 1, pin_applet_aid, sizeof pin_applet_aid);
    memcpy(barray + 1 + sizeof pin_applet_aid, "\x01\x00\x04" "1234", 7);
    if (vm_install(vm, pin_pkg_aid, sizeof pin_pkg_aid, pin_applet_aid, sizeof pin_applet_aid, pin_applet_aid,
                   sizeof pin_applet_aid, barray, sizeof barray, &sw) || sw != 0x9000) {
        fprintf(stderr, "install: %04X\n", sw);
        return -1;
    }
    rc = chip_commit(c);
    vm_destroy(vm);
    chip_close(c);
    return rc;
}

static int setup(void **s)
{
    (void)s;
    if (test_make_dir("kill", tmpdir, sizeof tmpdir)) return -1;
    loader_mask_params m;
    if (test_seal_custom(unlock_key, hash_code, &sealed_bytes, &sealed_len, &m)) return -1;
    m.unlock_tries = 15;
    snprintf(issuer_template, sizeof issuer_template, "%s/issuer-template.img", tmpdir);
    char err[256];
    if (loader_mask(issuer_template, &m, err, sizeof err)) {
        fprintf(stderr, "mask: %s\n", err);
        return -1;
    }
    /* The card mounter writes the serial number: UNLOCK derives the
     * customization channel's keys from it and refuses a card without one. */
    card *c;
    static const uint8_t write_serial[5 + 8] = {0x80, 0x12, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x42};
    uint8_t rsp[64];
    size_t rl = 0;
    if (card_open(issuer_template, &c, err, sizeof err) || card_power(c, CARD_COLD, NULL, NULL) ||
        card_transmit(c, write_serial, sizeof write_serial, rsp, sizeof rsp, &rl) || rl != 2 || rsp[0] != 0x90) {
        fprintf(stderr, "write serial failed\n");
        return -1;
    }
    card_close(c);
    return make_pin_template();
}

static int teardown(void **s)
{
    (void)s;
    free(sealed_bytes);
    return test_remove_dir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unlock_no_free_try),
        cmocka_unit_test(test_pin_no_free_try),
    };
    return cmocka_run_group_tests_name("kill", tests, setup, teardown);
}
