/* bench_asym.c — the asymmetric crypto API (vm/api_asym.h) against
 * libtomcrypt called directly on the same work, measured side by side
 * (alternating runs): RSA-2048 SHA-256 PKCS#1 v1.5 sign with a CRT key,
 * RSA-2048 verify, ECDSA P-256 SHA-256 sign and verify, ECDH P-256; and
 * the same three on brainpoolP256r1 (the card's general-A arithmetic)
 * against libtomcrypt's P-256, the cost of that path. The
 * API side is the table entries an applet's invokevirtual reaches
 * (Signature.sign/verify, KeyAgreement.generateSecret) on a real runtime;
 * the direct side hashes and signs with libtomcrypt's own functions and key
 * structures. Prints min/median/max per operation and the ratio of the
 * medians (direct / API: 1.0 = no overhead). A figure, never a test.
 * usage: bench_asym [runs]   (default 15) */
#define LTM_DESC
#include <stdlib.h>
#include <time.h>
#include <tomcrypt.h>

#include "api_test.h"

#define SEC "javacard/security/"
#define INIT "(Ljavacard/security/Key;B)V"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct series { double t[64]; int n; } series;

static double median(series *s)
{
    qsort(s->t, (size_t)s->n, sizeof s->t[0], cmp);
    return s->t[s->n / 2];
}

static void report(const char *what, series *api, series *direct)
{
    double ma = median(api), md = median(direct);
    printf("%-28s API %8.3f / %8.3f / %8.3f ms   libtomcrypt %8.3f / %8.3f / %8.3f ms   ratio %.2f\n", what,
           api->t[0], ma, api->t[api->n - 1], direct->t[0], md, direct->t[direct->n - 1], md / ma);
}

static void put_mp(vm_runtime *rt, const char *cls, const char *setter, uint16_t key, void *n)
{
    uint8_t b[512];
    unsigned long len = ltc_mp.unsigned_size(n);
    ltc_mp.unsigned_write(n, b);
    uint16_t arr = at_bytes(rt, b, (uint16_t)len);
    if (at_call(rt, cls, setter, "([BSS)V", NULL, key, arr, 0, (int)len)) {
        fprintf(stderr, "%s failed\n", setter);
        exit(1);
    }
}

/* What the EC rounds share: the runtime and its byte arrays, and
 * libtomcrypt's side (always P-256). */
typedef struct ec_work {
    vm_runtime *rt;
    int runs, sha, prng;
    const uint8_t *msg;           /* 32 bytes, also in the array `in` */
    uint16_t in, out, sig;        /* the message, ECDH's output, the signature */
    ecc_key *ek, *peer;
} ec_work;

/* ECDSA SHA-256 sign and verify and ECDH through the API objects given
 * (peer_w: the other party's point, 65 bytes) against libtomcrypt on the
 * same work, alternating; reported as "ECDSA <curve> sign<vs>", ... 0, or
 * 1 when a signature does not verify on either side. */
