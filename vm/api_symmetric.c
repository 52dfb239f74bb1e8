/*
 * api_symmetric.c — the block cipher families over libtomcrypt:
 *   Cipher: DES/3DES and AES in ECB and CBC with NOPAD, ISO 9797-1
 *     padding methods 1 and 2 and PKCS#5; AES in CTR mode (SP 800-38A,
 *     the whole 128-bit block a big-endian counter).
 *   Signature: CBC-MACs (ISO 9797-1 MAC algorithm 1) with DES/3DES
 *     (4- or 8-byte MACs) and AES (ALG_AES_MAC_128_NOPAD), the "retail"
 *     MAC (ISO 9797-1 MAC algorithm 3: single DES with K1, the last block
 *     decrypted with K2 and encrypted with K1 again), AES-CMAC (RFC 4493).
 *
 * State array (slot 3, CLEAR_ON_RESET, ST_SIZE bytes, api_crypto.h): the IV init()
 * gave [16], the chaining block [16] (CTR: the counter of the current
 * keystream block), input not yet processed [16], its count (CTR: the
 * keystream bytes of the current block already used). doFinal/sign/verify
 * put it back to what init() made.
 *
 * Every operation first copies the pending bytes and the input into a
 * work buffer and writes the output only once all of it is computed, so
 * any overlap of input and output, in place or not, gives the right
 * result (the spec leaves some overlaps undefined; none is unsafe here).
 */
#include <stdlib.h>
#include <string.h>

#include "api_crypto.h"

enum { ST_IV = 0, ST_CHAIN = 16, ST_PENDING = 32, ST_COUNT = 48, ST_SIZE = 49 };
enum { M_ECB = 1, M_CBC = 2, M_CTR = 3, M_CBC_MAC = 4, M_RETAIL = 5, M_CMAC = 6 };
enum { WORK_ON_STACK = 288 };   /* a short APDU's data (255) + a block, rounded */

typedef struct sym_alg {
    uint8_t alg;
    uint8_t des;        /* 1: DES key (DESKeyImpl), 0: AES key */
    uint8_t mode;       /* M_* */
    uint8_t pad;        /* Cipher.PAD_* */
    uint8_t mac_len;    /* Signature: MAC bytes */
} sym_alg;

static const sym_alg cipher_algs[] = {
    { ALG_DES_CBC_NOPAD, 1, M_CBC, PAD_NOPAD, 0 }, { ALG_DES_CBC_ISO9797_M1, 1, M_CBC, PAD_ISO9797_M1, 0 },
    { ALG_DES_CBC_ISO9797_M2, 1, M_CBC, PAD_ISO9797_M2, 0 }, { ALG_DES_CBC_PKCS5, 1, M_CBC, PAD_PKCS5, 0 },
    { ALG_DES_ECB_NOPAD, 1, M_ECB, PAD_NOPAD, 0 }, { ALG_DES_ECB_ISO9797_M1, 1, M_ECB, PAD_ISO9797_M1, 0 },
    { ALG_DES_ECB_ISO9797_M2, 1, M_ECB, PAD_ISO9797_M2, 0 }, { ALG_DES_ECB_PKCS5, 1, M_ECB, PAD_PKCS5, 0 },
    { ALG_AES_BLOCK_128_CBC_NOPAD, 0, M_CBC, PAD_NOPAD, 0 }, { ALG_AES_BLOCK_128_ECB_NOPAD, 0, M_ECB, PAD_NOPAD, 0 },
    { ALG_AES_CBC_ISO9797_M1, 0, M_CBC, PAD_ISO9797_M1, 0 }, { ALG_AES_CBC_ISO9797_M2, 0, M_CBC, PAD_ISO9797_M2, 0 },
    { ALG_AES_CBC_PKCS5, 0, M_CBC, PAD_PKCS5, 0 }, { ALG_AES_ECB_ISO9797_M1, 0, M_ECB, PAD_ISO9797_M1, 0 },
    { ALG_AES_ECB_ISO9797_M2, 0, M_ECB, PAD_ISO9797_M2, 0 }, { ALG_AES_ECB_PKCS5, 0, M_ECB, PAD_PKCS5, 0 },
    { ALG_AES_CTR, 0, M_CTR, PAD_NOPAD, 0 },
};

