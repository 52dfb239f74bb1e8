/* bench_crypto.c — figures, printed, never judged: the throughput of the
 * symmetric crypto API against libtomcrypt called directly on the same
 * data, measured side by side: min / median / max of BATCHES batches
 * each, and of the ratio per pair of neighbouring batches.
 *
 *   API level:  the Java Card API implementation (vm/api_*.c) called
 *               through its token table on a real runtime, 1024-byte
 *               transient arrays: AES-128-CBC, TDEA-CBC, SHA-256,
 *               HMAC-SHA-256, AES-CMAC; AEADCipher AES-128-GCM and
 *               AES-128-CCM (init with a 12-byte nonce, doFinal, 16-byte
 *               retrieveTag per operation) against gcm_reset/add_iv/
 *               process/done on a gcm_state set up once (the card memoises
 *               GCM's key tables too) and ccm_memory.
 *   APDU level: the cryptodriver applet (test/jca/cryptodriver.jca,
 *               assembled at build time) through vm_process, 240 bytes of
 *               data per command, against libtomcrypt on 240 bytes; here
 *               the VM's per-APDU cost dominates.
 * Ratio = libtomcrypt time / API time (1.0: no overhead); on a loaded
 * machine the ratio of the minimums is the figure to read. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <tomcrypt.h>

#include "api_support.h"
#include "api_tokens.h"
#include "cap_testfile.h"
#include "vm.h"
#include "vmtest.h"

enum { BATCHES = 41, N = 1024, APDU_DATA = 240 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct fig {
    double min, med, max;   /* microseconds per operation */
} fig;

typedef void (*op_fn)(void *ctx);

static fig summary(double *us)
{
    qsort(us, BATCHES, sizeof us[0], cmp_double);
    return (fig){ us[0], us[BATCHES / 2], us[BATCHES - 1] };
}

static double batch(op_fn op, void *ctx, int reps)
{
    double t0 = now();
    for (int i = 0; i < reps; i++)
        op(ctx);
    return (now() - t0) / reps * 1e6;
}

/* The API and libtomcrypt batches alternate, and the ratio is taken per
 * pair of neighbouring batches, so a load change on the shared machine
 * hits both sides of a ratio alike. */
static void compare(const char *name, size_t bytes, op_fn api, void *actx, op_fn direct, void *dctx, int reps)
{
    double a[BATCHES], d[BATCHES], r[BATCHES];
    api(actx);
    direct(dctx);
    for (int b = 0; b < BATCHES; b++) {
        a[b] = batch(api, actx, reps);
        d[b] = batch(direct, dctx, reps);
        r[b] = d[b] / a[b];
    }
    fig fa = summary(a), fd = summary(d), fr = summary(r);
    printf("%-20s API %7.2f %7.2f %7.2f us (%5.1f MB/s)  libtomcrypt %7.2f %7.2f %7.2f us  "
           "ratio of mins %.2f, per pair min %.2f median %.2f max %.2f\n",
           name, fa.min, fa.med, fa.max, bytes / fa.min, fd.min, fd.med, fd.max, fd.min / fa.min, fr.min, fr.med,
           fr.max);
}

/* ---- API level ---- */

static const jc_api_method *method(const char *cls, const char *name, const char *desc)
{
    const jc_api_class *c = jc_api_class_by_name(cls, NULL);
    assert_non_null(c);
    for (uint8_t kind = JC_STATIC_METHOD; kind <= JC_CONSTRUCTOR; kind++) {
        const jc_api_method *m = jc_api_method_by_name(c, name, desc, kind);
        if (m && m->fn)
            return m;
    }
    fail_msg("%s.%s%s", cls, name, desc);
    return NULL;
}

static uint16_t call(vm_runtime *rt, const char *cls, const char *name, const char *desc, int n, ...)
{
    const jc_api_method *m = method(cls, name, desc);
    uint16_t args[8] = { 0 }, r = 0;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        args[i] = (uint16_t)va_arg(ap, int);
    va_end(ap);
    assert_int_equal(m->fn(rt, args, &r), 0);
    return r;
}