static int bench_ec(const ec_work *w, const char *curve, const char *vs, uint16_t sign, uint16_t verify,
                    uint16_t agree, uint16_t peer_w)
{
    vm_runtime *rt = w->rt;
    series as = { .n = w->runs }, ds = { .n = w->runs }, av = { .n = w->runs }, dv = { .n = w->runs };
    series ak = { .n = w->runs }, dk = { .n = w->runs };
    uint8_t h[32], sig[512], x[66];
    unsigned long hl, sl, xl;
    uint16_t len = 0, ok = 0;
    for (int i = 0; i < w->runs; i++) {
        int stat;
        double t0 = now_ms();
        at_call(rt, SEC "Signature", "sign", "([BSS[BS)S", &len, sign, w->in, 0, 32, w->sig, 0);
        double t1 = now_ms();
        hl = sizeof h;
        sl = sizeof sig;
        hash_memory(w->sha, w->msg, 32, h, &hl);
        ecc_sign_hash(h, 32, sig, &sl, NULL, w->prng, w->ek);
        double t2 = now_ms();
        as.t[i] = t1 - t0;
        ds.t[i] = t2 - t1;
        t0 = now_ms();
        at_call(rt, SEC "Signature", "verify", "([BSS[BSS)Z", &ok, verify, w->in, 0, 32, w->sig, 0, len);
        t1 = now_ms();
        hash_memory(w->sha, w->msg, 32, h, &hl);
        ecc_verify_hash(sig, sl, h, 32, &stat, w->ek);
        t2 = now_ms();
        av.t[i] = t1 - t0;
        dv.t[i] = t2 - t1;
        t0 = now_ms();
        at_call(rt, SEC "KeyAgreement", "generateSecret", "([BSS[BS)S", &len, agree, peer_w, 0, 65, w->out, 0);
        t1 = now_ms();
        xl = sizeof x;
        ecc_shared_secret(w->ek, w->peer, x, &xl);
        t2 = now_ms();
        ak.t[i] = t1 - t0;
        dk.t[i] = t2 - t1;
        if (!ok || !stat) {
            fprintf(stderr, "ECDSA %s failed\n", curve);
            return 1;
        }
    }
    char what[64];
    snprintf(what, sizeof what, "ECDSA %s sign%s", curve, vs);
    report(what, &as, &ds);
    snprintf(what, sizeof what, "ECDSA %s verify%s", curve, vs);
    report(what, &av, &dv);
    snprintf(what, sizeof what, "ECDH %s%s", curve, vs);
    report(what, &ak, &dk);
    return 0;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 15;
    if (runs < 3 || runs > 64)
        runs = 15;
    if (ltc_mp.name == NULL)
        ltc_mp = ltm_desc;
    register_hash(&sha256_desc);
    register_prng(&sprng_desc);
    int sha = find_hash("sha256"), prng = find_prng("sprng");
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint8_t msg[32] = "bench: the same 32 bytes each";
    uint16_t in = at_bytes(rt, msg, 32), out = at_bytes(rt, NULL, 300), len, ok;

    /* RSA-2048: one libtomcrypt key, its components into the card's keys */
    rsa_key rk;
    rsa_make_key(NULL, prng, 256, 65537, &rk);
    uint16_t crt, pub, s, v;
    at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &crt, 6, 2048, 0);
    at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &pub, 4, 2048, 0);
    put_mp(rt, SEC "RSAPrivateCrtKeyImpl", "setP", crt, rk.p);
    put_mp(rt, SEC "RSAPrivateCrtKeyImpl", "setQ", crt, rk.q);
    put_mp(rt, SEC "RSAPrivateCrtKeyImpl", "setDP1", crt, rk.dP);
    put_mp(rt, SEC "RSAPrivateCrtKeyImpl", "setDQ1", crt, rk.dQ);
    put_mp(rt, SEC "RSAPrivateCrtKeyImpl", "setPQ", crt, rk.qP);
    put_mp(rt, SEC "RSAPublicKeyImpl", "setModulus", pub, rk.N);
    put_mp(rt, SEC "RSAPublicKeyImpl", "setExponent", pub, rk.e);
    at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &s, 40, 0);
    at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &v, 40, 0);
    if (at_call(rt, SEC "Signature", "init", INIT, NULL, s, crt, 1) ||
        at_call(rt, SEC "Signature", "init", INIT, NULL, v, pub, 2)) {
        fprintf(stderr, "RSA init failed\n");
        return 1;
    }
    series a1 = { .n = runs }, d1 = { .n = runs }, a2 = { .n = runs }, d2 = { .n = runs };
    uint8_t h[32], sig[512];
    unsigned long hl, sl;
    uint16_t sig_h = at_bytes(rt, NULL, 256);
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        at_call(rt, SEC "Signature", "sign", "([BSS[BS)S", &len, s, in, 0, 32, out, 0);
        double t1 = now_ms();
        hl = sizeof h;
        sl = sizeof sig;
        hash_memory(sha, msg, 32, h, &hl);
        rsa_sign_hash_ex(h, 32, sig, &sl, LTC_PKCS_1_V1_5, NULL, 0, sha, 0, &rk);
        double t2 = now_ms();
        a1.t[i] = t1 - t0;
        d1.t[i] = t2 - t1;
        api_store(rt, &rt->objs[sig_h], 0, sig, 256, 0);
        int stat;
        t0 = now_ms();
        at_call(rt, SEC "Signature", "verify", "([BSS[BSS)Z", &ok, v, in, 0, 32, sig_h, 0, 256);
        t1 = now_ms();
        hash_memory(sha, msg, 32, h, &hl);
        rsa_verify_hash_ex(sig, 256, h, 32, LTC_PKCS_1_V1_5, sha, 0, &stat, &rk);
        t2 = now_ms();
        a2.t[i] = t1 - t0;
        d2.t[i] = t2 - t1;
        if (!ok || !stat || memcmp(rt->objs[out].data, sig, 256)) {
            fprintf(stderr, "RSA results differ\n");
            return 1;
        }
    }
    report("RSA-2048 sign (CRT)", &a1, &d1);
    report("RSA-2048 verify", &a2, &d2);

    /* ECDSA P-256 and ECDH: a key pair generated on the card, the same
     * private key in libtomcrypt's structure */
    uint16_t kp = at_new(rt, SEC "KeyPair"), epub, epriv, es, ev, ka;
    at_call(rt, SEC "KeyPair", "<init>", "(BS)V", NULL, kp, 5, 256);
    at_call(rt, SEC "KeyPair", "genKeyPair", "()V", NULL, kp);
    at_call(rt, SEC "KeyPair", "getPublic", "()Ljavacard/security/PublicKey;", &epub, kp);
    at_call(rt, SEC "KeyPair", "getPrivate", "()Ljavacard/security/PrivateKey;", &epriv, kp);
    at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &es, 33, 0);
    at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &ev, 33, 0);
    at_call(rt, SEC "Signature", "init", INIT, NULL, es, epriv, 1);
    at_call(rt, SEC "Signature", "init", INIT, NULL, ev, epub, 2);
    at_call(rt, SEC "KeyAgreement", "getInstance", "(BZ)Ljavacard/security/KeyAgreement;", &ka, 3, 0);
    at_call(rt, SEC "KeyAgreement", "init", "(Ljavacard/security/PrivateKey;)V", NULL, ka, epriv);
    const ltc_ecc_set_type *p256 = NULL;
    for (const ltc_ecc_set_type *c = ltc_ecc_sets; c->size; c++)
        if (!strcmp(c->name, "ECC-256"))
            p256 = c;
    ecc_key ek, peer;
    ecc_make_key_ex(NULL, prng, &ek, p256);
    ecc_make_key_ex(NULL, prng, &peer, p256);
    uint8_t w[65];
    unsigned long wl = sizeof w;
    ecc_ansi_x963_export(&peer, w, &wl);
    uint16_t wb = at_bytes(rt, w, 65), esig = at_bytes(rt, NULL, 80);
    ec_work ew = { rt, runs, sha, prng, msg, in, out, esig, &ek, &peer };
    if (bench_ec(&ew, "P-256", "", es, ev, ka, wb))
        return 1;

    /* brainpoolP256r1 (RFC 5639; A is not -3, so the card's general-A
     * arithmetic, vm/api_ec_point.c) through the API against libtomcrypt's
     * P-256 (same size, its A = -3 arithmetic): what the general path
     * costs */
    static const char *const bp[] = {
        "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
        "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9",
        "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6",
        ("048BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262"
         "547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997"),
        "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7",
    };
    static const char *const setters[] = { "setFieldFP", "setA", "setB", "setG", "setR" };
    uint16_t kb = at_new(rt, SEC "KeyPair"), bpub, bpriv, bs, bv, bka;
    at_call(rt, SEC "KeyPair", "<init>", "(BS)V", NULL, kb, 5, 256);
    at_call(rt, SEC "KeyPair", "getPublic", "()Ljavacard/security/PublicKey;", &bpub, kb);
    at_call(rt, SEC "KeyPair", "getPrivate", "()Ljavacard/security/PrivateKey;", &bpriv, kb);
    for (int c = 0; c < 5; c++) {
        uint8_t b[65];
        uint16_t n = at_hex(bp[c], b), arr = at_bytes(rt, b, n);
        if (at_call(rt, SEC "ECPublicKeyImpl", setters[c], "([BSS)V", NULL, bpub, arr, 0, n) ||
            at_call(rt, SEC "ECPrivateKeyImpl", setters[c], "([BSS)V", NULL, bpriv, arr, 0, n)) {
            fprintf(stderr, "brainpool %s failed\n", setters[c]);
            return 1;
        }
    }
    if (at_call(rt, SEC "KeyPair", "genKeyPair", "()V", NULL, kb)) {
        fprintf(stderr, "brainpool genKeyPair failed\n");
        return 1;
    }
    at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &bs, 33, 0);
    at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &bv, 33, 0);
    at_call(rt, SEC "Signature", "init", INIT, NULL, bs, bpriv, 1);
    at_call(rt, SEC "Signature", "init", INIT, NULL, bv, bpub, 2);
    at_call(rt, SEC "KeyAgreement", "getInstance", "(BZ)Ljavacard/security/KeyAgreement;", &bka, 3, 0);
    at_call(rt, SEC "KeyAgreement", "init", "(Ljavacard/security/PrivateKey;)V", NULL, bka, bpriv);
    uint16_t bw = at_bytes(rt, NULL, 65), bw_len = 0;
    at_call(rt, SEC "ECPublicKeyImpl", "getW", "([BS)S", &bw_len, bpub, bw, 0);
    if (bench_ec(&ew, "bP256r1", " (vs P-256)", bs, bv, bka, bw))
        return 1;
    printf("(%d runs each, alternating; libtomcrypt %s, math %s)\n", runs, SCRYPT, ltc_mp.name);
    ecc_free(&ek);
    ecc_free(&peer);
    rsa_free(&rk);
    vt_card_free(&k);
    return 0;
}