static const sym_alg mac_algs[] = {
    { SIG_ALG_DES_MAC4_NOPAD, 1, M_CBC_MAC, PAD_NOPAD, 4 }, { SIG_ALG_DES_MAC8_NOPAD, 1, M_CBC_MAC, PAD_NOPAD, 8 },
    { SIG_ALG_DES_MAC4_ISO9797_M1, 1, M_CBC_MAC, PAD_ISO9797_M1, 4 },
    { SIG_ALG_DES_MAC8_ISO9797_M1, 1, M_CBC_MAC, PAD_ISO9797_M1, 8 },
    { SIG_ALG_DES_MAC4_ISO9797_M2, 1, M_CBC_MAC, PAD_ISO9797_M2, 4 },
    { SIG_ALG_DES_MAC8_ISO9797_M2, 1, M_CBC_MAC, PAD_ISO9797_M2, 8 },
    { SIG_ALG_DES_MAC4_PKCS5, 1, M_CBC_MAC, PAD_PKCS5, 4 }, { SIG_ALG_DES_MAC8_PKCS5, 1, M_CBC_MAC, PAD_PKCS5, 8 },
    { SIG_ALG_DES_MAC4_ISO9797_1_M2_ALG3, 1, M_RETAIL, PAD_ISO9797_M2, 4 },
    { SIG_ALG_DES_MAC8_ISO9797_1_M2_ALG3, 1, M_RETAIL, PAD_ISO9797_M2, 8 },
    { SIG_ALG_DES_MAC4_ISO9797_1_M1_ALG3, 1, M_RETAIL, PAD_ISO9797_M1, 4 },
    { SIG_ALG_DES_MAC8_ISO9797_1_M1_ALG3, 1, M_RETAIL, PAD_ISO9797_M1, 8 },
    { SIG_ALG_AES_MAC_128_NOPAD, 0, M_CBC_MAC, PAD_NOPAD, 16 },
    { SIG_ALG_AES_CMAC_128, 0, M_CMAC, PAD_NULL, 16 },
};

static const sym_alg *find(const sym_alg *t, size_t n, uint8_t alg)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].alg == alg)
            return &t[i];
    return NULL;
}
#define CIPHER_ALG(alg) find(cipher_algs, sizeof cipher_algs / sizeof cipher_algs[0], (alg))
#define MAC_ALG(alg) find(mac_algs, sizeof mac_algs / sizeof mac_algs[0], (alg))

/* ---- the block cipher under a key ---- */

typedef struct blk {
    int idx;                /* libtomcrypt cipher index */
    unsigned bs;            /* block bytes */
    size_t used, used2;     /* bytes of k1, k2 the schedules occupy */
    symmetric_key k1;       /* the key (M_RETAIL: K1) */
    symmetric_key k2;       /* M_RETAIL: K2 */
} blk;

/* Secrets are wiped (api_wipe) only as far as the schedules go: a
 * symmetric_key is a union sized for the largest cipher (4 KB here), and
 * wiping all of it twice per call cost more than AES itself. */
static void blk_wipe(blk *b)
{
    api_wipe(&b->k1, b->used);
    api_wipe(&b->k2, b->used2);
    b->used = b->used2 = 0;
}