static uint16_t ram_bytes(vm_runtime *rt, uint16_t len, uint8_t fill)
{
    uint16_t h;
    assert_int_equal(api_new_array(rt, VM_OBJ_BYTES, VM_OF_CLEAR_RESET, len, 0, &h), 0);
    uint8_t *tmp = malloc(len);
    memset(tmp, fill, len);
    assert_int_equal(api_store(rt, &rt->objs[h], 0, tmp, len, 0), 0);
    free(tmp);
    return h;
}

typedef struct api_ctx {
    const jc_api_method *m;
    vm_runtime *rt;
    uint16_t args[8];
} api_ctx;

static void api_op(void *p)
{
    api_ctx *c = p;
    uint16_t args[8], r;
    memcpy(args, c->args, sizeof args);
    if (c->m->fn(c->rt, args, &r) != 0)
        abort();
}

typedef struct direct_ctx {
    int kind, idx;
    uint8_t key[24], iv[16], in[N], out[N + 64];
    size_t len;
} direct_ctx;

static void direct_op(void *p)
{
    direct_ctx *d = p;
    unsigned long outlen = sizeof d->out;
    switch (d->kind) {
    case 0:
    case 1: {
        symmetric_CBC cbc;
        cbc_start(d->idx, d->iv, d->key, d->kind ? 24 : 16, 0, &cbc);
        cbc_encrypt(d->in, d->out, d->len, &cbc);
        cbc_done(&cbc);
        break;
    }
    case 2: {
        hash_state md;
        sha256_init(&md);
        sha256_process(&md, d->in, (unsigned long)d->len);
        sha256_done(&md, d->out);
        break;
    }
    case 3:
        hmac_memory(find_hash("sha256"), d->key, 20, d->in, d->len, d->out, &outlen);
        break;
    default:
        omac_memory(d->idx, d->key, 16, d->in, d->len, d->out, &outlen);
        break;
    }
}

/* AEADCipher: init (GCM with the nonce; CCM with nonce, AAD length 0,
 * message length N, tag 16), doFinal, retrieveTag. */
typedef struct aead_ctx {
    vm_runtime *rt;
    const jc_api_method *init, *final, *tag;
    uint16_t obj, key, nonce, in, out;
    int ccm;
} aead_ctx;

static void aead_op(void *p)
{
    aead_ctx *c = p;
    uint16_t a[9] = { c->obj, c->key, 2, c->nonce, 0, c->ccm ? 13 : 12, 0, N, 16 }, r;
    uint16_t f[6] = { c->obj, c->in, 0, N, c->out, 0 }, t[4] = { c->obj, c->out, N, 16 };
    if (c->init->fn(c->rt, a, &r) != 0 || c->final->fn(c->rt, f, &r) != 0 || c->tag->fn(c->rt, t, &r) != 0)
        abort();
}

typedef struct aead_direct {
    int idx, ccm;
    gcm_state *gcm;
    uint8_t key[16], nonce[13], in[N], out[N], tag[16];
} aead_direct;

static void aead_direct_op(void *p)
{
    aead_direct *d = p;
    unsigned long tl = 16;
    if (d->ccm) {
        ccm_memory(d->idx, d->key, 16, NULL, d->nonce, 13, NULL, 0, d->in, N, d->out, d->tag, &tl, CCM_ENCRYPT);
        return;
    }
    gcm_reset(d->gcm);
    gcm_add_iv(d->gcm, d->nonce, 12);
    gcm_process(d->gcm, d->in, N, d->out, GCM_ENCRYPT);
    gcm_done(d->gcm, d->tag, &tl);
}

