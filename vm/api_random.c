/*
 * api_random.c — javacard.security.RandomData and RandomData.OneShot.
 *
 * ALG_SECURE_RANDOM and the other 3.0.5 names (ALG_TRNG,
 * ALG_PRESEEDED_DRBG, ALG_FAST, ALG_KEYGENERATION) draw from libtomcrypt's
 * system RNG; setSeed adds nothing to them. ALG_PSEUDO_RANDOM is a
 * SHA-256 hash generator: deterministic from the seeds given to a fresh
 * object (so an applet can reproduce a sequence), seeded from the secure
 * generator when drawn from before any seed.
 *
 * Object state: [0] algorithm, [1] ref byte[PRNG_SIZE] CLEAR_ON_RESET
 * (PSEUDO only): a state flag (0 empty, 1 keyed), then the key K[32].
 * Each draw outputs SHA-256(0x00 || K || counter) blocks and then replaces
 * K by SHA-256(0x01 || K); setSeed(s) makes K = SHA-256(0x02 || K || s)
 * (just SHA-256(0x02 || s) on an empty state). OneShot: [2] open flag.
 */
#include <string.h>

#include "api_crypto.h"

enum { PRNG_FLAG = 0, PRNG_KEY = 1, PRNG_SIZE = 33, RND_ONESHOT_OPEN_SLOT = 2 };

static int rnd_known(uint8_t alg)
{
    return alg >= RND_ALG_PSEUDO_RANDOM && alg <= RND_ALG_KEYGENERATION;
}

static int rnd_new(vm_runtime *rt, uint8_t token, uint8_t alg, uint16_t *ret)
{
    if (!rnd_known(alg))
        return NO_SUCH_ALGORITHM;
    uint16_t h;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, token, 0, &h));
    API_TRY(api_slot_set(rt, &rt->objs[h], 0, alg));
    if (alg == RND_ALG_PSEUDO_RANDOM) {
        uint16_t st;
        API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_CLEAR_RESET, PRNG_SIZE, 0, &st));
        API_TRY(api_slot_set(rt, &rt->objs[h], 1, st));
    }
    *ret = h;
    return 0;
}

int api_RandomData_getInstance(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return rnd_new(rt, JC_SEC_RandomData, (uint8_t)a[0], ret);
}

/* The PSEUDO state array of `self`, or NULL for the secure algorithms. */
static int pseudo_state(vm_runtime *rt, const vm_obj *self, vm_obj **st)
{
    *st = NULL;
    if (api_slot(self, 0) != RND_ALG_PSEUDO_RANDOM)
        return 0;
    uint16_t s = api_slot(self, 1);
    if (s == 0 || s >= rt->obj_cap || rt->objs[s].kind != VM_OBJ_BYTES || rt->objs[s].length != PRNG_SIZE)
        return API_SECURITY;
    *st = &rt->objs[s];
    return 0;
}

static void sha256_parts(uint8_t tag, const uint8_t *k, const uint8_t *x, unsigned long xlen, uint8_t out[32])
{
    hash_state md;
    sha256_init(&md);
    sha256_process(&md, &tag, 1);
    if (k)
        sha256_process(&md, k, 32);
    if (xlen)
        sha256_process(&md, x, xlen);
    sha256_done(&md, out);
    zeromem(&md, sizeof md);
}

static int random_fill(vm_runtime *rt, uint16_t *a)
{
    THIS(self);
    BYTES(out, a[1]);
    RANGE(out, a[2], a[3]);
    vm_obj *st;
    API_TRY(pseudo_state(rt, self, &st));
    uint8_t state[PRNG_SIZE], buf[256];
    if (st) {
        memcpy(state, st->data, PRNG_SIZE);
        if (!state[PRNG_FLAG]) {
            if (rng_get_bytes(state + PRNG_KEY, 32, NULL) != 32)
                return ILLEGAL_VALUE;
            state[PRNG_FLAG] = 1;
        }
    }
    int rc = 0;
    uint32_t counter = 0;
    for (uint16_t done = 0; done < a[3] && !rc;) {
        uint16_t n = (uint16_t)((size_t)(a[3] - done) > sizeof buf ? sizeof buf : (size_t)(a[3] - done));
        if (st) {
            for (uint16_t i = 0; i < n; i += 32, counter++) {
                uint8_t ctr[4] = { (uint8_t)(counter >> 24), (uint8_t)(counter >> 16), (uint8_t)(counter >> 8),
                                   (uint8_t)counter }, block[32];
                sha256_parts(0x00, state + PRNG_KEY, ctr, 4, block);
                memcpy(buf + i, block, n - i < 32 ? (size_t)(n - i) : 32);
                zeromem(block, sizeof block);
            }
        } else if (rng_get_bytes(buf, n, NULL) != n) {
            rc = ILLEGAL_VALUE;
            break;
        }
        rc = api_store(rt, out, (uint32_t)a[2] + done, buf, n, 0);
        done = (uint16_t)(done + n);
    }
    if (st && !rc) {
        uint8_t next[32];
        sha256_parts(0x01, state + PRNG_KEY, NULL, 0, next);
        memcpy(state + PRNG_KEY, next, 32);
        zeromem(next, sizeof next);
        rc = api_store(rt, st, 0, state, PRNG_SIZE, 0);
    }
    zeromem(state, sizeof state);
    zeromem(buf, sizeof buf);
    return rc;
}

int api_RandomData_generateData(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    return random_fill(rt, a);
}

int api_RandomData_nextBytes(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    API_TRY(random_fill(rt, a));
    *ret = (uint16_t)(a[2] + a[3]);
    return 0;
}

int api_RandomData_setSeed(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    THIS(self);
    BYTES(seed, a[1]);
    RANGE(seed, a[2], a[3]);
    vm_obj *st;
    API_TRY(pseudo_state(rt, self, &st));
    if (!st)
        return 0;
    uint8_t state[PRNG_SIZE];
    hash_state md;
    uint8_t tag = 0x02;
    sha256_init(&md);
    sha256_process(&md, &tag, 1);
    if (st->data[PRNG_FLAG])
        sha256_process(&md, st->data + PRNG_KEY, 32);
    sha256_process(&md, seed->data + a[2], a[3]);
    sha256_done(&md, state + PRNG_KEY);
    state[PRNG_FLAG] = 1;
    int rc = api_store(rt, st, 0, state, PRNG_SIZE, 0);
    zeromem(state, sizeof state);
    zeromem(&md, sizeof md);
    return rc;
}

int api_RandomData_getAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    *ret = api_slot(self, 0);
    return 0;
}

int api_RandomData_OneShot_open(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    if (!rnd_known((uint8_t)a[0]))
        return NO_SUCH_ALGORITHM;
    return api_oneshot_open(rt, JC_PKG_SECURITY, JC_SEC_RandomData_OneShot, (uint8_t)a[0], RND_ONESHOT_OPEN_SLOT,
                            rnd_new, ret);
}

int api_RandomData_OneShot_close(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    THIS(self);
    return api_slot_set(rt, self, RND_ONESHOT_OPEN_SLOT, 0);
}