/* Schedule key handle h for algorithm s (class checked: DES or AES). */
static int blk_setup(vm_runtime *rt, const sym_alg *s, uint16_t h, blk *b)
{
    const uint8_t *key;
    uint16_t len;
    b->used = b->used2 = 0;
    API_TRY(api_secret_key(rt, h, s->des ? JC_SEC_DESKeyImpl : JC_SEC_AESKeyImpl, &key, &len));
    int rc;
    if (!s->des) {
        b->idx = api_aes_index();
        b->bs = 16;
        b->used = sizeof(struct rijndael_key);
        rc = cipher_descriptor[b->idx].setup(key, (int)len, 0, &b->k1);
    } else if (s->mode == M_RETAIL) {
        /* K1 and K2 of a two-key (or the first two of a three-key) key;
         * a single DES key makes K1 = K2 */
        b->idx = api_des_index();
        b->bs = 8;
        b->used = b->used2 = sizeof(struct des_key);
        rc = cipher_descriptor[b->idx].setup(key, 8, 0, &b->k1);
        if (rc == CRYPT_OK)
            rc = cipher_descriptor[b->idx].setup(len >= 16 ? key + 8 : key, 8, 0, &b->k2);
    } else if (len == 8) {
        b->idx = api_des_index();
        b->bs = 8;
        b->used = sizeof(struct des_key);
        rc = cipher_descriptor[b->idx].setup(key, 8, 0, &b->k1);
    } else {
        uint8_t k3[24];
        memcpy(k3, key, 16);
        memcpy(k3 + 16, len == 24 ? key + 16 : key, 8);   /* 2-key TDEA: K3 = K1 */
        b->idx = api_des3_index();
        b->bs = 8;
        b->used = sizeof(struct des3_key);
        rc = cipher_descriptor[b->idx].setup(k3, 24, 0, &b->k1);
        api_wipe(k3, sizeof k3);
    }
    if (rc != CRYPT_OK) {
        blk_wipe(b);
        return ILLEGAL_VALUE;
    }
    return 0;
}

static void blk_enc(const blk *b, const uint8_t *in, uint8_t *out)
{
    cipher_descriptor[b->idx].ecb_encrypt(in, out, (symmetric_key *)&b->k1);
}

static void blk_dec(const blk *b, const uint8_t *in, uint8_t *out)
{
    cipher_descriptor[b->idx].ecb_decrypt(in, out, (symmetric_key *)&b->k1);
}

/* dst ^= src over n bytes, n a multiple of 8 (a block): by words. */
static void xor_into(uint8_t *dst, const uint8_t *src, unsigned n)
{
    for (unsigned i = 0; i < n; i += 8) {
        uint64_t x, y;
        memcpy(&x, dst + i, 8);
        memcpy(&y, src + i, 8);
        x ^= y;
        memcpy(dst + i, &x, 8);
    }
}

/* ---- padding (ISO/IEC 9797-1 methods 1 and 2, PKCS#5) ---- */

/* Pad buf[len] (room for bs more) to a block multiple: the new length. */
static uint32_t pad_add(uint8_t pad, uint8_t *buf, uint32_t len, unsigned bs)
{
    uint32_t rest = len % bs;
    switch (pad) {
    case PAD_ISO9797_M1:
        /* zeros to the next block; an empty message is one zero block */
        if (rest == 0 && len > 0)
            return len;
        memset(buf + len, 0, bs - rest);
        return len + bs - rest;
    case PAD_ISO9797_M2:
        buf[len] = 0x80;
        memset(buf + len + 1, 0, bs - rest - 1);
        return len + bs - rest;
    case PAD_PKCS5:
        memset(buf + len, (int)(bs - rest), bs - rest);
        return len + bs - rest;
    default:
        return len;
    }
}

/* The unpadded length of the decrypted buf[len], or -1 if the padding is
 * not there. */
static int32_t pad_strip(uint8_t pad, const uint8_t *buf, uint32_t len, unsigned bs)
{
    if (pad == PAD_ISO9797_M2) {
        uint32_t i = len;
        while (i > len - bs && buf[i - 1] == 0)
            i--;
        return i > len - bs && buf[i - 1] == 0x80 ? (int32_t)(i - 1) : -1;
    }
    if (pad == PAD_PKCS5) {
        uint8_t n = buf[len - 1];
        if (n == 0 || n > bs)
            return -1;
        for (unsigned i = 1; i <= n; i++)
            if (buf[len - i] != n)
                return -1;
        return (int32_t)(len - n);
    }
    return (int32_t)len;
}