static void bench_aead(vm_runtime *rt, uint16_t aes_key, uint16_t in, uint16_t out, uint16_t nonce, int aes)
{
    const char *ci = "javacardx/crypto/Cipher", *ai = "javacardx/crypto/AEADCipher";
    aead_direct *d = calloc(1, sizeof *d);
    d->gcm = malloc(sizeof *d->gcm);
    d->idx = aes;
    memset(d->key, 0x11, sizeof d->key);
    memset(d->nonce, 0x22, sizeof d->nonce);
    memset(d->in, 0x5A, sizeof d->in);
    gcm_init(d->gcm, aes, d->key, 16);
    for (int ccm = 0; ccm < 2; ccm++) {
        aead_ctx c = { rt, NULL, method(ci, "doFinal", "([BSS[BS)S"), method(ai, "retrieveTag", "([BSS)S"), 0,
                       aes_key, nonce, in, out, ccm };
        c.obj = call(rt, ci, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", 2, ccm ? 0xF4 : 0xF3, 0);
        c.init = ccm ? method(ai, "init", "(Ljavacard/security/Key;B[BSSSSS)V")
                     : method(ci, "init", "(Ljavacard/security/Key;B[BSS)V");
        d->ccm = ccm;
        compare(ccm ? "AES-128-CCM 1024 B" : "AES-128-GCM 1024 B", N, aead_op, &c, aead_direct_op, d, 100);
    }
    free(d->gcm);
    free(d);
}

static void bench_api(vt_card *k)
{
    vm_runtime *rt = k->rt;
    register_hash(&sha256_desc);
    int aes = register_cipher(&aes_desc), des3 = register_cipher(&des3_desc);
    uint16_t in = ram_bytes(rt, N, 0x5A), out = ram_bytes(rt, N + 64, 0), kb = ram_bytes(rt, 24, 0x11);
    const char *bk = "(BSZ)Ljavacard/security/Key;";
    uint16_t aes_key = call(rt, "javacard/security/KeyBuilder", "buildKey", bk, 3, 15, 128, 0);
    call(rt, "javacard/security/AESKeyImpl", "setKey", "([BS)V", 3, aes_key, kb, 0);
    uint16_t des_key = call(rt, "javacard/security/KeyBuilder", "buildKey", bk, 3, 3, 192, 0);
    call(rt, "javacard/security/DESKeyImpl", "setKey", "([BS)V", 3, des_key, kb, 0);
    uint16_t hkey = call(rt, "javacard/security/KeyBuilder", "buildKey", bk, 3, 21, 64, 0);
    call(rt, "javacard/security/HMACKeyImpl", "setKey", "([BSS)V", 4, hkey, kb, 0, 20);

    const char *ci = "javacardx/crypto/Cipher", *si = "javacard/security/Signature";
    uint16_t c_aes = call(rt, ci, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", 2, 13, 0);
    call(rt, ci, "init", "(Ljavacard/security/Key;B)V", 3, c_aes, aes_key, 2);
    uint16_t c_des = call(rt, ci, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", 2, 1, 0);
    call(rt, ci, "init", "(Ljavacard/security/Key;B)V", 3, c_des, des_key, 2);
    uint16_t md = call(rt, "javacard/security/MessageDigest", "getInstance",
                       "(BZ)Ljavacard/security/MessageDigest;", 2, 4, 0);
    uint16_t s_hmac = call(rt, si, "getInstance", "(BZ)Ljavacard/security/Signature;", 2, 25, 0);
    call(rt, si, "init", "(Ljavacard/security/Key;B)V", 3, s_hmac, hkey, 1);
    uint16_t s_cmac = call(rt, si, "getInstance", "(BZ)Ljavacard/security/Signature;", 2, 49, 0);
    call(rt, si, "init", "(Ljavacard/security/Key;B)V", 3, s_cmac, aes_key, 1);

    struct {
        const char *name;
        const char *cls, *meth, *desc;
        uint16_t obj;
        int kind, idx;
    } cases[] = {
        { "AES-128-CBC 1024 B", ci, "doFinal", "([BSS[BS)S", c_aes, 0, aes },
        { "TDEA-CBC 1024 B", ci, "doFinal", "([BSS[BS)S", c_des, 1, des3 },
        { "SHA-256 1024 B", "javacard/security/MessageDigest", "doFinal", "([BSS[BS)S", md, 2, 0 },
        { "HMAC-SHA-256 1024 B", si, "sign", "([BSS[BS)S", s_hmac, 3, 0 },
        { "AES-CMAC 1024 B", si, "sign", "([BSS[BS)S", s_cmac, 4, aes },
    };
    direct_ctx *d = calloc(1, sizeof *d);
    memset(d->key, 0x11, sizeof d->key);
    memset(d->in, 0x5A, sizeof d->in);
    d->len = N;
    printf("API level (token table -> vm/api_*.c, transient arrays)\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        api_ctx c = { method(cases[i].cls, cases[i].meth, cases[i].desc), rt,
                      { cases[i].obj, in, 0, N, out, 0, 0, 0 } };
        d->kind = cases[i].kind;
        d->idx = cases[i].idx;
        compare(cases[i].name, N, api_op, &c, direct_op, d, cases[i].kind == 1 ? 10 : 100);
    }
    free(d);
    bench_aead(rt, aes_key, in, out, ram_bytes(rt, 13, 0x22), aes);
}

/* ---- APDU level ---- */

typedef struct apdu_ctx {
    vt_card *k;
    uint8_t cmd[300];
    size_t n;
} apdu_ctx;

static uint16_t send(vt_card *k, const uint8_t *cmd, size_t n)
{
    uint8_t rsp[300];
    size_t rlen;
    uint16_t sw = 0;
    if (cmd[1] == 0xA4)
        vm_select(k->rt, cmd + 5, cmd[4], cmd, n, rsp, sizeof rsp, &rlen, &sw);
    else
        vm_process(k->rt, cmd, n, rsp, sizeof rsp, &rlen, &sw);
    return sw;
}

static void apdu_op(void *p)
{
    apdu_ctx *c = p;
    if (send(c->k, c->cmd, c->n) != 0x9000)
        abort();
}

static void send_hex(vt_card *k, const char *hex)
{
    uint8_t cmd[300];
    size_t n = (size_t)vt_hex(hex, cmd, sizeof cmd);
    uint16_t sw = send(k, cmd, n);
    if (sw != 0x9000)
        fail_msg("%s: SW %04X", hex, sw);
}

static void bench_apdu(vt_card *k, const char *cap)
{
    size_t len;
    uint8_t *lf = cap_test_load_file(cap, &len);
    if (!lf) {
        printf("APDU level skipped: %s not readable\n", cap);
        return;
    }
    char err[256];
    uint16_t sw;
    assert_int_equal(vm_load_package(k->rt, lf, len, 0, err, sizeof err), VM_OK);
    free(lf);
    static const uint8_t pkg[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x02 };
    static const uint8_t app[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x02, 0x01 };
    static const uint8_t barray[] = { 9, 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x02, 0x01, 1, 0, 0 };
    assert_int_equal(vm_install(k->rt, pkg, 8, app, 9, app, 9, barray, sizeof barray, &sw), VM_OK);
    vt_commit(k);
    send_hex(k, "00A4040009F063617264766D0201");
    /* AES key 1, cipher 2 (AES CBC NOPAD, encrypt), digest 3 (SHA-256),
     * HMAC key 4 and signature 5 (HMAC-SHA-256) */
    send_hex(k, "80100F01020080");
    send_hex(k, "801201011011111111111111111111111111111111");
    send_hex(k, "80200D02");
    send_hex(k, "8022020201 01");
    send_hex(k, "80400403");
    send_hex(k, "8010150402 0040");
    send_hex(k, "8012020414 1111111111111111111111111111111111111111");
    send_hex(k, "80301905");
    send_hex(k, "8032010501 04");
    direct_ctx *d = calloc(1, sizeof *d);
    memset(d->key, 0x11, sizeof d->key);
    memset(d->in, 0x5A, sizeof d->in);
    d->len = APDU_DATA;
    struct {
        const char *name;
        uint8_t ins, p1, p2;
        int kind, idx;
    } cases[] = {
        { "AES-128-CBC 240 B", 0x26, 0, 2, 0, find_cipher("aes") },
        { "SHA-256 240 B", 0x42, 0, 3, 2, 0 },
        { "HMAC-SHA-256 240 B", 0x36, 0, 5, 3, 0 },
    };
    printf("APDU level (cryptodriver applet through vm_process, no chip commit)\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        apdu_ctx c = { k, { 0x80, cases[i].ins, cases[i].p1, cases[i].p2, APDU_DATA }, 5 + APDU_DATA };
        memset(c.cmd + 5, 0x5A, APDU_DATA);
        d->kind = cases[i].kind;
        d->idx = cases[i].idx;
        compare(cases[i].name, APDU_DATA, apdu_op, &c, direct_op, d, 200);
    }
    free(d);
}

static void bench(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    bench_api(&k);
    bench_apdu(&k, CRYPTO_CAP);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(bench) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