/* ---- shared object state ---- */

typedef struct sym_ctx {
    vm_obj *self, *state;
    const sym_alg *s;
    uint8_t mode;           /* MODE_ENCRYPT/DECRYPT or MODE_SIGN/VERIFY */
    uint8_t st[ST_SIZE];    /* copy of the state array */
    blk b;
} sym_ctx;

static void ctx_wipe(sym_ctx *c)
{
    api_wipe(c->st, sizeof c->st);
    blk_wipe(&c->b);
}

/* The object, its state and its (still initialized) key. */
static int ctx_load(vm_runtime *rt, uint16_t h, int mac, sym_ctx *c)
{
    c->b.used = c->b.used2 = 0;   /* nothing to wipe until a key is scheduled */
    memset(c->st, 0, sizeof c->st);
    API_TRY(api_this(rt, h, &c->self));
    uint8_t alg = (uint8_t)api_slot(c->self, 0);
    c->s = mac ? MAC_ALG(alg) : CIPHER_ALG(alg);
    if (!c->s)
        return API_SECURITY;
    API_TRY(api_crypto_state(rt, c->self, ST_SIZE, &c->state));
    c->mode = (uint8_t)api_slot(c->self, 1);
    if (c->mode == 0)
        return INVALID_INIT;
    API_TRY(blk_setup(rt, c->s, api_slot(c->self, 2), &c->b));
    memcpy(c->st, c->state->data, ST_SIZE);
    return 0;
}

static int sym_setup(vm_runtime *rt, vm_obj *self, uint8_t alg, int jcre)
{
    (void)alg;
    return api_crypto_state_new(rt, self, ST_SIZE, jcre);
}

/* init(key, mode[, iv, off, len]) of either family. */
static int sym_init(vm_runtime *rt, uint16_t *a, int with_params, int mac)
{
    vm_obj *self;
    API_TRY(api_this(rt, a[0], &self));
    uint8_t alg = (uint8_t)api_slot(self, 0);
    const sym_alg *s = mac ? MAC_ALG(alg) : CIPHER_ALG(alg);
    if (!s)
        return API_SECURITY;
    vm_obj *state;
    API_TRY(api_crypto_state(rt, self, ST_SIZE, &state));
    blk b;
    API_TRY(blk_setup(rt, s, a[1], &b));
    unsigned bs = b.bs;
    blk_wipe(&b);
    uint8_t mode = (uint8_t)a[2];
    if (mac ? (mode != MODE_SIGN && mode != MODE_VERIFY) : (mode != MODE_ENCRYPT && mode != MODE_DECRYPT))
        return ILLEGAL_VALUE;
    uint8_t fresh[ST_SIZE] = { 0 };
    if (with_params) {
        /* an IV (CTR: the initial counter block) of one block; ECB and
         * CMAC take none */
        if (s->mode == M_ECB || s->mode == M_CMAC || (int16_t)a[5] != (int16_t)bs)
            return ILLEGAL_VALUE;
        BYTES(iv, a[3]);
        RANGE(iv, a[4], (uint16_t)bs);
        memcpy(fresh + ST_IV, iv->data + a[4], bs);
        memcpy(fresh + ST_CHAIN, iv->data + a[4], bs);
    }
    API_TRY(api_slot_set(rt, self, 1, mode));
    API_TRY(api_slot_set(rt, self, 2, a[1]));
    return api_store(rt, state, 0, fresh, ST_SIZE, 0);
}

/* ---- Cipher ---- */

static int cipher_claims(uint8_t alg)
{
    return CIPHER_ALG(alg) != NULL;
}

static int cipher_init(vm_runtime *rt, uint16_t *a, int with_params)
{
    return sym_init(rt, a, with_params, 0);
}

/* ECB/CBC over whole blocks of buf[len], in place; chain updated. */
static void run_blocks(const sym_ctx *c, uint8_t *buf, uint32_t len, uint8_t *chain)
{
    unsigned bs = c->b.bs;
    if (len == 0)
        return;
    if (c->s->mode != M_CBC) {
        for (uint32_t o = 0; o < len; o += bs)
            (c->mode == MODE_ENCRYPT ? blk_enc : blk_dec)(&c->b, buf + o, buf + o);
        return;
    }
    /* CBC chains through the buffer itself: encrypting, each block is
     * XORed with the ciphertext block before it; decrypting runs from the
     * last block back, while the ciphertext block before is still there */
    if (c->mode == MODE_ENCRYPT) {
        const uint8_t *prev = chain;
        for (uint32_t o = 0; o < len; o += bs) {
            xor_into(buf + o, prev, bs);
            blk_enc(&c->b, buf + o, buf + o);
            prev = buf + o;
        }
        memcpy(chain, prev, bs);
        return;
    }
    uint8_t next[16];
    memcpy(next, buf + len - bs, bs);
    for (uint32_t o = len - bs;; o -= bs) {
        blk_dec(&c->b, buf + o, buf + o);
        xor_into(buf + o, o ? buf + o - bs : chain, bs);
        if (o == 0)
            break;
    }
    memcpy(chain, next, bs);
}

/* CTR over buf[len] in place, from the counter and keystream position in
 * c->st. */
static void run_ctr(sym_ctx *c, uint8_t *buf, uint32_t len)
{
    uint8_t *ctr = c->st + ST_CHAIN, ks[16];
    unsigned used = c->st[ST_COUNT];
    if (used)
        blk_enc(&c->b, ctr, ks);
    for (uint32_t i = 0; i < len; i++) {
        if (used == 0)
            blk_enc(&c->b, ctr, ks);
        buf[i] ^= ks[used++];
        if (used == 16) {
            used = 0;
            for (int j = 15; j >= 0 && ++ctr[j] == 0; j--)
                ;
        }
    }
    c->st[ST_COUNT] = (uint8_t)used;
    api_wipe(ks, sizeof ks);
}

static int cipher_run(vm_runtime *rt, uint16_t *a, uint16_t *ret, int final)
{
    sym_ctx c;
    API_TRY(ctx_load(rt, a[0], 0, &c));
    int rc = 0;
    /* a short-APDU's worth of data is worked on the stack, more on the heap */
    uint8_t small[WORK_ON_STACK], *work = NULL;
    vm_obj *in, *out;
    if ((rc = api_bytes(rt, a[1], &in)) != 0 || (rc = api_range(in, a[2], a[3])) != 0 ||
        (rc = api_bytes(rt, a[4], &out)) != 0)
        goto done;
    if ((int16_t)a[5] < 0) {
        rc = API_AIOOBE;
        goto done;
    }
    unsigned bs = c.b.bs;
    int ctr = c.s->mode == M_CTR;
    uint32_t pending = ctr || c.st[ST_COUNT] > bs ? 0 : c.st[ST_COUNT], total = pending + a[3];
    work = total + 16 <= sizeof small ? small : malloc(total + 16);
    if (!work) {
        rc = API_SYSTEM(JC_SYS_NO_RESOURCE);
        goto done;
    }
    memcpy(work, c.st + ST_PENDING, pending);
    memcpy(work + pending, in->data + a[2], a[3]);
    uint32_t run, out_len, keep = 0;
    if (ctr) {
        run_ctr(&c, work, total);
        run = out_len = total;
    } else if (!final) {
        run = total - total % bs;
        /* decrypting with padding: the last block may hold the padding,
         * so it waits for doFinal */
        if (c.mode == MODE_DECRYPT && c.s->pad != PAD_NOPAD && run == total && run > 0)
            run -= bs;
        keep = total - run;
        run_blocks(&c, work, run, c.st + ST_CHAIN);
        out_len = run;
    } else if (c.mode == MODE_ENCRYPT) {
        run = c.s->pad == PAD_NOPAD ? total : pad_add(c.s->pad, work, total, bs);
        if (run % bs) {
            rc = ILLEGAL_USE;
            goto done;
        }
        run_blocks(&c, work, run, c.st + ST_CHAIN);
        out_len = run;
    } else {
        if (total % bs || (c.s->pad != PAD_NOPAD && total == 0)) {
            rc = ILLEGAL_USE;
            goto done;
        }
        run_blocks(&c, work, total, c.st + ST_CHAIN);
        int32_t n = pad_strip(c.s->pad, work, total, bs);
        if (n < 0) {
            rc = ILLEGAL_USE;
            goto done;
        }
        out_len = (uint32_t)n;
    }
    if ((rc = api_range(out, a[5], (uint16_t)out_len)) != 0)
        goto done;
    /* the new state: what is kept pending; after doFinal, init()'s */
    if (final) {
        memcpy(c.st + ST_CHAIN, c.st + ST_IV, 16);
        memset(c.st + ST_PENDING, 0, 17);
    } else if (!ctr) {
        memset(c.st + ST_PENDING, 0, 16);
        memcpy(c.st + ST_PENDING, work + run, keep);
        c.st[ST_COUNT] = (uint8_t)keep;
    }
    if ((rc = api_store(rt, out, a[5], work, out_len, 0)) == 0)
        rc = api_store(rt, c.state, 0, c.st, ST_SIZE, 0);
    *ret = (uint16_t)out_len;
done:
    if (work) {
        api_wipe(work, total + 16);
        if (work != small)
            free(work);
    }
    ctx_wipe(&c);
    return rc;
}

static int cipher_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return cipher_run(rt, a, ret, 0);
}

static int cipher_final(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return cipher_run(rt, a, ret, 1);
}

const api_cipher_family api_block_cipher_family = {
    cipher_claims, sym_setup, cipher_init, cipher_update, cipher_final,
};

/* ---- Signature: block MACs ---- */

static int mac_claims(uint8_t alg)
{
    return MAC_ALG(alg) != NULL;
}

static int mac_init(vm_runtime *rt, uint16_t *a, int with_params)
{
    return sym_init(rt, a, with_params, 1);
}

/* CMAC subkey: the block doubled in GF(2^128) (RFC 4493 2.3). */
static void cmac_double(uint8_t *k)
{
    uint8_t carry = k[0] >> 7;
    for (int i = 0; i < 15; i++)
        k[i] = (uint8_t)((k[i] << 1) | (k[i + 1] >> 7));
    k[15] = (uint8_t)((k[15] << 1) ^ (carry ? 0x87 : 0));
}

/* Feed in[len] (after the pending bytes) into the MAC; with `mac`, finish
 * into mac[bs] and leave the state as init() made it. */
static int mac_feed(vm_runtime *rt, sym_ctx *c, uint16_t in_h, uint16_t off, uint16_t len, uint8_t *mac)
{
    vm_obj *in;
    API_TRY(api_bytes(rt, in_h, &in));
    API_TRY(api_range(in, off, len));
    unsigned bs = c->b.bs;
    uint32_t pending = c->st[ST_COUNT] > bs ? 0 : c->st[ST_COUNT], total = pending + len;
    uint8_t small[WORK_ON_STACK], *work = total + 16 <= sizeof small ? small : malloc(total + 16);
    if (!work)
        return API_SYSTEM(JC_SYS_NO_RESOURCE);
    memcpy(work, c->st + ST_PENDING, pending);
    memcpy(work + pending, in->data + off, len);
    uint8_t *chain = c->st + ST_CHAIN;
    int rc = 0;
    uint32_t run;
    if (!mac) {
        run = total - total % bs;
        /* CMAC treats the last block apart: keep one back */
        if (c->s->mode == M_CMAC && run == total && run > 0)
            run -= bs;
    } else if (c->s->mode == M_CMAC) {
        run = total > bs ? total - ((total - 1) % bs + 1) : 0;
    } else {
        run = c->s->pad == PAD_NOPAD ? total : pad_add(c->s->pad, work, total, bs);
        if (run % bs)
            rc = ILLEGAL_USE;
    }
    if (!rc) {
        for (uint32_t o = 0; o < run; o += bs) {
            xor_into(chain, work + o, bs);
            blk_enc(&c->b, chain, chain);
        }
    }
    if (!rc && mac) {
        if (c->s->mode == M_CMAC) {
            uint8_t k[16] = { 0 }, last[16] = { 0 };
            uint32_t rest = total - run;
            blk_enc(&c->b, k, k);
            cmac_double(k);
            memcpy(last, work + run, rest);
            if (rest < 16) {
                last[rest] = 0x80;
                cmac_double(k);
            }
            xor_into(last, k, 16);
            xor_into(chain, last, 16);
            blk_enc(&c->b, chain, chain);
            api_wipe(k, sizeof k);
            api_wipe(last, sizeof last);
        } else if (c->s->mode == M_RETAIL) {
            cipher_descriptor[c->b.idx].ecb_decrypt(chain, chain, &c->b.k2);
            blk_enc(&c->b, chain, chain);
        }
        memcpy(mac, chain, bs);
        memcpy(chain, c->st + ST_IV, 16);
        memset(c->st + ST_PENDING, 0, 17);
    } else if (!rc) {
        memset(c->st + ST_PENDING, 0, 16);
        memcpy(c->st + ST_PENDING, work + run, total - run);
        c->st[ST_COUNT] = (uint8_t)(total - run);
    }
    api_wipe(work, total + 16);
    if (work != small)
        free(work);
    if (!rc)
        rc = api_store(rt, c->state, 0, c->st, ST_SIZE, 0);
    return rc;
}

static int mac_update(vm_runtime *rt, uint16_t *a)
{
    sym_ctx c;
    int rc = ctx_load(rt, a[0], 1, &c);
    if (!rc)
        rc = mac_feed(rt, &c, a[1], a[2], a[3], NULL);
    ctx_wipe(&c);
    return rc;
}

static int mac_sign(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    sym_ctx c;
    uint8_t mac[16];
    vm_obj *out;
    int rc = ctx_load(rt, a[0], 1, &c);
    if (!rc && c.mode != MODE_SIGN)
        rc = INVALID_INIT;
    if (!rc)
        rc = api_bytes(rt, a[4], &out);
    if (!rc)
        rc = api_range(out, a[5], c.s->mac_len);
    if (!rc)
        rc = mac_feed(rt, &c, a[1], a[2], a[3], mac);
    if (!rc)
        rc = api_store(rt, out, a[5], mac, c.s->mac_len, 0);
    if (!rc)
        *ret = c.s->mac_len;
    api_wipe(mac, sizeof mac);
    ctx_wipe(&c);
    return rc;
}

static int mac_verify(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    sym_ctx c;
    uint8_t mac[16];
    vm_obj *sig;
    int rc = ctx_load(rt, a[0], 1, &c);
    if (!rc && c.mode != MODE_VERIFY)
        rc = INVALID_INIT;
    if (!rc)
        rc = api_bytes(rt, a[4], &sig);
    if (!rc)
        rc = api_range(sig, a[5], a[6]);
    if (!rc)
        rc = mac_feed(rt, &c, a[1], a[2], a[3], mac);
    if (!rc)
        *ret = a[6] == c.s->mac_len && api_ct_equal(mac, sig->data + a[5], c.s->mac_len);
    api_wipe(mac, sizeof mac);
    ctx_wipe(&c);
    return rc;
}

static int mac_length(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    const sym_alg *s = MAC_ALG((uint8_t)api_slot(self, 0));
    if (!s)
        return API_SECURITY;
    if (api_slot(self, 1) == 0)
        return INVALID_INIT;
    *ret = s->mac_len;
    return 0;
}

const api_sig_family api_block_mac_family = {
    mac_claims, sym_setup, mac_init, mac_update, mac_sign, mac_verify, mac_length, NULL, NULL, NULL,
};
